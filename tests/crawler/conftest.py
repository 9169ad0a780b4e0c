"""Fixtures of the crawl tests: settings on a fresh PostgreSQL database and the local Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from copywatch.settings import Settings
from tests.conftest import REDIS_SERVER_URL


@pytest.fixture
def crawl_settings(tmp_path: Path, fresh_pg_url: str) -> Iterator[Settings]:
    """PostgreSQL, and a private Redis queue nobody consumes (so queued rows stay queued)."""
    queue = f"test-crawl-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": fresh_pg_url,
            "REDIS_URL": REDIS_SERVER_URL + "/0",
            "SCORING_QUEUE": queue,
            "CRAWL_DELAY_S": "0",
        }
    )
    settings.ensure_dirs()
    yield settings
    client = redis.Redis.from_url(REDIS_SERVER_URL + "/0")
    client.delete(queue)
    client.close()
