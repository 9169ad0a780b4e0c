"""Helpers every query module shares: the clock and the dialect's upsert-capable INSERT."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def utcnow() -> datetime:
    return datetime.now(UTC)


def dialect_insert(dialect: str, table: Any) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update``/``do_nothing`` on both backends."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")


def session_insert(session: Session, table: Any) -> Any:
    """:func:`dialect_insert` for the dialect of the session's database."""
    return dialect_insert(session.get_bind().dialect.name, table)


def is_postgresql(session: Session) -> bool:
    """Whether the session talks to PostgreSQL (row locks with ``SKIP LOCKED``), not SQLite."""
    return session.get_bind().dialect.name == "postgresql"
