"""Evidence and re-check tasks, on their own ``evidence`` queue: a browser is heavy, and scoring never
waits for it. Thin: each task calls :mod:`takedown`.

``capture_evidence`` acks late and is retried with backoff when a capture failed for a reason that
may pass (timeout, 5xx, a crashed browser); the rows say why after the last try. The browser is
started once per worker process, lazily, and restarted after a crash.
"""

from __future__ import annotations

import logging
import random
from functools import cached_property
from typing import Any

from celery import Task

from copywatch.settings import Settings
from workers.app import app, settings_of

log = logging.getLogger(__name__)

CAPTURE_EVIDENCE = "workers.capture_evidence"
CAPTURE_PENDING = "workers.capture_pending_evidence"
RECHECK_NOTICES = "workers.recheck_notices"


def _backoff(retries: int) -> float:
    return random.uniform(0.5, 1.0) * min(60, 2 ** (retries + 1))


class EvidenceTask(Task):
    """Base of the evidence tasks: the database and one browser per worker process."""

    abstract = True

    @property
    def settings(self) -> Settings:
        return settings_of(self.app)

    @cached_property
    def sessions(self) -> Any:
        from db.engine import make_engine, session_factory

        return session_factory(make_engine(self.settings.database_url))

    @cached_property
    def screenshotter(self) -> Any:
        from takedown.screenshot import Screenshotter

        return Screenshotter(self.settings.chromium_path, user_agent=self.settings.crawl_user_agent)


@app.task(name=CAPTURE_EVIDENCE, base=EvidenceTask, bind=True, acks_late=True, reject_on_worker_lost=True)
def capture_evidence(self: EvidenceTask, listing_id: int, detection_id: int | None = None) -> dict[str, Any]:
    """Capture one listing's evidence (idempotent per listing and crawl)."""
    from takedown.capture import capture_listing

    outcome = capture_listing(
        self.settings,
        self.sessions,
        int(listing_id),
        detection_id=int(detection_id) if detection_id is not None else None,
        screenshotter=self.screenshotter,
    )
    if outcome.retry:
        log.warning("evidence of listing %s: %s; retrying", listing_id, outcome.error)
        raise self.retry(
            countdown=_backoff(self.request.retries), max_retries=self.settings.evidence_max_attempts
        )
    return {"listing_id": outcome.listing_id, "status": outcome.status, "error": outcome.error}


@app.task(name=CAPTURE_PENDING, base=EvidenceTask, bind=True)
def capture_pending_evidence(self: EvidenceTask, marketplace_id: int | None = None) -> dict[str, int]:
    """Sweep: queue a capture for every listing still missing its evidence (lost messages, new rows)."""
    from db.evidence import pending_captures

    with self.sessions() as session:
        todo = pending_captures(
            session,
            min_score=self.settings.review_threshold,
            max_attempts=self.settings.evidence_max_attempts,
            marketplace_id=marketplace_id,
        )
    for listing_id, detection_id in todo:
        capture_evidence.apply_async(args=[listing_id, detection_id])
    return {"queued": len(todo)}


@app.task(name=RECHECK_NOTICES, base=EvidenceTask, bind=True)
def recheck_notices(self: EvidenceTask, marketplace_id: int) -> dict[str, object]:
    """Re-check the marketplace's noticed listings (run after each of its crawls)."""
    from takedown.recheck import recheck_marketplace

    return recheck_marketplace(self.settings, self.sessions, int(marketplace_id)).as_dict()


__all__ = ["capture_evidence", "capture_pending_evidence", "recheck_notices"]
