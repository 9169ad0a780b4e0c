"""``copywatch bench scale``: how the matcher's query time grows with the catalog's size.

The catalog holds a few hundred real originals plus synthetic extra originals up to each size.
Real originals are procedurally drawn images (shapes, lines, text and noise: fast, and rich in
ORB corners), or a benchmark folder's originals with ``--bench``. Queries are crops of real
originals, so each has one right answer.

A synthetic original is built at the feature level from the real ones (so its descriptors follow
the real ORB distribution, which is what the index's inverted lists see): each of its keypoints
takes the descriptor of a random real keypoint with a few bits flipped, at the position of
another random real keypoint. No synthetic original is geometrically consistent with any image,
so the real originals stay the right answers. Extracting features from 100,000 drawn images
would measure the extractor, not the search, and take far too long on a laptop.

With ``--recall-queries`` the first queries are matched again with an exhaustive search of the
same catalog, which measures the index's recall (docs/scale.md); ``--cache`` keeps the built
catalogs (a 100,000-original one takes minutes to build) for the next run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from copywatch.settings import Settings
from detection.imageio import decode_bgr

REAL_ORIGINALS = 200  # drawn originals per run: the queries' true answers
FLIPPED_BITS = 12  # per synthetic descriptor: near-real but never a duplicate of a real one
SYNTHETIC_CHUNK = 5000  # synthetic originals generated per vectorised batch (bounded memory)
DRAWN_SIZE = (480, 360)  # width, height of a drawn original


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("scale", help="matcher query time against catalog size")
    parser.add_argument("--sizes", default="1000,10000,100000", help="catalog sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=50, help="queries (crops of originals) per size")
    parser.add_argument(
        "--bench",
        type=Path,
        help="use this benchmark folder's originals (docs/formats.md) instead of drawn ones",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of originals and queries")
    parser.add_argument(
        "--device", default="cpu", help="cpu (FAISS), or cuda: search the catalog on the GPU (default cpu)"
    )
    parser.add_argument(
        "--recall-queries",
        type=int,
        default=20,
        help="queries also matched with an exhaustive search of the same catalog, to measure the"
        " index's recall (0: none; default 20)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep each size's built catalog here (a git-ignored folder such as data/bench-scale)"
        " and load it on the next run with the same seed, originals and index design",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(handler=run)


def drawn_original(rng: np.random.Generator, size: tuple[int, int] = DRAWN_SIZE) -> np.ndarray:
    """A procedurally drawn BGR image: a noisy background, filled shapes, lines and text."""
    import cv2

    width, height = size
    image: np.ndarray = np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
    image = cv2.add(image, rng.integers(0, 40, (height, width, 3), dtype=np.uint8))

    def colour() -> tuple[int, int, int]:
        b, g, r = (int(c) for c in rng.integers(0, 256, 3))
        return b, g, r

    def point() -> tuple[int, int]:
        return int(rng.integers(0, width)), int(rng.integers(0, height))

    for _ in range(int(rng.integers(6, 14))):
        kind = int(rng.integers(0, 4))
        if kind == 0:
            cv2.rectangle(image, point(), point(), colour(), -1)
        elif kind == 1:
            cv2.circle(image, point(), int(rng.integers(8, 80)), colour(), -1)
        elif kind == 2:
            cv2.line(image, point(), point(), colour(), int(rng.integers(1, 6)))
        else:
            polygon = np.array([point() for _ in range(int(rng.integers(3, 7)))], np.int32)
            cv2.fillPoly(image, [polygon], colour())
    for _ in range(int(rng.integers(2, 5))):
        text = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(3, 9))))
        cv2.putText(image, text, point(), int(rng.integers(0, 8)), float(rng.uniform(0.6, 2.0)), colour(), 2)
    return image


def crop_query(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A listing-like copy: a crop of 55–85 % per side, rescaled and JPEG-compressed."""
    import cv2

    height, width = image.shape[:2]
    fx, fy = rng.uniform(0.55, 0.85, 2)
    w, h = int(width * fx), int(height * fy)
    x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    crop = image[y : y + h, x : x + w]
    scale = float(rng.uniform(0.7, 1.3))
    crop = cv2.resize(crop, (max(32, int(w * scale)), max(32, int(h * scale))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return decode_bgr(encoded) if ok else np.asarray(crop)


def synthetic_originals(
    base, count: int, rng: np.random.Generator
) -> Iterator[tuple[str, np.ndarray, np.ndarray, tuple[int, int]]]:  # noqa: ANN001
    """``count`` synthetic originals as ``Catalog.with_extra_features`` takes them.

    Args:
        base: a catalog of real originals whose descriptors and points are resampled.
        count: how many to yield.
        rng: the random source.

    Returns:
        An iterator of ``(original_id, descriptors (216, 32) uint8, points (216, 2), (w, h))``.
    """
    from detection.features import ORIGINAL_FEATURES

    real = len(base)
    all_points = base.points
    all_codes = np.concatenate([base.descriptors_of(i) for i in range(real)])
    per = ORIGINAL_FEATURES
    made = 0
    while made < count:
        batch = min(SYNTHETIC_CHUNK, count - made)
        rows = batch * per
        codes = all_codes[rng.integers(0, len(all_codes), rows)]
        at = np.arange(rows)
        # One fancy-indexed XOR per flipped bit: rows are distinct within a column, so no write is lost.
        for _ in range(FLIPPED_BITS):
            bits = rng.integers(0, 256, rows)
            codes[at, bits // 8] ^= (1 << (bits % 8)).astype(np.uint8)
        points = all_points[rng.integers(0, len(all_points), rows)]
        dims = rng.integers(0, real, batch)
        for i in range(batch):
            yield (
                f"synthetic-{made + i:07d}",
                codes[i * per : (i + 1) * per],
                points[i * per : (i + 1) * per],
                base.sizes[int(dims[i])],
            )
        made += batch


def _real_originals(bench: Path | None, count: int, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    if bench is None:
        return [(f"drawn-{i:04d}", drawn_original(rng)) for i in range(count)]
    from detection.evaluate import load_benchmark
    from detection.imageio import load_image

    originals = load_benchmark(bench).originals
    chosen = sorted(originals)[:count]
    return [(oid, load_image(originals[oid])) for oid in chosen]


def _threads(count: int) -> None:
    """Pin OpenCV and FAISS to ``count`` threads."""
    import cv2
    import faiss

    cv2.setNumThreads(count)
    faiss.omp_set_num_threads(count)


def growth_exponent(sizes: list[int], times: list[float]) -> float:
    """Log-log slope of query time between the smallest and largest size (1 = linear)."""
    if len(sizes) < 2 or sizes[0] == sizes[-1] or min(times[0], times[-1]) <= 0:
        return float("nan")
    return math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0])


def _scaled_catalog(base, size: int, seed: int, source: str, cache: Path | None):  # noqa: ANN001, ANN202
    """``base`` plus synthetic originals up to ``size`` (seeded by size, so a cached catalog is the
    one a fresh run builds), and the seconds its building took (when cached: when it was built)."""
    from detection import catalog_index
    from detection.catalog import Catalog

    folder = None
    if cache is not None:
        folder = cache / f"scale-{source}-{len(base)}-{size}-seed{seed}-{catalog_index.DESIGN}"
        if (folder / "build_s.json").exists():
            return Catalog.load(folder), json.loads((folder / "build_s.json").read_text())
    started = time.perf_counter()
    rng = np.random.default_rng([seed, size])
    catalog = base.with_extra_features(synthetic_originals(base, max(0, size - len(base)), rng))
    build_s = time.perf_counter() - started
    if folder is not None:
        catalog.save(folder)
        (folder / "build_s.json").write_text(json.dumps(build_s))
    return catalog, build_s


def neighbour_recall(index, exact, codes: np.ndarray, k: int, within: int) -> float:  # noqa: ANN001
    """Share of the exhaustive search's ``k`` nearest neighbours (of those at most ``within`` bits
    away) that ``index`` finds too, a tie counting as found: rank r is found when the index's r-th
    distance is no larger than the exhaustive one's."""
    if len(codes) == 0:
        return 1.0
    found, _ = index.search(codes, k)
    want, _ = exact.search(codes, k)
    relevant = want <= within
    return float(((found <= want) & relevant).sum() / max(1, int(relevant.sum())))


def _recorded_searches(matcher) -> list[np.ndarray]:  # noqa: ANN001
    """Record the query descriptors of every catalog search ``matcher`` makes from now on."""
    recorded: list[np.ndarray] = []
    search = matcher.search.search

    def recording(query):  # noqa: ANN001, ANN202
        recorded.append(query.descriptors)
        return search(query)

    matcher.search.search = recording
    return recorded


def _recall(catalog, query_set: list, alert: float) -> dict:  # noqa: ANN001
    """The index against an exhaustive search of the same catalog on ``query_set``."""
    from detection.matcher import Matcher
    from detection.matching import tuning

    _threads(os.cpu_count() or 1)  # the exhaustive reference is not what is timed
    twin = catalog.exact_twin()
    approximate, exact = Matcher(catalog), Matcher(twin)
    recorded = _recorded_searches(approximate)
    same, right, right_exact, times = 0, 0, 0, []
    for image, original_id in query_set:
        mine = approximate.match(image, k=1)
        t0 = time.perf_counter()
        theirs = exact.match(image, k=1)
        times.append(1000 * (time.perf_counter() - t0))
        outcome = [(m.original_id, m.score >= alert) for m in mine[:1]]
        same += outcome == [(m.original_id, m.score >= alert) for m in theirs[:1]]
        right += bool(mine) and mine[0].original_id == original_id
        right_exact += bool(theirs) and theirs[0].original_id == original_id
    codes = np.concatenate(recorded) if recorded else np.zeros((0, 32), np.uint8)
    recall = neighbour_recall(catalog.index, twin.index, codes, tuning.NEIGHBOURS, tuning.MAX_HAMMING)
    _threads(1)
    count = len(query_set)
    return {
        "outcome_agreement": round(same / count, 3),
        "top1_exact": round(right_exact / count, 3),
        "top1_vs_exact": round(right / right_exact, 3) if right_exact else None,
        "neighbour_recall": round(recall, 4),
        "ms_exact": round(float(np.median(times)), 1),
    }


def measure_scale(
    sizes: list[int],
    queries: int,
    bench: Path | None = None,
    seed: int = 0,
    log=print,  # noqa: ANN001
    device: str = "cpu",
    recall_queries: int = 0,
    cache: Path | None = None,
    alert: float = 0.8,
) -> dict:
    """Time ``Matcher.match`` at each catalog size; returns per-size rows and the summary.

    Args:
        sizes: catalog sizes (originals), ascending.
        queries: crops of real originals timed per size.
        bench: a benchmark folder for real originals; drawn ones when None.
        seed: random seed.
        log: called with one readable line per size.
        device: where the matcher searches the catalog (``cuda``: :mod:`detection.hamming_torch`).
        recall_queries: the first this many queries are also matched with an exhaustive search
            of the same catalog (:meth:`Catalog.exact_twin`), to measure the index's recall.
        cache: a folder keeping built catalogs between runs.
        alert: the score from which a match is an alert (the outcome compared with the exhaustive search's).

    Returns:
        ``{"sizes", "index", "ms_per_query" (median wall clock), "ms_p95", "cpu_ms_per_query"
        (median of the querying thread's CPU time: less swayed by a loaded machine), "top1",
        "index_bytes_per_original", "build_s", "growth_exponent", "queries", "threads", "device"}``, and with ``recall_queries``
        per size: "outcome_agreement" (share of those queries whose Top-1 original and alert
        decision equal the exhaustive search's), "top1_exact", "top1_vs_exact" (right Top-1
        answers with the index over those with the exhaustive search), "neighbour_recall" and
        "ms_exact" (:func:`neighbour_recall`, over every search those queries made).
    """
    from detection import catalog_index
    from detection.catalog import Catalog
    from detection.matcher import Matcher

    if not sizes or min(sizes) < 1:
        raise ValueError(f"sizes must be positive, got {sizes}")
    if queries < 1:
        raise ValueError(f"--queries must be at least 1, got {queries}")
    if recall_queries < 0:
        raise ValueError(f"--recall-queries must not be negative, got {recall_queries}")
    _threads(1)
    rng = np.random.default_rng(seed)
    real = _real_originals(bench, min(REAL_ORIGINALS, sizes[0]), rng)
    base = Catalog.build(real)
    picks = rng.integers(0, len(real), queries)
    query_set = [(crop_query(real[int(p)][1], rng), real[int(p)][0]) for p in picks]
    keys = [
        "sizes",
        "index",
        "ms_per_query",
        "ms_p95",
        "cpu_ms_per_query",
        "top1",
        "index_bytes_per_original",
        "build_s",
    ]
    if recall_queries:
        keys += ["outcome_agreement", "top1_exact", "top1_vs_exact", "neighbour_recall", "ms_exact"]
    result: dict = {key: [] for key in keys}
    source = "drawn" if bench is None else bench.name
    for size in sizes:
        # Building (k-means training of the inverted lists) uses every core, as `catalog build`
        # does; the queries, which are what is measured, run on one thread.
        _threads(os.cpu_count() or 1)
        catalog, build_s = _scaled_catalog(base, size, seed, source, cache)
        _threads(1)
        matcher = Matcher(catalog, device=device)
        matcher.match(query_set[0][0], k=1)  # warm-up: first-touch of the index pages (or the GPU copy)
        times, cpu_times, correct = [], [], 0
        for image, original_id in query_set:
            t0, c0 = time.perf_counter(), time.thread_time()
            ranked = matcher.match(image, k=1)
            times.append(1000 * (time.perf_counter() - t0))
            cpu_times.append(1000 * (time.thread_time() - c0))
            correct += bool(ranked) and ranked[0].original_id == original_id
        row = {
            "sizes": len(catalog),
            "index": catalog_index.describe(catalog.index),
            "ms_per_query": round(float(np.median(times)), 2),
            "ms_p95": round(float(np.percentile(times, 95)), 2),
            "cpu_ms_per_query": round(float(np.median(cpu_times)), 2),
            "top1": round(correct / len(query_set), 3),
            "index_bytes_per_original": round(catalog.nbytes() / len(catalog)),
            "build_s": round(build_s, 1),
        }
        for key, value in row.items():
            result[key].append(value)
        line = (
            f"{row['sizes']:>8} originals  {row['index']}: {row['ms_per_query']:.2f} ms/query median  "
            f"p95 {row['ms_p95']:.2f}  CPU {row['cpu_ms_per_query']:.2f} ms  top-1 {100 * row['top1']:.1f} %  "
            f"{row['index_bytes_per_original']} B/original  built in {row['build_s']:.1f} s"
        )
        log(line)
        if recall_queries:
            row.update(recall := _recall(catalog, query_set[:recall_queries], alert))
            for key, value in recall.items():
                result[key].append(value)
            log(
                f"{'':>18}against an exhaustive search ({min(recall_queries, len(query_set))} queries): outcome"
                f" agreement {100 * row['outcome_agreement']:.1f} %, top-1 {100 * row['top1_exact']:.1f} %"
                f" exhaustive, neighbour recall {100 * row['neighbour_recall']:.2f} %"
            )
        del catalog, matcher
    exponent = growth_exponent(result["sizes"], result["ms_per_query"])
    result["growth_exponent"] = None if math.isnan(exponent) else round(exponent, 3)
    result.update(queries=len(query_set), threads=1, build_threads=os.cpu_count() or 1, device=device)
    if recall_queries:
        result["recall_queries"] = min(recall_queries, len(query_set))
    return result


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
        result = measure_scale(
            sizes,
            args.queries,
            args.bench,
            args.seed,
            log=lambda line: print(line, file=sys.stderr if args.json else sys.stdout, flush=True),
            device=args.device,
            recall_queries=args.recall_queries,
            cache=args.cache,
            alert=settings.alert_threshold if settings is not None else 0.8,
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"copywatch bench scale: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    elif result["growth_exponent"] is not None:
        print(f"query time grows as size^{result['growth_exponent']:.2f} (1 = linear)")
    return 0
