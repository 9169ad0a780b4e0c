"""``copywatch bench matcher-speed``: the matcher's time per query, beside another checkout's.

Both matchers run in one process on one thread, each with its own catalog built from the same
originals; every query is matched by both, alternating which goes first, so load on a shared
machine weighs on both alike. Each query's rankings (original ids, and scores to 1e-6) are
compared: a change meant only to make the matcher faster must leave them all identical.

The other checkout (``--against``, e.g. ``git worktree add ../old main``) is imported under its
own module table: its ``detection`` package replaces this one's for the duration of each of its
calls, so lazy imports inside it find its own modules.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "detection"
SCORE_TOLERANCE = 1e-6
_LOADED = ("detection.matching", "detection.benchmark", "detection.evaluate")


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "matcher-speed", help="the matcher's ms per query beside another checkout's, rankings compared"
    )
    parser.add_argument("--bench", type=Path, required=True, help="a benchmark folder (docs/formats.md)")
    parser.add_argument("--against", type=Path, help="another checkout's root, to time beside this one")
    parser.add_argument("--every", type=int, default=1, help="every Nth query (sorted by id; default all)")
    parser.add_argument("--limit", type=int, help="at most N queries")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(handler=run)


def _ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def load_checkout(root: Path | None) -> dict[str, ModuleType]:
    """The matcher's modules of the checkout at ``root`` (None: this one), imported apart from
    whichever ``detection`` this process had loaded, which is put back afterwards."""
    if root is None:
        for name in _LOADED:
            importlib.import_module(name)
        return {name: module for name, module in sys.modules.items() if _ours(name)}
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if _ours(name)}
    sys.path.insert(0, str(root.resolve()))
    try:
        for name in _LOADED:
            importlib.import_module(name)
        return {name: module for name, module in sys.modules.items() if _ours(name)}
    finally:
        sys.path.remove(str(root.resolve()))
        for name in [name for name in sys.modules if _ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


@contextlib.contextmanager
def using(modules: dict[str, ModuleType]) -> Iterator[None]:
    """``modules`` stand for the ``detection`` package while the block runs (and gain the
    modules it imported lazily)."""
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if _ours(name)}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name in [name for name in sys.modules if _ours(name)]:
            modules[name] = sys.modules.pop(name)
        sys.modules.update(saved)


def same_ranking(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    """The same originals in the same order, with scores within ``SCORE_TOLERANCE``."""
    return len(a) == len(b) and all(
        x_id == y_id and abs(x_score - y_score) <= SCORE_TOLERANCE
        for (x_id, x_score), (y_id, y_score) in zip(a, b, strict=True)
    )


def _summary(times: list[float]) -> dict[str, float]:
    return {"mean_ms": round(statistics.fmean(times), 2), "median_ms": round(statistics.median(times), 2)}


def run(args: argparse.Namespace, settings: object = None) -> int:
    checkouts = {"this": load_checkout(None)}
    if args.against is not None:
        checkouts["against"] = load_checkout(args.against)
    this = checkouts["this"]
    with using(this):
        this["detection.evaluate"].single_thread()
        bench = this["detection.evaluate"].load_benchmark(args.bench)
        read = this["detection.benchmark"].read_image
        originals = {original_id: read(path) for original_id, path in bench.originals.items()}
    matchers: dict[str, Any] = {}
    for name, modules in checkouts.items():
        with using(modules):
            matching = modules["detection.matching"]
            matchers[name] = matching.Matcher(matching.build_catalog(originals.items()))
    del originals
    queries = sorted(bench.queries)[:: args.every][: args.limit]
    times: dict[str, list[float]] = {name: [] for name in checkouts}
    differing: list[str] = []
    load_before = os.getloadavg()
    for number, query_id in enumerate(queries):
        with using(this):
            image = read(bench.queries[query_id])
        order = list(checkouts) if number % 2 == 0 else list(reversed(checkouts))
        rankings = {}
        for name in order:
            with using(checkouts[name]):
                started = time.perf_counter()
                found = matchers[name].match(image, 10)
                times[name].append(1000.0 * (time.perf_counter() - started))
            rankings[name] = [(match.original_id, match.score) for match in found]
        if len(rankings) == 2 and not same_ranking(rankings["this"], rankings["against"]):
            differing.append(query_id)
    result: dict[str, Any] = {
        "bench": str(args.bench),
        "queries": len(queries),
        "load_average": [round(value, 2) for value in (*load_before, *os.getloadavg())],
        **{name: _summary(values) for name, values in times.items()},
    }
    if args.against is not None:
        result["differing"] = differing
    for name in checkouts:
        print(
            f"{name:8s} {result[name]['mean_ms']:8.2f} ms/query mean, {result[name]['median_ms']:.2f} median"
        )
    if args.against is not None:
        print(f"rankings differing: {len(differing)} of {len(queries)}")
    print(f"load average before / after: {result['load_average']}")
    if args.json:
        print(json.dumps(result))
    return 1 if differing else 0
