"""``copywatch worker``: start a Celery worker (scoring, crawls, alerts)."""

from __future__ import annotations

import argparse
import os
import sys

from copywatch.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="start a Celery worker (scoring, crawls, alert mail)")
    parser.add_argument(
        "--queues",
        "--queue",
        dest="queues",
        help="comma-separated queues to consume (default: the scoring queue, crawl, alerts, "
        "and score_gpu when this machine has a GPU)",
    )
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes (default: CPU cores)")
    parser.add_argument("--hostname", default=None, help="node name, e.g. score1@%%h (default: Celery's)")
    parser.add_argument("--loglevel", default="INFO", help="DEBUG, INFO, WARNING… (default INFO)")
    parser.set_defaults(handler=run)


def default_queues(settings: Settings) -> list[str]:
    from detection.runtime import default_device
    from workers.app import ALERTS_QUEUE, CRAWL_QUEUE, SCORE_GPU_QUEUE

    queues = [settings.scoring_queue, CRAWL_QUEUE, ALERTS_QUEUE]
    if default_device() == "cuda":
        queues.insert(0, SCORE_GPU_QUEUE)  # batches for the GPU first, CPU work when idle
    return queues


def run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.eager:
        print(
            "copywatch worker needs REDIS_URL (a broker); without it tasks run in-process already",
            file=sys.stderr,
        )
        return 2
    from workers.app import app

    queues = args.queues or ",".join(default_queues(settings))
    argv = ["worker", "-Q", queues, "-l", args.loglevel, "-P", "prefork"]
    argv += ["-c", str(args.concurrency or os.cpu_count() or 1)]
    if args.hostname:
        argv += ["-n", args.hostname]
    app.worker_main(argv)
    return 0
