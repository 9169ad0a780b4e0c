"""``copywatch bench evidence``: the cost of capturing one listing's evidence, on one core.

A generated demo marketplace is served on 127.0.0.1; its listings go into a temporary SQLite
database; then this process (and so the browser it starts: CPU affinity is inherited) is pinned
to one core and captures each listing as the evidence worker does — fetch, WARC, hash, store, a
full-page Chromium screenshot, hash, store, rows. Printed: wall and CPU time per listing (CPU of
this process and every process under it), the browser's start, and what scoring pays to queue a
capture (``send_task`` to a private Redis queue, deleted afterwards) — the only cost evidence puts
on the scoring path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from copywatch.settings import Settings

BENCH_REDIS_URL = "redis://127.0.0.1:6379/0"


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("evidence", help="evidence capture time per listing on one core")
    parser.add_argument("--listings", type=int, default=24, help="listings to capture (24..400)")
    parser.add_argument(
        "--redis-url", default=BENCH_REDIS_URL, help="broker for the enqueue cost ('' skips it)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line last")
    parser.set_defaults(handler=run)


def _tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of ``root`` and every live process under it (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        # utime + stime, and cutime + cstime: renderers that already exited count with their parent.
        cpu[int(entry.name)] = sum(int(v) for v in fields[11:15]) / ticks
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def measure_capture(listings: int, redis_url: str = BENCH_REDIS_URL) -> dict[str, object]:
    from copywatch.demo.catalog import write_catalog
    from copywatch.demo.marketplace import DemoMarketplace, build_marketplace
    from db.engine import make_engine, session_factory
    from db.listings import upsert_listing
    from db.marketplaces import upsert_marketplace
    from db.migrate import upgrade
    from takedown.capture import capture_listing
    from takedown.screenshot import Screenshotter

    if not 24 <= listings <= 400:
        raise ValueError(f"--listings must be between 24 and 400, got {listings}")
    with tempfile.TemporaryDirectory(prefix="copywatch-bench-evidence-") as tmp:
        root = Path(tmp)
        settings = Settings.from_env(
            {"DATA_DIR": str(root / "data"), "DATABASE_URL": f"sqlite:///{root / 'bench.db'}"}
        )
        settings.ensure_dirs()
        upgrade(settings.database_url)
        catalog = write_catalog(root / "catalog", count=8)
        shop = build_marketplace(root / "shop", catalog, listings=listings)
        engine = make_engine(settings.database_url)
        sessions = session_factory(engine)
        cpu_core = sorted(os.sched_getaffinity(0))[0]
        previous = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu_core})  # the browser started below inherits it
        try:
            with DemoMarketplace(shop).serving() as base_url:
                with sessions() as session, session.begin():
                    marketplace_id = upsert_marketplace(
                        session, "bench-evidence", [base_url + "/"], settings={"local": True}
                    )
                    ids = [
                        upsert_listing(
                            session, marketplace_id=marketplace_id, url=base_url + x.path, title=x.title
                        )
                        for x in shop.listings
                    ]
                with Screenshotter(settings.chromium_path, user_agent=settings.crawl_user_agent) as browser:
                    start = time.perf_counter()
                    browser.start()  # the one-off start, timed apart
                    browser_start_s = time.perf_counter() - start
                    cpu_before = _tree_cpu_s(os.getpid())
                    walls, statuses = [], []
                    for listing_id in ids:
                        start = time.perf_counter()
                        outcome = capture_listing(settings, sessions, listing_id, screenshotter=browser)
                        walls.append(time.perf_counter() - start)
                        statuses.append(outcome.status)
                    cpu_s = _tree_cpu_s(os.getpid()) - cpu_before
        finally:
            os.sched_setaffinity(0, previous)
            engine.dispose()
    figures: dict[str, object] = {
        "listings": len(walls),
        "captured": statuses.count("captured"),
        "core": cpu_core,
        "browser_start_s": round(browser_start_s, 2),
        "wall_s_per_listing_mean": round(statistics.mean(walls), 3),
        "wall_s_per_listing_p50": round(statistics.median(walls), 3),
        "wall_s_per_listing_p90": round(sorted(walls)[int(0.9 * (len(walls) - 1))], 3),
        "wall_s_per_listing_max": round(max(walls), 3),
        "cpu_s_per_listing": round(cpu_s / len(walls), 3),
    }
    if redis_url:
        figures["enqueue_ms_per_capture"] = _enqueue_cost(redis_url)
    return figures


def _enqueue_cost(redis_url: str, messages: int = 500) -> float:
    """Milliseconds the scoring task spends queueing one capture (by name, to a private queue)."""
    import redis

    from workers.app import make_celery

    queue = f"bench-evidence-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(
        {"DATA_DIR": tempfile.gettempdir(), "REDIS_URL": redis_url, "SCORING_QUEUE": queue}
    )
    app = make_celery(settings)
    try:
        app.send_task("workers.capture_evidence", args=[0, 0], queue=settings.evidence_queue)  # connect
        start = time.perf_counter()
        for i in range(messages):
            app.send_task("workers.capture_evidence", args=[i, i], queue=settings.evidence_queue)
        return round((time.perf_counter() - start) * 1000 / messages, 3)
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        figures = measure_capture(args.listings, args.redis_url)
    except ValueError as exc:
        print(f"copywatch bench evidence: {exc}", file=sys.stderr)
        return 2
    if not args.json:
        print(
            f"{figures['captured']}/{figures['listings']} listings captured on core {figures['core']}: "
            f"{figures['wall_s_per_listing_mean']} s wall per listing (p50 {figures['wall_s_per_listing_p50']}, "
            f"p90 {figures['wall_s_per_listing_p90']}), {figures['cpu_s_per_listing']} s CPU per listing; "
            f"browser start {figures['browser_start_s']} s"
            + (
                f"; queueing a capture costs scoring {figures['enqueue_ms_per_capture']} ms"
                if "enqueue_ms_per_capture" in figures
                else ""
            )
        )
    print(json.dumps(figures))
    return 0
