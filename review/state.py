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
from detection.catalog import Catalog
from detection.matcher import Matcher
from detection.runtime import MatcherCache


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
        # The search page takes every look of the matcher (one upload at a time, a person waiting
        # for the best ranking), on the CPU; it re-reads the index version on every search.
        self._matchers = MatcherCache(
            settings.index_dir, device="cpu", effort="thorough", check_interval_s=0.0
        )
        self._lock = threading.Lock()

    def matcher(self) -> Any:
        """The search page's matcher, loaded once (the default one reloads when the index changes)."""
        with self._lock:
            if self._matcher_loader is not None:
                if self._matcher is None:
                    self._matcher = self._matcher_loader()
                return self._matcher
            return self._catalog_matcher()

    def _catalog_matcher(self) -> Matcher:
        if Catalog.stored_version(self.settings.index_dir) is None:
            raise MatcherUnavailable(
                "No catalog index yet: register originals with 'copywatch catalog build DIR --brand NAME'."
            )
        return self._matchers.get()


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
