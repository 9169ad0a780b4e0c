"""Celery tasks — thin: each loads what it needs by id and calls a service function.

Scoring tasks ack late and are rejected (redelivered) when their worker dies; that is safe
because scoring is idempotent (see :mod:`workers.scoring`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from celery import Task

from copywatch.settings import Settings
from db.crawl_runs import crawl_in_progress
from db.marketplaces import get_marketplace
from db.scoring_queue import LOST_MESSAGE_AFTER_S, SCORING_LEASE_S, requeue_stale
from workers.app import app, settings_of
from workers.mail import RETRYABLE_SEND_ERRORS
from workers.mail import send_alerts as send_digests
from workers.scoring import MatcherCache, Sessions, runtime, score_batch
from workers.transient import is_transient

log = logging.getLogger(__name__)

CRAWL_LOCK_S = 6 * 3600  # a crawl still "running" after this long is taken to have died
RETRY_BACKOFF_MAX_S = 60
WORKER_THREADS = 1


def _backoff(retries: int) -> float:
    """Exponential backoff with full jitter: 1, 2, 4 … 60 s."""
    return random.uniform(0.5, 1.0) * min(RETRY_BACKOFF_MAX_S, 2**retries)


class ScoringTask(Task):
    """Base of the scoring tasks: the database and the matcher, loaded once per worker process
    (lazily, on the first task — a ``worker_process_init`` handler must finish in 4 s) and
    reloaded between tasks when a new catalog index version is saved."""

    abstract = True

    @property
    def settings(self) -> Settings:
        return settings_of(self.app)

    @cached_property
    def _runtime(self) -> tuple[Sessions, MatcherCache]:
        # One image at a time per pool process, one pool process per core: one native thread.
        return runtime(self.settings, threads=WORKER_THREADS)

    @property
    def sessions(self) -> Sessions:
        return self._runtime[0]

    @property
    def matchers(self) -> MatcherCache:
        return self._runtime[1]

    def score(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Score ``ids``; transient errors (database, broker, index not built yet) are retried
        with exponential backoff, at most ``score_max_attempts`` times per message."""
        try:
            matcher = self.matchers.get()
            outcomes = score_batch(
                self.sessions, matcher, self.settings, ids, reclaim=self.request.retries > 0
            )
        except Exception as exc:
            if is_transient(exc) or isinstance(exc, FileNotFoundError):
                log.warning("scoring %s: %s; retrying", list(ids), exc)
                raise self.retry(
                    exc=exc,
                    countdown=_backoff(self.request.retries),
                    max_retries=self.settings.score_max_attempts,
                ) from exc
            raise
        # Evidence is captured by its own task on its own queue: a browser never holds up scoring.
        from workers.evidence_enqueue import enqueue_captures

        enqueue_captures(self.settings, [d for o in outcomes for d in o.detections])
        return [
            {"id": o.listing_image_id, "status": o.status, "detections": o.detections, "error": o.error}
            for o in outcomes
        ]


@app.task(name="workers.score_image", base=ScoringTask, bind=True, acks_late=True, reject_on_worker_lost=True)
def score_image(self: ScoringTask, listing_image_id: int) -> list[dict[str, Any]]:
    """Score one listing image (idempotent)."""
    return self.score([int(listing_image_id)])


@app.task(
    name="workers.score_images", base=ScoringTask, bind=True, acks_late=True, reject_on_worker_lost=True
)
def score_images(self: ScoringTask, listing_image_ids: list[int]) -> list[dict[str, Any]]:
    """Score many listing images in one call (the batches of both queues; idempotent)."""
    return self.score([int(i) for i in listing_image_ids])


def _sessions() -> Sessions:
    return runtime(settings_of(app), threads=WORKER_THREADS)[0]


def _crawl_in_progress(sessions: Sessions, marketplace_id: int) -> bool:
    """A crawl run of this marketplace is recorded as running (and recent enough to be alive)."""
    with sessions() as session:
        return crawl_in_progress(session, marketplace_id, max_age_s=CRAWL_LOCK_S)


