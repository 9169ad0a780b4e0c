"""``copywatch bench review``: how fast the review page is where it matters.

* Queue page: server-side render time of ``/queue`` (query, count, template) with ``--detections``
  detections in a temporary PostgreSQL database (created on the server of ``DATABASE_URL``, or of
  ``--pg-url``, and dropped afterwards: the bench never writes into a real database). Target < 300 ms.
* Search page: latency of one upload to ``/api/search`` (decode, match, originals lookup, JSON)
  against the dev catalog (the demo brand's originals, ``--catalog-size`` of them) on one CPU core.
  Target < 1 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from copywatch.settings import Settings
from db.engine import make_engine, session_factory

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-123"


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("review", help="queue page render time and search upload latency")
    parser.add_argument("--detections", type=int, default=100_000, help="detections to seed (default 100000)")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server for the temporary database")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per case (default 20)")
    parser.add_argument(
        "--index", type=Path, default=None, help="catalog index to search (default: demo catalog)"
    )
    parser.add_argument("--catalog-size", type=int, default=40, help="demo catalog originals (default 40)")
    parser.add_argument("--skip-search", action="store_true", help="only measure the queue page")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def _timed(client: Any, url: str, repeat: int, **kwargs: Any) -> dict[str, float]:
    client.get(url)  # warm caches (template compile, connection pool, plans)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, **kwargs)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    return _summary(times)


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


# --- the queue page -----------------------------------------------------------------------------------


SEED_SQL = [
    "INSERT INTO brands (name, alert_emails) SELECT 'Brand ' || i, '[]' FROM generate_series(1, 5) i",
    """INSERT INTO originals (brand_id, sku, title, image_path, sha256, width, height)
       SELECT 1 + (i % 5), 'SKU-' || i, 'Original ' || i, 'bench/original.png', md5(i::text) || md5(i::text), 640, 640
       FROM generate_series(1, 500) i""",
    """INSERT INTO marketplaces (name, start_urls, spider, enabled, settings)
       SELECT 'market' || i, '[]', 'product', true, '{}' FROM generate_series(1, 8) i""",
    """INSERT INTO listings (marketplace_id, url, title, price, currency, seller)
       SELECT 1 + (i % 8), 'https://market.invalid/item/' || i, 'Listing ' || i, (i % 500) + 0.99, 'EUR',
              'seller' || (i % 997)
       FROM generate_series(1, :n) i""",
    """INSERT INTO listing_images (listing_id, url, sha256, path, width, height, status, attempts)
       SELECT i, 'https://market.invalid/img/' || i || '.jpg', md5('img' || i) || md5(i::text),
              'bench/listing.jpg', 800, 800, 'scored', 1
       FROM generate_series(1, :n) i""",
    """INSERT INTO detections (listing_image_id, original_id, kind, score, components, region_query,
                               region_original, logo_verdict, status, reviewed_at, created_at)
       SELECT i, 1 + (i % 500), 'stolen_image', 0.5 + 0.5 * random(),
              '{"global": 0.8, "inliers": 40, "inlier_ratio": 0.5}',
              '[[10, 10], [400, 10], [400, 400], [10, 400]]', '[[0, 0], [640, 0], [640, 640], [0, 640]]',
              '{"verdict": "genuine", "position": "CM"}',
              CASE WHEN i % 10 < 7 THEN 'new' WHEN i % 10 < 9 THEN 'confirmed' ELSE 'dismissed' END,
              CASE WHEN i % 10 < 7 THEN NULL ELSE now() END,
              now() - ((i % 90) || ' days')::interval
       FROM generate_series(1, :n) i""",
    "ANALYZE",
]


def _server(args: argparse.Namespace, settings: Settings) -> str:
    if args.pg_url:
        return args.pg_url
    if settings.database_url.startswith("postgresql"):
        return settings.database_url
    return os.environ.get("TEST_PG_URL", DEFAULT_PG)


def bench_queue(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from db.migrate import upgrade
    from review import create_app
    from review.auth import create_user

    server = _server(args, settings)
    name = f"copywatch_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        with session_factory(engine)() as session, session.begin():
            for sql in SEED_SQL:
                session.execute(text(sql), {"n": args.detections} if ":n" in sql else {})
            create_user(session, "bench@example.com", PASSWORD, "reviewer")
        seed_s = time.perf_counter() - started
        with engine.connect() as conn:
            middle = conn.execute(
                text(
                    "SELECT score, id FROM detections WHERE status = 'new' ORDER BY score DESC, id DESC "
                    "OFFSET :o LIMIT 1"
                ),
                {"o": int(args.detections * 0.35)},
            ).one()
        engine.dispose()
        bench_settings = settings.with_overrides(database_url=url, secret_key=secrets.token_hex(32))
        app = create_app(bench_settings)
        client = app.test_client()
        _login(client)
        cases = {
            "first_page": "/queue",
            "deep_page": f"/queue?after={middle[0]!r}:{middle[1]}",
            "brand_and_score_filter": "/queue?brand=2&min=80",
            "marketplace_and_dates": "/queue?marketplace=3&since=2000-01-01&status=all",
        }
        results = {case: _timed(client, path, args.repeat) for case, path in cases.items()}
        app.extensions["copywatch"].engine.dispose()
        return {"detections": args.detections, "seed_s": round(seed_s, 1), "cases": results}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _login(client: Any) -> None:
    html = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    token = html[html.index(marker) + len(marker) :].split('"', 1)[0]
    response = client.post(
        "/login", data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 302:
        raise RuntimeError("bench login failed")


# --- the search page ----------------------------------------------------------------------------------


def _one_core() -> None:
    """Pin this process to one CPU and one thread per library: the target is per core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import cv2
    import faiss
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    # OpenMP would otherwise keep one spinning thread per core it saw at import, all on this one core.
    faiss.omp_set_num_threads(1)


