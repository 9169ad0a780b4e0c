"""Beat schedule from the database (celery-redbeat entries in Redis) and the crawl guard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from db.crawl_runs import start_crawl_run
from db.marketplaces import upsert_marketplace
from tests.workers.conftest import ROOT, World
from workers.app import make_celery
from workers.schedule import ScheduleError, parse_cron, static_entries, sync_schedule
from workers.tasks import crawl_if_idle


@pytest.fixture
def beat_app(world: World) -> Iterator[Celery]:
    app = make_celery(world.settings)
    app.conf.redbeat_key_prefix = f"test-redbeat-{uuid.uuid4().hex[:8]}:"
    yield app
    client = redis.Redis.from_url(world.redis_db_url)
    keys = list(client.scan_iter(match=app.conf.redbeat_key_prefix + "*"))
    if keys:
        client.delete(*keys)


def test_cron_expressions_are_checked() -> None:
    assert parse_cron("*/30 3 * * 1-5").minute == {0, 30}
    assert parse_cron("0 4 * * *").hour == {4}
    with pytest.raises(ScheduleError):
        parse_cron("every day")
    with pytest.raises(ScheduleError):
        parse_cron("99 * * * *")
    assert set(static_entries()) == {
        "send-alerts",
        "enqueue-pending",
        "sync-schedule",
        "capture-pending-evidence",
    }


def test_sync_writes_an_entry_per_scheduled_marketplace_and_removes_stale_ones(
    world: World, beat_app: Celery
) -> None:
    from redbeat import RedBeatSchedulerEntry

    sessions = world.sessions()
    with sessions() as session, session.begin():
        nightly = upsert_marketplace(session, "nightly", ["https://a.test/"], schedule="0 2 * * *")
        hourly = upsert_marketplace(session, "hourly", ["https://b.test/"], schedule="15 * * * *")
        upsert_marketplace(session, "off", ["https://c.test/"], schedule="0 3 * * *", enabled=False)
        upsert_marketplace(session, "typo", ["https://d.test/"], schedule="0 25 * * *")

    assert sync_schedule(beat_app, world.settings, sessions) == {"scheduled": 2, "removed": 0}
    prefix = beat_app.conf.redbeat_key_prefix
    entry = RedBeatSchedulerEntry.from_key(f"{prefix}crawl-marketplace-{nightly}", app=beat_app)
    assert entry.task == "workers.crawl_marketplace" and entry.args == [nightly]
    assert entry.schedule.hour == {2} and entry.schedule.minute == {0}

    with sessions() as session, session.begin():
        upsert_marketplace(session, "hourly", ["https://b.test/"], schedule="15 * * * *", enabled=False)
    assert sync_schedule(beat_app, world.settings, sessions) == {"scheduled": 1, "removed": 1}
    with pytest.raises(KeyError):
        RedBeatSchedulerEntry.from_key(f"{prefix}crawl-marketplace-{hourly}", app=beat_app)


def test_a_crawl_is_not_started_twice(world: World) -> None:
    sessions = world.sessions()
    client = redis.Redis.from_url(world.redis_db_url)
    held = client.lock(f"copywatch:crawl-lock:{world.marketplace_id}", timeout=30)
    assert held.acquire(blocking=False)
    try:
        assert (
            crawl_if_idle(world.settings, sessions, world.marketplace_id)["skipped"]
            == "a crawl is already running"
        )
    finally:
        held.release()
    with sessions() as session, session.begin():
        start_crawl_run(session, world.marketplace_id)
    assert (
        crawl_if_idle(world.settings, sessions, world.marketplace_id)["skipped"]
        == "a crawl is already running"
    )
    assert crawl_if_idle(world.settings, sessions, 10_000)["skipped"] == "unknown or disabled marketplace"


def test_copywatch_beat_puts_the_schedule_in_redis(world: World, tmp_path: Path) -> None:
    sessions = world.sessions()
    with sessions() as session, session.begin():
        marketplace_id = upsert_marketplace(session, "nightly", ["https://a.test/"], schedule="0 2 * * *")
    prefix = make_celery(world.settings).conf.redbeat_key_prefix
    client = redis.Redis.from_url(world.redis_db_url)
    log = open(tmp_path / "beat.log", "w")  # noqa: SIM115
    beat = subprocess.Popen(
        [sys.executable, "-m", "copywatch", "beat", "--loglevel", "DEBUG"],
        env={**os.environ, **world.env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wanted = {
            f"{prefix}send-alerts",
            f"{prefix}enqueue-pending",
            f"{prefix}crawl-marketplace-{marketplace_id}",
        }
        deadline = time.monotonic() + 60
        while not wanted <= {k.decode() for k in client.scan_iter(match=prefix + "*")}:
            assert beat.poll() is None, (tmp_path / "beat.log").read_text()[-2000:]
            assert time.monotonic() < deadline, (tmp_path / "beat.log").read_text()[-2000:]
            time.sleep(0.2)
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(30)
        log.close()
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