@app.task(name="workers.crawl_marketplace", bind=True)
def crawl_marketplace(self: Task, marketplace_id: int) -> dict[str, Any]:
    """Crawl one marketplace unless a crawl of it is already running."""
    return crawl_if_idle(settings_of(self.app), _sessions(), int(marketplace_id))


def crawl_if_idle(settings: Settings, sessions: Sessions, marketplace_id: int) -> dict[str, Any]:
    """Run ``crawler.run.crawl`` for the marketplace unless it is unknown, disabled or busy.

    Two guards: a Redis lock (two beat ticks, or beat and a manual task, racing) and the
    ``crawl_runs`` table (a crawl started by hand with ``copywatch crawl``).

    Returns:
        ``{"marketplace_id": id, "skipped": why}`` or ``{"marketplace_id": id, "result": ...}``.
    """
    with sessions() as session:
        marketplace = get_marketplace(session, marketplace_id)
        if marketplace is None or not marketplace.enabled:
            return {"marketplace_id": marketplace_id, "skipped": "unknown or disabled marketplace"}
        name = marketplace.name
    lock = None
    if not settings.eager:
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        lock = client.lock(f"copywatch:crawl-lock:{marketplace_id}", timeout=CRAWL_LOCK_S, blocking=False)
        if not lock.acquire(blocking=False):
            return {"marketplace_id": marketplace_id, "skipped": "a crawl is already running"}
    try:
        if _crawl_in_progress(sessions, marketplace_id):
            return {"marketplace_id": marketplace_id, "skipped": "a crawl is already running"}
        from crawler.run import crawl  # lazy: workers that only score never load Scrapy

        result = crawl(settings, name)
        return {"marketplace_id": marketplace_id, "result": repr(result)}
    finally:
        if lock is not None:
            try:
                lock.release()
            except Exception as exc:  # noqa: BLE001 - an expired lock is harmless here
                log.warning("crawl lock of marketplace %s: %s", marketplace_id, exc)


@app.task(
    name="workers.send_alerts",
    bind=True,
    autoretry_for=RETRYABLE_SEND_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def send_alerts(self: Task) -> dict[str, int]:
    """Mail one digest per brand of new detections at or above the alert threshold; retried only
    when the SMTP server could not be reached or dropped the connection, never on a refusal."""
    return send_digests(settings_of(self.app), _sessions())


@app.task(name="workers.enqueue_pending", bind=True)
def enqueue_pending(
    self: Task, lease_s: float = SCORING_LEASE_S, lost_after_s: float = LOST_MESSAGE_AFTER_S
) -> dict[str, int]:
    """Periodic sweep: re-send images whose message was lost (worker killed, broker restarted
    without persistence, enqueue failed). Queued rows are only re-sent while the scoring queue
    is empty — a long backlog is not a loss, and re-sending it would only duplicate messages."""
    from workers.enqueue import enqueue_score_images

    settings = settings_of(self.app)
    check_lost = settings.eager or _queue_length(settings, settings.scoring_queue) == 0
    with _sessions()() as session, session.begin():
        ids = requeue_stale(
            session,
            max_attempts=settings.score_max_attempts,
            lease_s=lease_s,
            lost_after_s=lost_after_s if check_lost else None,
        )
    sent = enqueue_score_images(settings, ids)
    return {"requeued": len(ids), "sent": sent}


def _queue_length(settings: Settings, queue: str) -> int:
    """Messages waiting in a Redis-backed Celery queue (all priorities)."""
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    # kombu keeps priority levels 1-9 in sibling lists named "<queue>\x06\x16<n>".
    keys = [queue, *(f"{queue}\x06\x16{n}" for n in range(1, 10))]
    return int(sum(client.llen(k) for k in keys))


@app.task(name="workers.sync_schedule", bind=True)
def sync_schedule(self: Task) -> dict[str, int]:
    """Bring the beat schedule in Redis in line with the marketplaces in the database."""
    from workers.schedule import sync_schedule as sync

    return sync(self.app, settings_of(self.app), _sessions())


__all__ = [
    "ScoringTask",
    "crawl_marketplace",
    "enqueue_pending",
    "score_image",
    "score_images",
    "send_alerts",
    "sync_schedule",
]
