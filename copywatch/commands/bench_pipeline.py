"""``copywatch bench pipeline``: end-to-end scoring throughput and latency on real Redis and PostgreSQL.

What is timed: listing images already stored on disk and queued in the database (the download is
excluded) are sent to the scoring queue; ``--workers`` real ``celery worker`` processes (one pool
process each) claim them, run the matcher against a ``--catalog-size`` catalog of drawn originals
and write detection rows. Images are sent as the crawler sends them: what arrived in the last
0.1 s in one ``enqueue_score_images`` call, so messages of up to ``CPU_BATCH`` images
(``--one-per-message``: a message per image, as this bench did before 2026-12-04). Latency per
image = ``scored_at`` − the moment it arrived (was due to be sent).

* Without ``--rate`` every image arrives at once: ``images_per_s`` is the peak throughput.
* With ``--rate R`` images arrive at R per second: run it at half the peak to read the p95
  latency at half load.

The bench works in a temporary PostgreSQL database (created on the server of ``DATABASE_URL``
or ``--pg-url``, dropped afterwards) and a private queue; the catalog index is cached under
``DATA_DIR/bench-pipeline/`` because drawing and indexing 10,000 originals takes minutes.
The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from copywatch.settings import Settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parents[2]
DRAW_SIDE = 320
# The crawler's item pipeline commits and queues what arrived every 0.1 s (FLUSH_INTERVAL_S).
FLUSH_S = 0.1


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("pipeline", help="end-to-end scoring throughput and latency")
    parser.add_argument("--images", type=int, default=200, help="listing images to score (default 200)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--catalog-size", type=int, default=1000, help="originals in the catalog (default 1000)"
    )
    parser.add_argument("--rate", type=float, default=None, help="send R images/s (default: all at once)")
    parser.add_argument(
        "--one-per-message",
        action="store_true",
        help="send each image in a message of its own (default: as the crawler, what arrived every 0.1 s)",
    )
    parser.add_argument("--copies", type=float, default=0.5, help="share of images copied from originals")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server for the temporary database")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    parser.set_defaults(handler=run)


def draw(seed: int) -> Any:
    """A drawn original (or, with a seed no original uses, an innocent listing photo)."""
    from detection.drawn import textured_photo

    return textured_photo(seed, DRAW_SIDE)


def _copy_of(image: Any, rng: random.Random) -> Any:
    import cv2

    h, w = image.shape[:2]
    top, left = rng.randint(0, h // 8), rng.randint(0, w // 8)
    crop = image[top : h - rng.randint(0, h // 8), left : w - rng.randint(0, w // 8)]
    scale = rng.uniform(0.8, 1.5)
    return cv2.resize(crop, (int(crop.shape[1] * scale), int(crop.shape[0] * scale)))


def _say(args: argparse.Namespace, text_: str) -> None:
    if not args.json:
        print(text_, file=sys.stderr, flush=True)


def cached_index(settings: Settings, size: int, args: argparse.Namespace) -> Path:
    """The index of ``size`` drawn originals with ids "1".."size" (a fresh database's numbering)."""
    from detection.catalog import Catalog
    from detection.matching import build_catalog

    directory = settings.data_dir / "bench-pipeline" / f"index-{size}"
    if Catalog.stored_version(directory) is None:
        _say(args, f"» drawing and indexing {size} originals (cached for later runs)")
        started = time.perf_counter()
        catalog = build_catalog(((str(i), draw(i)) for i in range(1, size + 1)), progress=not args.json)
        catalog.save(directory)
        _say(args, f"  indexed in {time.perf_counter() - started:.0f} s")
    return directory


def _prepare_database(url: str, size: int, media_root: Path, images: int, copies: float) -> list[int]:
    """Brand, ``size`` originals (ids 1..size), one marketplace, ``images`` queued listing images."""
    import cv2

    from db.bench_data import seed_pipeline
    from db.engine import make_engine, session_factory

    rng = random.Random(7)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            paths = []
            for n in range(images):
                if rng.random() < copies:
                    picture = _copy_of(draw(rng.randint(1, size)), rng)
                else:
                    picture = draw(10_000_000 + n)
                name = f"listings/{n}.jpg"
                (media_root / name).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(media_root / name), picture, [cv2.IMWRITE_JPEG_QUALITY, 88])
                paths.append(name)
            return seed_pipeline(session, size, paths)
    finally:
        engine.dispose()