def bench_search(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    import cv2
    import numpy as np

    from copywatch import catalog_store
    from copywatch.demo.catalog import write_catalog
    from copywatch.demo.edits import STOLEN_EDITS, apply_edit
    from db.migrate import upgrade
    from detection.matcher import Matcher
    from review import create_app
    from review.auth import create_user

    _one_core()
    with tempfile.TemporaryDirectory(prefix="copywatch-bench-review-") as tmp:
        root = Path(tmp)
        db_url = f"sqlite:///{root / 'bench.db'}"
        upgrade(db_url)
        bench_settings = settings.with_overrides(
            data_dir=root, media_root=root / "media", database_url=db_url, secret_key=secrets.token_hex(32)
        )
        bench_settings.ensure_dirs()
        demo = write_catalog(root / "originals", count=args.catalog_size)
        catalog_store.register_originals(bench_settings, demo.brand, demo.paths)
        build_started = time.perf_counter()
        catalog = catalog_store.build_index(bench_settings)
        build_s = time.perf_counter() - build_started
        rng = np.random.default_rng(7)
        edits = [e for e in STOLEN_EDITS if e != "collage"]  # a collage needs other photos
        queries = []
        for i, path in enumerate(demo.paths[: args.repeat]):
            # Stolen copies as a marketplace would show them: edited, re-encoded as JPEG.
            edit = edits[i % len(edits)]
            image = apply_edit(edit, cv2.imread(str(path)), rng)
            _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            queries.append(encoded.tobytes())
        engine = make_engine(db_url)
        with session_factory(engine)() as session, session.begin():
            create_user(session, "bench@example.com", PASSWORD, "reviewer")
        engine.dispose()
        matcher = Matcher(catalog, device="cpu")
        app = create_app(bench_settings, matcher_loader=lambda: matcher)
        client = app.test_client()
        _login(client)
        html = client.get("/search").get_data(as_text=True)
        marker = 'name="csrf-token" content="'
        token = html[html.index(marker) + len(marker) :].split('"', 1)[0]
        times, matched = [], 0
        for i, data in enumerate([queries[0], *queries]):
            started = time.perf_counter()
            response = client.post(
                "/api/search",
                data={"image": (io.BytesIO(data), "q.jpg")},
                headers={"X-CSRFToken": token},
                content_type="multipart/form-data",
            )
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(
                    f"search answered {response.status_code}: {response.get_data(as_text=True)}"
                )
            if i > 0:  # the first upload warms the matcher
                times.append(elapsed)
                matched += len(response.get_json()["results"]) > 0
        app.extensions["copywatch"].engine.dispose()
        return {
            "originals": len(catalog),
            "uploads": len(times),
            "with_results": matched,
            "cpu_threads": 1,
            "index_build_s": round(build_s, 1),
            **_summary(times),
        }


def run(args: argparse.Namespace, settings: Settings) -> int:
    report: dict[str, Any] = {"queue": bench_queue(args, settings)}
    if not args.skip_search:
        try:
            report["search"] = bench_search(args, settings)
        except ImportError as exc:
            report["search"] = {"skipped": f"the matcher is not available: {exc}"}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        queue = report["queue"]
        print(
            f"queue page with {queue['detections']:,} detections in PostgreSQL (seeded in {queue['seed_s']} s):"
        )
        for case, figures in queue["cases"].items():
            print(f"  {case:<26} median {figures['median_ms']:7.1f} ms   p95 {figures['p95_ms']:7.1f} ms")
        search = report.get("search")
        if search and "skipped" not in search:
            print(
                f"search upload against {search['originals']} originals, 1 CPU thread: "
                f"median {search['median_ms']:.1f} ms, p95 {search['p95_ms']:.1f} ms"
            )
        elif search:
            print(f"search: {search['skipped']}")
    return 0
