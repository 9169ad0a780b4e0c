"""Throw-away PostgreSQL databases for the benchmarks (never a real deployment's database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from db.engine import make_engine


@contextmanager
def scratch_database(server_url: str, prefix: str = "copywatch_bench") -> Iterator[str]:
    """Create an empty database on the server of ``server_url``; yields its URL; drops it on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server_url.rsplit("/", 1)[0] + "/" + name
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