def _start_workers(env: dict[str, str], queue: str, names: list[str], logs: Path) -> list[subprocess.Popen]:
    """A worker process of each node name in ``names`` (:func:`_worker_names`) on ``queue``."""
    procs = []
    for i, name in enumerate(names):
        log = open(logs / f"worker{i}.log", "w")  # noqa: SIM115 - lives as long as the worker
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "workers.app",
                    "worker",
                    "-Q",
                    queue,
                    "-c",
                    "1",
                    "-P",
                    "prefork",
                    "-n",
                    name,
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "WARNING",
                ],
                env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        )
    return procs


def _worker_names(queue: str, count: int) -> list[str]:
    """The workers' node names: the warm-up pings them by name."""
    import socket

    return [f"bench{i}-{queue}@{socket.gethostname()}" for i in range(count)]


def _warm_up(settings: Settings, url: str, ids: list[int], names: list[str], timeout: float = 120) -> None:
    """Have every worker load the catalog before the clock starts: wait until each answers a
    ping (consumes), then send the warm-up images a message each, so that idle workers take one
    each. Sent as one batch, they went to one worker, and the others loaded their catalog (about
    half a second of CPU at 10,000 originals) inside the timed run."""
    from workers.enqueue import enqueue_score_images, producer

    deadline = time.monotonic() + timeout
    answered: set[str] = set()
    while not answered >= set(names):
        if time.monotonic() >= deadline:
            missing = ", ".join(sorted(set(names) - answered))
            raise SystemExit(f"bench pipeline: no answer within {timeout:.0f} s from {missing}")
        replies = producer(settings).control.ping(destination=names, timeout=0.5) or []
        answered |= {name for reply in replies for name in reply}
    for image_id in ids:
        enqueue_score_images(settings, [image_id])
    _wait(url, ids, 600)


def _send(settings: Settings, ids: list[int], rate: float | None, one_per_message: bool) -> dict[int, float]:
    """Send ``ids`` to the scoring queue, all at once or at ``rate`` a second; returns the moment
    each image was due (its latency is counted from then).

    As the crawler does: every ``FLUSH_S`` the images that arrived are sent in one
    ``enqueue_score_images`` call (messages of up to ``CPU_BATCH``); ``one_per_message`` sends
    each image in a message of its own, on time.
    """
    from workers.enqueue import enqueue_score_images

    started = time.time()
    due = {image_id: started + (n / rate if rate else 0.0) for n, image_id in enumerate(ids)}
    if one_per_message:
        for image_id in ids:
            time.sleep(max(0.0, due[image_id] - time.time()))
            enqueue_score_images(settings, [image_id])
        return due
    sent = 0
    while sent < len(ids):
        now = time.time()
        ready = sent
        while ready < len(ids) and due[ids[ready]] <= now:
            ready += 1
        if ready > sent:
            enqueue_score_images(settings, ids[sent:ready])
            sent = ready
        if sent < len(ids):
            time.sleep(FLUSH_S)
    return due


def _workers_cpu_s(procs: list[subprocess.Popen]) -> float | None:
    """CPU seconds used so far by every process of the workers' sessions (each worker is started
    as a session leader, its pool processes inherit the session); None where /proc is missing."""
    sessions = {proc.pid for proc in procs}
    total = 0.0
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            # After the command name: state, ppid, pgrp, session, … utime (12th), stime (13th).
            if int(fields[3]) in sessions:
                total += (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, ValueError):
        return None
    return total


