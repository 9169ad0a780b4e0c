"""Queue listing images for scoring — what the crawler calls after its database commit.

Sends by task *name*, so the caller never imports the detection stack (no torch, no OpenCV).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from celery import Celery

from copywatch.settings import Settings

log = logging.getLogger(__name__)

SCORE_IMAGE = "workers.score_image"
SCORE_IMAGES = "workers.score_images"
GPU_BATCH = 32  # images per task on the GPU queue: enough to keep a GPU busy between round-trips

_producers: dict[tuple[str, str], Celery] = {}
_producers_lock = threading.Lock()


def producer(settings: Settings) -> Celery:
    """A Celery app for sending to ``settings.redis_url`` (one per broker and queue, per process)."""
    from workers.app import make_celery

    key = (settings.redis_url, settings.scoring_queue)
    with _producers_lock:
        if key not in _producers:
            _producers[key] = make_celery(settings)
        return _producers[key]


def enqueue_score_images(settings: Settings, listing_image_ids: Sequence[int], *, gpu: bool = False) -> int:
    """Queue images for scoring; call only after the rows are committed.

    In the embedded mode (no ``REDIS_URL``) the images are scored here and now, in-process.
    If the broker cannot be reached the rows simply stay ``queued``: the periodic
    ``enqueue_pending`` sweep sends them again, so nothing is lost.

    Args:
        settings: the broker and the scoring queue.
        listing_image_ids: rows in state ``queued``.
        gpu: send batches of :data:`GPU_BATCH` to the ``score_gpu`` queue instead of one task per
            image to the CPU queue.

    Returns:
        How many images were sent (or scored, in the embedded mode).
    """
    ids = [int(i) for i in listing_image_ids]
    if not ids:
        return 0
    if settings.eager:
        from workers.scoring import score_image

        for image_id in ids:
            score_image(settings, image_id)
        return len(ids)
    app = producer(settings)
    sent = 0
    try:
        if gpu:
            from workers.app import SCORE_GPU_QUEUE

            for start in range(0, len(ids), GPU_BATCH):
                chunk = ids[start : start + GPU_BATCH]
                app.send_task(SCORE_IMAGES, args=[chunk], queue=SCORE_GPU_QUEUE)
                sent += len(chunk)
        else:
            for image_id in ids:
                app.send_task(SCORE_IMAGE, args=[image_id], queue=settings.scoring_queue)
                sent += 1
    except Exception as exc:  # noqa: BLE001 - the rows stay queued; the sweep re-sends them
        log.error(
            "could not queue %d of %d images for scoring (%s); the enqueue_pending sweep will send them",
            len(ids) - sent,
            len(ids),
            exc,
        )
    return sent
