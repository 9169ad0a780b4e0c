"""``copywatch beat``: start the Celery beat scheduler (scheduled crawls, alerts, the sweep)."""

from __future__ import annotations

import argparse
import sys

from copywatch.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "beat", help="start the Celery beat scheduler (scheduled crawls, alert digests, lost-message sweep)"
    )
    parser.add_argument("--loglevel", default="INFO", help="DEBUG, INFO, WARNING… (default INFO)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.eager:
        print("copywatch beat needs REDIS_URL (the schedule lives in Redis)", file=sys.stderr)
        return 2
    from workers.app import app
    from workers.schedule import sync_schedule
    from workers.scoring import runtime

    # Crawl entries from the database now; the sync_schedule task keeps them current afterwards.
    synced = sync_schedule(app, settings, runtime(settings)[0])
    print(f"beat: {synced['scheduled']} marketplace crawl(s) scheduled", file=sys.stderr)
    app.start(["beat", "-S", "redbeat.RedBeatScheduler", "-l", args.loglevel])
    return 0
