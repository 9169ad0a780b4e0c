"""What the review app holds for its lifetime: settings, the database engine, the search page's matcher."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import current_app, g
from sqlalchemy.orm import Session

from copywatch.settings import Settings
from db.engine import make_engine, session_factory
from db.scoping import BrandScope, scope_for_user


class MatcherUnavailable(RuntimeError):
    """No catalog index to search yet."""


class ReviewState:
    """Per-app state, kept in ``app.extensions["copywatch"]``."""

    def __init__(self, settings: Settings, matcher_loader: Callable[[], Any] | None) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self._matcher_loader = matcher_loader
        self._matcher: Any = None
        self._matcher_version: str | None = None
        self._lock = threading.Lock()

    def matcher(self) -> Any:
        """The search page's matcher, loaded once (the default one reloads when the index changes)."""
        with self._lock:
            if self._matcher_loader is not None:
                if self._matcher is None:
                    self._matcher = self._matcher_loader()
                return self._matcher
            return self._catalog_matcher()

    def _catalog_matcher(self) -> Any:
        try:
            from detection.catalog import Catalog
            from detection.matcher import Matcher
        except ImportError as exc:  # the detection package is not installed in this build
            raise MatcherUnavailable(f"the matcher is not available: {exc}") from exc
        index_dir = self.settings.index_dir
        version = Catalog.stored_version(index_dir)
        if version is None:
            raise MatcherUnavailable(
                "No catalog index yet: register originals with 'copywatch catalog build DIR --brand NAME'."
            )
        if self._matcher is None or version != self._matcher_version:
            self._matcher = Matcher(Catalog.load(index_dir))
            self._matcher_version = version
        return self._matcher


def state() -> ReviewState:
    return current_app.extensions["copywatch"]


def db() -> Session:
    """The request's database session (closed when the request ends)."""
    if "db" not in g:
        g.db = state().sessions()
    return g.db


def scope() -> BrandScope:
    """What the logged-in user may see (``db.scoping``): all brands for an admin, the granted ones
    for a reviewer, nothing without a user. Every review query takes it."""
    if "scope" not in g:
        g.scope = scope_for_user(db(), g.get("user"))
    return g.scope
