"""Queue evidence captures and re-checks by task name (the crawler and scoring never import the
browser stack). Best effort: a lost message is found again by the ``capture_pending_evidence``
sweep, because what is missing is read from the database, not from the queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from copywatch.settings import Settings

log = logging.getLogger(__name__)


def enqueue_captures(settings: Settings, detection_ids: Sequence[int]) -> int:
    """Queue the capture of each listing of ``detection_ids`` (call after they are committed).

    In the embedded mode nothing is captured here (a browser would hold up scoring); the captures
    run at the end of the crawl instead (:func:`after_crawl`).
    """
    if settings.eager or not detection_ids:
        return 0
    from db.engine import session_factory
    from db.evidence import listings_of_detections
    from workers.enqueue import producer

    try:
        with session_factory(_engine(settings))() as session:
            targets = listings_of_detections(session, detection_ids)
        app = producer(settings)
        # One connection and one queue declaration for all of them, not one per message.
        with app.producer_or_acquire() as publisher:
            for listing_id, detection_id in targets:
                app.send_task(
                    "workers.capture_evidence",
                    args=[listing_id, detection_id],
                    queue=settings.evidence_queue,
                    producer=publisher,
                )
        return len(targets)
    except Exception as exc:  # noqa: BLE001 - the sweep finds what was not queued
        log.error("could not queue evidence captures (%s); the sweep will", exc)
        return 0


_engines: dict[str, Engine] = {}


def _engine(settings: Settings) -> Engine:
    """One engine per database URL per process."""
    from db.engine import make_engine

    if settings.database_url not in _engines:
        _engines[settings.database_url] = make_engine(settings.database_url)
    return _engines[settings.database_url]


def after_crawl(settings: Settings, marketplace_id: int) -> dict[str, object]:
    """What follows every crawl of a marketplace: capture missing evidence and re-check noticed
    listings. Queued to the evidence queue; run here and now in the embedded mode."""
    if not settings.eager:
        from workers.enqueue import producer

        try:
            app = producer(settings)
            app.send_task(
                "workers.capture_pending_evidence", args=[marketplace_id], queue=settings.evidence_queue
            )
            app.send_task("workers.recheck_notices", args=[marketplace_id], queue=settings.evidence_queue)
            return {"queued": True}
        except Exception as exc:  # noqa: BLE001 - the next crawl queues them again
            log.error("could not queue the after-crawl evidence tasks: %s", exc)
            return {"queued": False, "error": str(exc)}
    from db.engine import session_factory
    from takedown.capture import capture_pending
    from takedown.recheck import recheck_marketplace
    from takedown.screenshot import Screenshotter

    sessions = session_factory(_engine(settings))
    with Screenshotter(settings.chromium_path, user_agent=settings.crawl_user_agent) as browser:
        outcomes = capture_pending(settings, sessions, browser, marketplace_id=marketplace_id)
    summary = recheck_marketplace(settings, sessions, marketplace_id)
    return {"captured": sum(o.status == "captured" for o in outcomes), "recheck": summary.as_dict()}
