"""``copywatch bench review``: how fast the review page is where it matters.

* Queue page: server-side render time of ``/queue`` (query, count, template) with ``--detections``
  detections of five brands in a temporary PostgreSQL database (created on the server of
  ``DATABASE_URL``, or of ``--pg-url``, and dropped afterwards: the bench never writes into a real
  database), for an admin (every brand) and for a reviewer granted one brand of the five (the brand
  scope of ``db.scoping`` in every query; cases ``scoped_*``). Target < 300 ms.
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
from pathlib import Path
from typing import Any

from copywatch.settings import Settings
from db.bench_data import queue_position, seed_review_queue
from db.engine import make_engine, session_factory
from db.scratch import scratch_database

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-123"
SCOPED_EMAIL = "bench-scoped@example.com"
SCOPED_BRAND = 2  # one brand of the five: a fifth of the detections


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


def _server(args: argparse.Namespace, settings: Settings) -> str:
    if args.pg_url:
        return args.pg_url
    if settings.database_url.startswith("postgresql"):
        return settings.database_url
    return os.environ.get("TEST_PG_URL", DEFAULT_PG)


def bench_queue(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from db.migrate import upgrade
    from db.scoping import grant_brands
    from review import create_app
    from review.auth import create_user

    with scratch_database(_server(args, settings)) as url:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        with session_factory(engine)() as session, session.begin():
            seed_review_queue(session, args.detections)
            create_user(session, "bench@example.com", PASSWORD, "admin")
            scoped = create_user(session, SCOPED_EMAIL, PASSWORD, "reviewer")
            grant_brands(session, scoped, [SCOPED_BRAND])
        seed_s = time.perf_counter() - started
        with session_factory(engine)() as session:
            middle = queue_position(session, int(args.detections * 0.35))
            scoped_middle = queue_position(session, int(args.detections * 0.35 / 5), SCOPED_BRAND)
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
        scoped_client = app.test_client()
        _login(scoped_client, SCOPED_EMAIL)
        scoped_cases = {
            "scoped_first_page": "/queue",
            "scoped_deep_page": f"/queue?after={scoped_middle[0]!r}:{scoped_middle[1]}",
            "scoped_score_filter": "/queue?min=80",
            "scoped_marketplace_and_dates": "/queue?marketplace=3&since=2000-01-01&status=all",
        }
        results.update(
            {case: _timed(scoped_client, path, args.repeat) for case, path in scoped_cases.items()}
        )
        app.extensions["copywatch"].engine.dispose()
        return {"detections": args.detections, "seed_s": round(seed_s, 1), "cases": results}


def _login(client: Any, email: str = "bench@example.com") -> None:
    html = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    token = html[html.index(marker) + len(marker) :].split('"', 1)[0]
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
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
    from detection.imageio import read_bgr
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
            image = apply_edit(edit, read_bgr(path), rng)
            _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            queries.append(encoded.tobytes())
        engine = make_engine(db_url)
        with session_factory(engine)() as session, session.begin():
            create_user(session, "bench@example.com", PASSWORD, "admin")
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
        report["search"] = bench_search(args, settings)
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
