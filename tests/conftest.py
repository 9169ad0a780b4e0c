"""Shared fixtures: real PostgreSQL databases (fresh per run, dropped after), SQLite files, settings.

PostgreSQL comes from ``TEST_PG_URL`` (default: the local server with trust auth); Redis from
``TEST_REDIS_URL``. Tests that need a server that is not running fail loudly rather than skip,
because CI starts both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

# The suite runs a process per core: native pools sized to every core in every process only spin
# against each other (an exact FAISS search in one test outlasted its 300 s on a loaded machine).
# Set before FAISS, OpenCV or torch first load in this process or the workers it starts.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session

from copywatch.settings import Settings  # noqa: E402
from db.engine import make_engine, session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402

PG_SERVER_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
# A test-only key that passes the review app's checks (>= 32 characters, not a placeholder).
TEST_SECRET_KEY = "test-only-secret-key-0123456789abcdefABCDEF"


def _server_url(database: str) -> str:
    return PG_SERVER_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def make_pg_database() -> Iterator[Callable[[], str]]:
    """Factory: creates a new empty PostgreSQL database and returns its URL; all are dropped at the end."""
    admin = make_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create() -> str:
        name = f"copywatch_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return _server_url(name)

    yield create
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url(make_pg_database: Callable[[], str]) -> str:
    """A PostgreSQL database migrated to head, shared by the test session."""
    url = make_pg_database()
    upgrade(url)
    return url


@pytest.fixture
def fresh_pg_url(make_pg_database: Callable[[], str]) -> str:
    """A PostgreSQL database migrated to head for this test alone."""
    url = make_pg_database()
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file migrated to head for this test alone."""
    url = f"sqlite:///{tmp_path / 'copywatch.db'}"
    upgrade(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    """Embedded-default settings (SQLite, eager Celery) under a temporary data directory."""
    data_dir = tmp_path / "data"
    s = Settings.from_env(
        {"DATA_DIR": str(data_dir), "DATABASE_URL": sqlite_url, "SECRET_KEY": TEST_SECRET_KEY}
    )
    s.ensure_dirs()
    return s


@pytest.fixture
def pg_settings(tmp_path: Path, fresh_pg_url: str) -> Settings:
    """Settings on a fresh PostgreSQL database and the local Redis."""
    data_dir = tmp_path / "data"
    s = Settings.from_env(
        {
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": fresh_pg_url,
            "REDIS_URL": REDIS_SERVER_URL + "/0",
            "SECRET_KEY": TEST_SECRET_KEY,
        }
    )
    s.ensure_dirs()
    return s


@pytest.fixture
def pg_session(fresh_pg_url: str) -> Iterator[Session]:
    engine = make_engine(fresh_pg_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def sqlite_session(sqlite_url: str) -> Iterator[Session]:
    engine = make_engine(sqlite_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()