def _wait(url: str, ids: list[int], timeout: float) -> dict[int, tuple[str, datetime | None]]:
    from db.bench_data import image_states
    from db.engine import make_engine, session_factory

    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with session_factory(engine)() as session:
                state = image_states(session, ids)
            if all(s in {"scored", "failed"} for s, _ in state.values()) or time.monotonic() > deadline:
                return state
            time.sleep(0.2)
    finally:
        engine.dispose()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def measure(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    from db.migrate import upgrade
    from db.scratch import scratch_database

    if settings.eager:
        raise SystemExit("copywatch bench pipeline needs REDIS_URL (real Redis)")
    server = args.pg_url or (
        settings.database_url if settings.database_url.startswith("postgres") else DEFAULT_PG
    )
    database = contextlib.ExitStack()
    url = database.enter_context(scratch_database(server))
    root = Path(tempfile.mkdtemp(prefix="copywatch-bench-pipeline-"))
    queue = f"bench-score-{uuid.uuid4().hex[:8]}"
    procs: list[subprocess.Popen] = []
    try:
        index = cached_index(settings, args.catalog_size, args)
        data_dir = root / "data"
        shutil.copytree(index, data_dir / "index")
        env = {"DATABASE_URL": url, "REDIS_URL": settings.redis_url, "DATA_DIR": str(data_dir),
               "SCORING_QUEUE": queue, "SECRET_KEY": "bench"}  # fmt: skip
        bench = Settings.from_env(env)
        bench.ensure_dirs()
        upgrade(url)
        warmup = max(2, args.workers * 2)
        _say(args, f"» writing {args.images} listing images (+{warmup} warm-up)")
        ids = _prepare_database(url, args.catalog_size, bench.media_root, args.images + warmup, args.copies)
        warm, timed = ids[:warmup], ids[warmup:]
        _say(args, f"» starting {args.workers} worker process(es), loading the catalog")
        names = _worker_names(queue, args.workers)
        procs = _start_workers(env, queue, names, root)
        _warm_up(bench, url, warm, names)

        _say(args, f"» scoring {len(timed)} images" + (f" at {args.rate}/s" if args.rate else " (burst)"))
        cpu_before = _workers_cpu_s(procs)
        sent_at = _send(bench, timed, args.rate, args.one_per_message)
        started = min(sent_at.values(), default=time.time())
        state = _wait(url, timed, args.timeout)
        cpu_after = _workers_cpu_s(procs)
        done = {i: at for i, (s, at) in state.items() if s in {"scored", "failed"} and at is not None}
        failed = sum(1 for s, _ in state.values() if s == "failed")
        latencies = [done[i].timestamp() - sent_at[i] for i in done]
        finished = max((at.timestamp() for at in done.values()), default=time.time())
        duplicated = _duplicates(url, timed)
        rate = len(done) / max(finished - started, 1e-9)
        cpu_s = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        return {
            "images": args.images,
            "workers": args.workers,
            "catalog_size": args.catalog_size,
            "images_per_s": round(rate, 2),
            # One worker process is one core's worth of scoring (a pool of one, one native thread).
            "images_per_s_per_worker": round(rate / args.workers, 2),
            "p50_latency_s": round(statistics.median(latencies), 3) if latencies else None,
            "p95_latency_s": round(_percentile(latencies, 0.95), 3) if latencies else None,
            "lost": len(timed) - len(done) - failed,
            "duplicated": duplicated,
            # CPU seconds of the worker processes (Celery's main process and its pool) per image
            # scored: less sensitive to other load on the machine than images/s. PostgreSQL's and
            # Redis's own CPU is not in it.
            "worker_cpu_ms_per_image": round(1000 * cpu_s / max(len(done), 1), 1)
            if cpu_s is not None
            else None,
            # Images a second of one core would score at that CPU cost: images/s per core on cores
            # the workers had to themselves.
            "images_per_cpu_s": round(len(done) / cpu_s, 1) if cpu_s else None,
        }
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        database.close()
        _drop_queue(settings.redis_url, queue)
        shutil.rmtree(root, ignore_errors=True)


def _duplicates(url: str, ids: list[int]) -> int:
    """Images scored more than once (claimed twice) plus repeated (image, original) detections."""
    from db.bench_data import duplicate_work
    from db.engine import make_engine, session_factory

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return duplicate_work(session, ids)
    finally:
        engine.dispose()


def _drop_queue(redis_url: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{queue}*"))
    if keys:
        client.delete(*keys)


def run(args: argparse.Namespace, settings: Settings) -> int:
    result = measure(settings, args)
    print(json.dumps(result), flush=True)
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1
