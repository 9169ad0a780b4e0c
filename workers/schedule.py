"""The beat schedule: crawls from each marketplace's cron ``schedule`` in the database, plus the
periodic alert digest and the lost-message sweep.

Celery beat runs celery-redbeat's scheduler, which keeps the entries in Redis (so a restarted or
second beat never fires twice and entries change without a restart). :func:`sync_schedule`
writes one entry per enabled, scheduled marketplace and removes the others; it runs when
``copywatch beat`` starts and then every minute as a task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab
from sqlalchemy.orm import Session

from copywatch.settings import Settings
from db.marketplaces import scheduled_marketplaces

log = logging.getLogger(__name__)

ALERT_EVERY = timedelta(minutes=5)
SWEEP_EVERY = timedelta(minutes=1)
SYNC_EVERY = timedelta(minutes=1)
CRAWL_ENTRY_PREFIX = "crawl-marketplace-"


class ScheduleError(ValueError):
    """A marketplace's ``schedule`` is not a five-field cron expression."""


def parse_cron(expression: str) -> crontab:
    """``"m h dom mon dow"`` → :class:`celery.schedules.crontab` (UTC).

    Raises:
        ScheduleError: not five fields, or a field Celery cannot parse.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(f"cron schedule must have 5 fields (m h dom mon dow), got {expression!r}")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        schedule = crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except ValueError as exc:
        raise ScheduleError(f"bad cron schedule {expression!r}: {exc}") from exc
    return schedule


def static_entries() -> dict[str, dict[str, Any]]:
    """The fixed periodic tasks (``beat_schedule``; redbeat copies them into Redis at start)."""
    return {
        "send-alerts": {"task": "workers.send_alerts", "schedule": ALERT_EVERY},
        "enqueue-pending": {"task": "workers.enqueue_pending", "schedule": SWEEP_EVERY},
        "sync-schedule": {"task": "workers.sync_schedule", "schedule": SYNC_EVERY},
    }


def marketplace_entries(session: Session) -> dict[str, tuple[int, crontab]]:
    """Entry name → (marketplace id, cron) for each enabled marketplace with a valid schedule.
    A bad expression is logged and skipped, so one typo does not stop every other crawl."""
    entries: dict[str, tuple[int, crontab]] = {}
    for marketplace_id, name, expression in scheduled_marketplaces(session):
        try:
            entries[f"{CRAWL_ENTRY_PREFIX}{marketplace_id}"] = (int(marketplace_id), parse_cron(expression))
        except ScheduleError as exc:
            log.error("marketplace %s: %s; not scheduled", name, exc)
    return entries


def sync_schedule(app: Celery, settings: Settings, sessions: Callable[[], Session]) -> dict[str, int]:
    """Make the crawl entries in Redis match the database.

    Returns:
        ``{"scheduled": n, "removed": m}``.
    """
    import redis
    from redbeat import RedBeatSchedulerEntry

    with sessions() as session:
        wanted = marketplace_entries(session)
    prefix = app.conf.redbeat_key_prefix
    client = redis.Redis.from_url(settings.redis_url)
    existing = {
        key.decode()[len(prefix) :] for key in client.scan_iter(match=f"{prefix}{CRAWL_ENTRY_PREFIX}*")
    }
    removed = 0
    for name in existing - set(wanted):
        try:
            RedBeatSchedulerEntry.from_key(prefix + name, app=app).delete()
            removed += 1
        except KeyError:
            pass
    for name, (marketplace_id, schedule) in wanted.items():
        if name in existing:
            current = RedBeatSchedulerEntry.from_key(prefix + name, app=app)
            if str(current.schedule) == str(schedule):
                continue  # unchanged: keep its last-run time
        RedBeatSchedulerEntry(
            name, "workers.crawl_marketplace", schedule, args=[marketplace_id], app=app
        ).save()
    return {"scheduled": len(wanted), "removed": removed}
