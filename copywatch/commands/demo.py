"""``copywatch demo``: run the whole mission on a bundled demo marketplace."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from copywatch.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole mission on a bundled demo marketplace",
        description=(
            "Generate a demo brand and marketplace, serve it on 127.0.0.1, crawl it, score every image, "
            "print a summary and a JSON line, and write DATA_DIR/demo-report.html."
        ),
    )
    parser.add_argument(
        "--data-dir", type=Path, help="where to keep the database, images and report (default DATA_DIR)"
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="use DATABASE_URL (PostgreSQL) and REDIS_URL, and wait for separate `copywatch worker` processes",
    )
    parser.add_argument(
        "--keep-serving", action="store_true", help="keep the demo marketplace up after the report"
    )
    parser.add_argument("--json-only", action="store_true", help="print only the final JSON line")
    parser.add_argument(
        "--listings", type=_listings, default=120, help="size of the demo marketplace (default 120)"
    )
    parser.add_argument(
        "--worker-timeout", type=float, default=180.0, metavar="SECONDS",
        help="--distributed: give up when no image is scored for this long (default 180)",
    )  # fmt: skip
    parser.add_argument("--queue", help="--distributed: the Celery queue to send scoring tasks to")
    parser.set_defaults(handler=run)


def _listings(text: str) -> int:
    value = int(text)
    if not 24 <= value <= 2000:
        raise argparse.ArgumentTypeError(f"--listings must be between 24 and 2000, got {value}")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    from copywatch.demo.run import DemoError, DemoOptions, run_demo

    if args.data_dir is not None:
        data_dir = args.data_dir.expanduser().resolve()
        changes: dict[str, object] = {"data_dir": data_dir, "media_root": data_dir / "media"}
        if settings.database_url.startswith("sqlite"):
            changes["database_url"] = f"sqlite:///{data_dir / 'copywatch.db'}"
        settings = settings.with_overrides(**changes)
    options = DemoOptions(
        listings=args.listings,
        distributed=args.distributed,
        keep_serving=args.keep_serving,
        json_only=args.json_only,
        worker_idle_timeout_s=args.worker_timeout,
        queue=args.queue,
    )
    try:
        run_demo(settings, options)
    except DemoError as exc:
        print(f"copywatch demo: {exc}", file=sys.stderr)
        return 1
    return 0
