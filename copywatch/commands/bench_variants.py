"""``copywatch bench variants``: copy or variant on drawn pairs, and what it costs per detection.

Drawn originals (:func:`detection.drawn.textured_photo`) each give listings as a thief posts them
(cropped, enlarged, JPEG): a plain copy, a variant with a letter swapped, a variant with a part
added (an outlined arrow), and copies under a price sticker, a sale banner, a tiled watermark
and a rotated see-through one. Each listing is matched; the right top match is then compared
(:func:`detection.matching.variant.compare`) as a worker does — the original decoded at half
size and prepared once. Printed per kind: how many were labelled variants, and the comparison's
time beside the matcher's on the same listings (interleaved, so load on the machine weighs on
both alike). With ``--bench``, the in-catalog queries of a benchmark folder (docs/formats.md) are
compared too: every one is a copy, so each variant label there is a false one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from detection import augment
from detection.drawn import add_arrow, sale_banner, textured_photo, with_sticker

SIDE = 320


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("variants", help="copy or variant on drawn pairs, and its cost")
    parser.add_argument("--drawings", type=int, default=16, help="drawn originals (default 16)")
    parser.add_argument(
        "--bench", type=Path, help="also a benchmark folder's in-catalog queries (all copies)"
    )
    parser.add_argument("--limit", type=int, help="only the first N of the folder's queries")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(handler=run)


def _listed(image: np.ndarray) -> np.ndarray:
    """As a thief posts it: cropped, enlarged 1.3 times, JPEG quality 85."""
    h, w = image.shape[:2]
    crop = image[h // 10 : h - h // 12, w // 12 : w - w // 10]
    crop = cv2.resize(crop, (int(crop.shape[1] * 1.3), int(crop.shape[0] * 1.3)))
    return _decoded(crop, 85, cv2.IMREAD_COLOR)


KINDS: dict[str, tuple[bool, Callable[[np.ndarray, int], np.ndarray]]] = {
    # kind: (a variant?, the drawing as listed)
    "copy": (False, lambda image, seed: image),
    "letter swapped": (
        True,
        # Not a word's first letter: the listing's crop (``_listed``) cuts most of it away.
        lambda image, seed: textured_photo(seed, SIDE, swap_letter=(seed % 4, 1 + seed % 4)),
    ),
    "part added": (True, lambda image, seed: add_arrow(image, seed)[0]),
    "sticker": (False, with_sticker),
    "banner": (False, lambda image, seed: sale_banner(image)),
    "watermark": (False, lambda image, seed: augment.watermark(image, np.random.default_rng(seed))),
    "see-through text": (False, lambda image, seed: augment.text_overlay(image, np.random.default_rng(2))),
}


def _ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "p90": float("nan")}
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
    }


def _half(image: np.ndarray) -> np.ndarray:
    """What a worker decodes of an original (IMREAD_REDUCED_COLOR_2 of a ~320-px JPEG)."""
    return _decoded(image, 92, cv2.IMREAD_REDUCED_COLOR_2)


def _decoded(image: np.ndarray, quality: int, flags: int) -> np.ndarray:
    """``image`` through a JPEG of ``quality``, decoded with ``flags``."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, flags) if ok else None
    if decoded is None:
        raise RuntimeError("JPEG round trip failed")
    return np.asarray(decoded)


def measure_drawn(drawings: int) -> dict[str, Any]:
    from detection.matching import Matcher, build_catalog
    from detection.matching.variant import compare, prepare

    originals = {f"o{i}": textured_photo(i, SIDE) for i in range(drawings)}
    matcher = Matcher(build_catalog(originals.items()))
    prepared = {key: prepare(_half(image), (SIDE, SIDE)) for key, image in originals.items()}
    kinds: dict[str, Any] = {}
    match_ms: list[float] = []
    compare_ms: list[float] = []
    for kind, (variant, make) in KINDS.items():
        labelled = matched = 0
        for seed in range(drawings):
            listing = _listed(make(originals[f"o{seed}"], seed))
            start = time.perf_counter()
            best = matcher.match(listing, 1)
            match_ms.append(1000 * (time.perf_counter() - start))
            if not best or best[0].original_id != f"o{seed}" or best[0].homography is None:
                continue
            matched += 1
            start = time.perf_counter()
            difference = compare(prepared[f"o{seed}"], (SIDE, SIDE), listing, best[0].homography)
            compare_ms.append(1000 * (time.perf_counter() - start))
            labelled += difference.is_variant
        kinds[kind] = {"variant": variant, "matched": matched, "labelled_variant": labelled}
    return {"kinds": kinds, "match_ms": _ms(match_ms), "compare_ms": _ms(compare_ms)}


def measure_bench(root: Path, limit: int | None) -> dict[str, Any]:
    from detection.benchmark import read_image
    from detection.catalog import Catalog
    from detection.evaluate import load_benchmark
    from detection.matching import Matcher
    from detection.matching.variant import compare

    bench = load_benchmark(root)
    copies = [(query_id, truth) for query_id, truth in bench.truth.items() if truth[0] is not None][:limit]
    originals = {key: read_image(path) for key, path in sorted(bench.originals.items())}
    # Scores do not matter here, only the alignments: the catalog is not calibrated.
    matcher = Matcher(Catalog.build(originals.items()))
    compared: Counter[str] = Counter()
    labelled: Counter[str] = Counter()
    for query_id, (original_id, transform) in copies:
        listing = read_image(bench.queries[query_id])
        best = matcher.match(listing, 1)
        if not best or best[0].original_id != original_id or best[0].homography is None:
            continue
        original = originals[original_id]
        difference = compare(original, (original.shape[1], original.shape[0]), listing, best[0].homography)
        compared[transform] += 1
        labelled[transform] += difference.is_variant
    return {
        transform: {"compared": compared[transform], "labelled_variant": labelled[transform]}
        for transform in sorted(compared)
    }


def run(args: argparse.Namespace, settings: object = None) -> int:
    result: dict[str, Any] = {"drawn": measure_drawn(args.drawings)}
    drawn = result["drawn"]
    print(f"{'kind':18s} {'truth':8s} {'labelled variant':>18s}")
    for kind, row in drawn["kinds"].items():
        truth = "variant" if row["variant"] else "copy"
        print(f"{kind:18s} {truth:8s} {row['labelled_variant']:>8d} of {row['matched']:<3d} matched")
    match_ms, compare_ms = drawn["match_ms"], drawn["compare_ms"]
    print(
        f"time per listing: matching {match_ms['median']:.1f} ms median (p90 {match_ms['p90']:.1f}); "
        f"copy-or-variant per detection {compare_ms['median']:.2f} ms median (p90 {compare_ms['p90']:.2f})"
    )
    if args.bench:
        result["bench"] = measure_bench(args.bench, args.limit)
        total = sum(r["compared"] for r in result["bench"].values())
        false = sum(r["labelled_variant"] for r in result["bench"].values())
        print(f"{args.bench}: copies labelled variant {false} of {total}")
        for transform, row in result["bench"].items():
            print(f"  {transform:14s} {row['labelled_variant']:>3d} of {row['compared']}")
    if args.json:
        print(json.dumps(result))
    return 0
