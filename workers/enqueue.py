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
# Images per task on the CPU queue: one message per image cost the crawler about half a
# millisecond of CPU per image; a few images per message still spread over the worker processes.
CPU_BATCH = 8

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
        gpu: send batches of :data:`GPU_BATCH` to the ``score_gpu`` queue instead of batches of
            :data:`CPU_BATCH` to the CPU queue (``settings.scoring_queue``).

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

            queue, batch = SCORE_GPU_QUEUE, GPU_BATCH
        else:
            queue, batch = settings.scoring_queue, CPU_BATCH
        # One producer for all the chunks; nothing waits for a scoring result, so none is subscribed
        # to (send_task would otherwise listen for each task's result on the result backend).
        with app.producer_or_acquire() as publisher:
            for start in range(0, len(ids), batch):
                chunk = ids[start : start + batch]
                app.send_task(SCORE_IMAGES, args=[chunk], queue=queue, producer=publisher, ignore_result=True)
                sent += len(chunk)
    except Exception as exc:  # noqa: BLE001 - the rows stay queued; the sweep re-sends them
        log.error(
            "could not queue %d of %d images for scoring (%s); the enqueue_pending sweep will send them",
            len(ids) - sent,
            len(ids),
            exc,
        )
    return sent
