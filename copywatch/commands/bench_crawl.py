"""``copywatch bench crawl``: the crawler's CPU cost per page on a generated shop.

A shop of N product pages (JSON-LD, microdata and OpenGraph, behind paginated category pages,
one or two small images each) is served on 127.0.0.1 and crawled by the real crawler into a
temporary SQLite database. Politeness delays are off and concurrency is up, so the figure is the
crawler's own work: fetching, parsing, extracting, storing images, writing rows. New images are
queued to a private Redis list that nobody consumes (deleted afterwards), so no scoring runs.
The CPU time is the crawl child's (``RUSAGE_CHILDREN``); the shop server runs in this process.

The run's files (database, stored images) live on a memory file system (``/dev/shm``) when there
is one, or under ``--tmp-dir``: on a disk, creating the 7,500 image files of a 5,000-page run can
cost from 0.1 to several seconds of kernel CPU, depending on how many files were deleted there in
the last minutes (ext4 without a journal skips every recently deleted inode on each allocation) —
the previous run's clean-up, or anyone else's, would be measured as the crawler's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from copywatch.settings import Settings

BENCH_REDIS_URL = "redis://127.0.0.1:6379/0"
CONCURRENCY = 16
MEMORY_FS = "/dev/shm"


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("crawl", help="crawler CPU time per page on a generated shop")
    parser.add_argument("--pages", type=int, default=5000, help="product pages in the generated shop")
    parser.add_argument("--redis-url", default=BENCH_REDIS_URL, help="broker for the (unconsumed) queue")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line last")
    parser.add_argument(
        "--tmp-dir",
        default=None,
        help=f"where the run's database and images go (default: {MEMORY_FS} if present, else the temp dir)",
    )
    parser.set_defaults(handler=run)


def scratch_parent(tmp_dir: str | None = None) -> str | None:
    """The directory the run's files go under: ``tmp_dir``, else a writable memory file system,
    else None (the system's temporary directory)."""
    if tmp_dir is not None:
        return tmp_dir
    return MEMORY_FS if os.path.isdir(MEMORY_FS) and os.access(MEMORY_FS, os.W_OK | os.X_OK) else None


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_crawl(
    products: int, redis_url: str = BENCH_REDIS_URL, tmp_dir: str | None = None
) -> dict[str, float | int | str]:
    """Crawl a generated shop of ``products`` product pages; returns the figures.

    Args:
        products: product pages in the shop (category pages and the home page come on top).
        redis_url: Redis for the private scoring queue that keeps scoring out of the run.
        tmp_dir: where the run's database and images go (see :func:`scratch_parent`).

    Returns:
        ``pages`` fetched, ``listings`` and ``images`` stored, ``cpu_ms_per_page`` of the crawl
        process, ``wall_s`` and ``pages_per_s``, plus ``status`` and ``expected_listings``.
    """
    import redis

    from crawler.benchshop import BenchShop, serve_bench_shop
    from crawler.run import crawl
    from db.migrate import upgrade

    if products < 1:
        raise ValueError(f"--pages must be at least 1, got {products}")
    shop = BenchShop(products)
    queue = f"bench-crawl-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="copywatch-bench-crawl-", dir=scratch_parent(tmp_dir)) as tmp:
        data_dir = Path(tmp) / "data"
        database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(database_url)
        settings = Settings.from_env(
            {
                "DATA_DIR": str(data_dir),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "SCORING_QUEUE": queue,
                "CRAWL_DELAY_S": "0",
                "CRAWL_CONCURRENCY_PER_DOMAIN": str(CONCURRENCY),
            }
        )
        settings.ensure_dirs()
        overrides = {
            "CONCURRENT_REQUESTS": CONCURRENCY,
            "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": "WARNING",
        }
        try:
            with serve_bench_shop(shop) as base:
                cpu_before = _child_cpu_s()
                started = time.perf_counter()
                summary = crawl(settings, base + "/", overrides=overrides, allow_local=True)
                wall_s = time.perf_counter() - started
                cpu_s = _child_cpu_s() - cpu_before
        finally:
            client = redis.Redis.from_url(redis_url)
            # Celery keeps the list under the queue's name and a binding set beside it.
            client.delete(queue, f"_kombu.binding.{queue}")
            client.close()
    pages = max(summary.pages, 1)
    return {
        "pages": summary.pages,
        "listings": summary.listings,
        "images": summary.images_stored,
        "cpu_ms_per_page": round(1000 * cpu_s / pages, 2),
        "wall_s": round(wall_s, 2),
        "pages_per_s": round(summary.pages / wall_s, 1) if wall_s > 0 else 0.0,
        "status": summary.status,
        "expected_listings": products,
        "tmp_dir": str(Path(tmp).parent),
    }


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        figures = measure_crawl(args.pages, args.redis_url, args.tmp_dir)
    except ValueError as exc:
        print(f"copywatch bench crawl: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"crawled {figures['pages']} pages ({figures['listings']} listings, {figures['images']} images) "
            f"in {figures['wall_s']:.1f} s: {figures['cpu_ms_per_page']:.2f} ms CPU per page, "
            f"{figures['pages_per_s']:.0f} pages/s"
        )
    return 0 if figures["status"] == "finished" else 1
