"""``copywatch bench scale``: how the matcher's query time grows with the catalog's size.

The catalog holds a benchmark's real originals plus synthetic extra originals up to each size.
A synthetic original is built at the feature level from real ones (so its descriptors follow the
real ORB distribution, which is what the index's inverted lists see): each of its keypoints takes
the descriptor of a random keypoint of a random real original with a few bits flipped, at the
position of a random keypoint of yet another original. No synthetic original is geometrically
consistent with any image, so the real originals stay the right answers. Extracting features from
100,000 real images would measure the extractor, not the search, and take hours on a laptop.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from copywatch.settings import Settings

DEFAULT_BENCH = Path("../shared/datasets/dev")
FLIPPED_BITS = 12  # per synthetic descriptor: near-real but never a duplicate of a real one


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("scale", help="matcher query time against catalog size")
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="benchmark folder (DESIGN.md)")
    parser.add_argument("--sizes", default="1000,10000,100000", help="catalog sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=60, help="in-catalog queries timed per size")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic originals")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def _synthetic_originals(base, count: int, rng: np.random.Generator):  # noqa: ANN001
    """Yield ``(descriptors, points, size)`` of ``count`` synthetic originals drawn from ``base``."""
    from detection.features import ORIGINAL_FEATURES

    real = len(base)
    all_points = base.points
    all_codes = np.concatenate([base.descriptors_of(i) for i in range(real)])
    for _ in range(count):
        rows = rng.integers(0, len(all_codes), ORIGINAL_FEATURES)
        codes = all_codes[rows].copy()
        bits = rng.integers(0, 256, size=(ORIGINAL_FEATURES, FLIPPED_BITS))
        for column in range(FLIPPED_BITS):
            np.bitwise_xor.at(
                codes, (np.arange(ORIGINAL_FEATURES), bits[:, column] // 8), 1 << (bits[:, column] % 8)
            )
        points = all_points[rng.integers(0, len(all_points), ORIGINAL_FEATURES)]
        yield codes, points, base.sizes[int(rng.integers(0, real))]


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.catalog import Catalog
    from detection.evaluate import load_benchmark, single_thread
    from detection.imageio import load_image
    from detection.matcher import Matcher

    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
        bench = load_benchmark(args.bench)
    except (OSError, ValueError, KeyError) as exc:
        print(f"copywatch bench scale: {exc}", file=sys.stderr)
        return 2
    single_thread()
    rng = np.random.default_rng(args.seed)
    base = Catalog.build(
        ((oid, load_image(path)) for oid, path in bench.originals.items()), progress=True, calibrate=False
    )
    in_catalog = [(q, o) for q, (o, _) in bench.truth.items() if o is not None]
    chosen = [in_catalog[i] for i in rng.choice(len(in_catalog), min(args.queries, len(in_catalog)), False)]
    queries = [(load_image(bench.queries[q]), o) for q, o in chosen]
    rows = []
    for size in sizes:
        extra = max(0, size - len(base))
        started = time.perf_counter()
        catalog = base.with_extra_features(
            (f"synthetic-{i:07d}", codes, points, dims)
            for i, (codes, points, dims) in enumerate(_synthetic_originals(base, extra, rng))
        )
        build_s = time.perf_counter() - started
        matcher = Matcher(catalog)
        matcher.match(queries[0][0])  # warm-up
        times, correct = [], 0
        for image, original_id in queries:
            t0 = time.perf_counter()
            ranked = matcher.match(image, k=1)
            times.append(time.perf_counter() - t0)
            correct += bool(ranked) and ranked[0].original_id == original_id
        rows.append(
            {
                "originals": len(catalog),
                "index": type(catalog.index).__name__,
                "ms_per_query": round(1000 * float(np.mean(times)), 2),
                "ms_p95": round(1000 * float(np.percentile(times, 95)), 2),
                "top1": round(100 * correct / len(queries), 1),
                "index_bytes_per_original": round(catalog.nbytes() / len(catalog)),
                "build_s": round(build_s, 1),
            }
        )
        print(
            f"{rows[-1]['originals']:>8} originals  {rows[-1]['index']:<16} "
            f"{rows[-1]['ms_per_query']:>8.2f} ms/query (p95 {rows[-1]['ms_p95']:.2f})  "
            f"top-1 {rows[-1]['top1']:.1f} %",
            file=sys.stderr if args.json else sys.stdout,
            flush=True,
        )
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        growth = last["ms_per_query"] / max(first["ms_per_query"], 1e-9)
        size_ratio = last["originals"] / first["originals"]
        summary = {"time_growth": round(growth, 2), "size_growth": round(size_ratio, 1)}
    else:
        summary = {}
    result = {"queries": len(queries), "threads": 1, "sizes": rows, **summary}
    if args.json:
        print(json.dumps(result))
    return 0
