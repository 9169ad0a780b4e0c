"""The one Celery app, configured from :class:`copywatch.settings.Settings`.

``celery -A workers.app worker`` and ``copywatch worker`` use the module-level :data:`app`, built
from the environment. With no ``REDIS_URL`` (the embedded default) tasks run in-process (eager).
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from copywatch.settings import Settings

CRAWL_QUEUE = "crawl"
SCORE_GPU_QUEUE = "score_gpu"
ALERTS_QUEUE = "alerts"

# Redis redelivers a message that was delivered but never acknowledged (its worker died) after
# this long. Scoring an image takes well under a second, a crawl can take an hour: the lease must
# outlive the longest task, or a live task would be delivered a second time. Lost scoring messages
# are recovered sooner by the enqueue_pending sweep (the row's own lease, see workers.scoring).
VISIBILITY_TIMEOUT_S = 2 * 3600


def make_celery(settings: Settings) -> Celery:
    """Build the Celery app for ``settings``.

    Args:
        settings: broker and result backend come from ``settings.redis_url``; empty means eager.

    Returns:
        The configured app; ``app.copywatch_settings`` holds ``settings`` for the tasks.
    """
    app = Celery("copywatch", include=["workers.tasks"])
    scoring_queue = settings.scoring_queue
    app.conf.update(
        broker_url=settings.redis_url or "memory://",
        result_backend=settings.redis_url or None,
        task_always_eager=settings.eager,
        task_eager_propagates=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # Nothing reads scoring results back (the database is the result): keep Redis lean.
        task_ignore_result=True,
        result_expires=3600,
        task_queues=[
            Queue(scoring_queue),
            Queue(SCORE_GPU_QUEUE),
            Queue(CRAWL_QUEUE),
            Queue(ALERTS_QUEUE),
        ],
        task_default_queue=scoring_queue,
        task_routes={
            "workers.score_image": {"queue": scoring_queue},
            "workers.score_images": {"queue": scoring_queue},
            "workers.crawl_marketplace": {"queue": CRAWL_QUEUE},
            "workers.send_alerts": {"queue": ALERTS_QUEUE},
            "workers.enqueue_pending": {"queue": ALERTS_QUEUE},
            "workers.sync_schedule": {"queue": ALERTS_QUEUE},
        },
        # One message at a time per process: a long task never holds others hostage, and a
        # killed worker loses (and gets redelivered) at most one message per process.
        worker_prefetch_multiplier=1,
        task_acks_late=False,  # per task: only the idempotent ones ack late
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        timezone="UTC",
        enable_utc=True,
        # celery-redbeat: the beat schedule lives in Redis, entries synced from the database.
        redbeat_redis_url=settings.redis_url or None,
        # A deployment with its own scoring queue (sharing one Redis) gets its own schedule too.
        redbeat_key_prefix="copywatch:redbeat:"
        if scoring_queue == "score"
        else f"copywatch:{scoring_queue}:redbeat:",
        redbeat_redis_options={"health_check_interval": 30},
        beat_scheduler="redbeat.RedBeatScheduler",
        beat_max_loop_interval=5,
    )
    from workers.schedule import static_entries

    app.conf.beat_schedule = static_entries()
    app.copywatch_settings = settings
    return app


def settings_of(celery_app: Celery) -> Settings:
    """The settings an app was built from."""
    settings: Settings = celery_app.copywatch_settings
    return settings


app = make_celery(Settings.from_env())
