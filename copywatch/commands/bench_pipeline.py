"""``copywatch bench pipeline``: end-to-end scoring throughput and latency on real Redis and PostgreSQL.

What is timed: listing images already stored on disk and queued in the database (the download is
excluded) are sent to the scoring queue; ``--workers`` real ``celery worker`` processes (one pool
process each) claim them, run the matcher against a ``--catalog-size`` catalog of drawn originals
and write detection rows. Latency per image = ``scored_at`` − the moment its message was sent.

* Without ``--rate`` every image is sent at once: ``images_per_s`` is the peak throughput.
* With ``--rate R`` images are sent at R per second: run it at half the peak to read the p95
  latency at half load.

The bench works in a temporary PostgreSQL database (created on the server of ``DATABASE_URL``
or ``--pg-url``, dropped afterwards) and a private queue; the catalog index is cached under
``DATA_DIR/bench-pipeline/`` because drawing and indexing 10,000 originals takes minutes.
The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
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

from sqlalchemy import func, insert, select, text

from copywatch.settings import Settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parents[2]
DRAW_SIDE = 320


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("pipeline", help="end-to-end scoring throughput and latency")
    parser.add_argument("--images", type=int, default=200, help="listing images to score (default 200)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--catalog-size", type=int, default=1000, help="originals in the catalog (default 1000)"
    )
    parser.add_argument("--rate", type=float, default=None, help="send R images/s (default: all at once)")
    parser.add_argument("--copies", type=float, default=0.5, help="share of images copied from originals")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server for the temporary database")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    parser.set_defaults(handler=run)


def draw(seed: int, side: int = DRAW_SIDE) -> Any:
    """A textured drawn "photo", different for every seed (shapes and letters)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    image = np.full((side, side, 3), rng.integers(150, 250, 3), np.uint8)
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = (int(v) for v in rng.integers(0, side, 2))
        r = int(rng.integers(6, side // 6))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), r, colour, -1)
        else:
            cv2.rectangle(image, (x, y), (x + r, y + int(rng.integers(6, side // 6))), colour, -1)
    for i in range(4):
        word = "".join(chr(int(c)) for c in rng.integers(65, 91, 5))
        cv2.putText(image, word, (10, 60 + 70 * i), cv2.FONT_HERSHEY_DUPLEX, 1.2, (20, 20, 20), 2)
    return image


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

    from db.engine import make_engine, session_factory
    from db.models import Brand, ImageStatus, Listing, ListingImage, Marketplace, Original

    rng = random.Random(7)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            brand_id = session.execute(
                insert(Brand).values(name="bench", alert_emails=[]).returning(Brand.id)
            ).scalar_one()
            session.execute(
                insert(Original),
                [
                    {
                        "brand_id": brand_id,
                        "image_path": f"bench/{i}.png",
                        "sha256": f"{i:064d}",
                        "sku": f"sku-{i}",
                    }
                    for i in range(1, size + 1)
                ],
            )
            first = session.execute(select(func.min(Original.id))).scalar_one()
            if first != 1:
                raise RuntimeError("the bench database must number originals from 1")
            marketplace_id = session.execute(
                insert(Marketplace).values(name="bench", start_urls=[], settings={}).returning(Marketplace.id)
            ).scalar_one()
            listing_rows, image_rows = [], []
            for n in range(images):
                if rng.random() < copies:
                    picture = _copy_of(draw(rng.randint(1, size)), rng)
                else:
                    picture = draw(10_000_000 + n)
                name = f"listings/{n}.jpg"
                (media_root / name).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(media_root / name), picture, [cv2.IMWRITE_JPEG_QUALITY, 88])
                listing_rows.append({"marketplace_id": marketplace_id, "url": f"https://bench.test/{n}"})
                image_rows.append({"url": f"https://bench.test/{n}.jpg", "sha256": f"{n:064x}", "path": name})
            listing_ids = session.execute(insert(Listing).returning(Listing.id), listing_rows).scalars().all()
            for row, listing_id in zip(image_rows, listing_ids, strict=True):
                row.update(listing_id=listing_id, status=ImageStatus.QUEUED, attempts=0)
            return list(
                session.execute(insert(ListingImage).returning(ListingImage.id), image_rows).scalars().all()
            )
    finally:
        engine.dispose()


def _start_workers(env: dict[str, str], queue: str, count: int, logs: Path) -> list[subprocess.Popen]:
    procs = []
    for i in range(count):
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
                    f"bench{i}-{queue}@%h",
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


def _wait(url: str, ids: list[int], timeout: float) -> dict[int, tuple[str, datetime | None]]:
    from db.engine import make_engine, session_factory
    from db.models import ListingImage

    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with session_factory(engine)() as session:
                rows = session.execute(
                    select(ListingImage.id, ListingImage.status, ListingImage.scored_at).where(
                        ListingImage.id.in_(ids)
                    )
                ).all()
            state = {int(i): (str(s.value), at) for i, s, at in rows}
            if all(s in {"scored", "failed"} for s, _ in state.values()) or time.monotonic() > deadline:
                return state
            time.sleep(0.2)
    finally:
        engine.dispose()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def measure(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    from db.engine import make_engine
    from db.migrate import upgrade
    from workers.enqueue import enqueue_score_images

    if settings.eager:
        raise SystemExit("copywatch bench pipeline needs REDIS_URL (real Redis)")
    server = args.pg_url or (
        settings.database_url if settings.database_url.startswith("postgres") else DEFAULT_PG
    )
    name = f"copywatch_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + "/" + name
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
        procs = _start_workers(env, queue, args.workers, root)
        enqueue_score_images(bench, warm)
        _wait(url, warm, 600)

        _say(args, f"» scoring {len(timed)} images" + (f" at {args.rate}/s" if args.rate else " (burst)"))
        sent_at: dict[int, float] = {}
        started = time.time()
        for n, image_id in enumerate(timed):
            if args.rate:
                delay = started + n / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            sent_at[image_id] = time.time()
            enqueue_score_images(bench, [image_id])
        state = _wait(url, timed, args.timeout)
        done = {i: at for i, (s, at) in state.items() if s in {"scored", "failed"} and at is not None}
        failed = sum(1 for s, _ in state.values() if s == "failed")
        latencies = [done[i].timestamp() - sent_at[i] for i in done]
        finished = max((at.timestamp() for at in done.values()), default=time.time())
        duplicated = _duplicates(url, timed)
        return {
            "images": args.images,
            "workers": args.workers,
            "catalog_size": args.catalog_size,
            "images_per_s": round(len(done) / max(finished - started, 1e-9), 2),
            "p50_latency_s": round(statistics.median(latencies), 3) if latencies else None,
            "p95_latency_s": round(_percentile(latencies, 0.95), 3) if latencies else None,
            "lost": len(timed) - len(done) - failed,
            "duplicated": duplicated,
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
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _drop_queue(settings.redis_url, queue)
        shutil.rmtree(root, ignore_errors=True)


def _duplicates(url: str, ids: list[int]) -> int:
    """Images scored more than once (claimed twice) plus repeated (image, original) detections."""
    from db.engine import make_engine, session_factory
    from db.models import Detection, ListingImage

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            reclaimed = session.execute(
                select(func.count()).where(ListingImage.id.in_(ids), ListingImage.attempts > 1)
            ).scalar_one()
            repeated = session.execute(
                select(func.count()).select_from(
                    select(Detection.listing_image_id)
                    .group_by(Detection.listing_image_id, Detection.original_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            ).scalar_one()
        return int(reclaimed) + int(repeated)
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
