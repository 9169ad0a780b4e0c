"""Run Alembic migrations programmatically (``copywatch db upgrade`` and the tests use this)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from db.engine import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() or ""


@contextmanager
def _migration_lock(database_url: str) -> Iterator[None]:
    """Hold an exclusive lock beside a SQLite file, so commands started together migrate once.

    Without it, two commands on a fresh data directory both see an empty database and both
    run the migrations: one of them fails half-way (a table or view created twice).
    """
    from db.engine import sqlite_file

    path = sqlite_file(database_url)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def ensure_current(database_url: str) -> None:
    """Upgrade to head when behind: the embedded SQLite database migrates itself on first use.

    Commands started at the same moment take turns, the check included (a check that read the
    file while another command migrated it could fail); the ones after the first find it current.
    """
    with _migration_lock(database_url):
        if current(database_url) != head():
            upgrade(database_url)
