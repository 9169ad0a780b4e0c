"""``copywatch bench``: benchmark generators and performance benchmarks, one module each."""

from __future__ import annotations

import argparse
import importlib

# Each module ``copywatch.commands.bench_<name>`` has ``register(bench_subparsers)``.
BENCH_MODULES: tuple[str, ...] = (
    "bench_make",
    "bench_innocents",
    "bench_photos",
    "bench_make_dev",
    "bench_make_logo",
    "bench_scale",
    "bench_crawl",
    "bench_engines",
    "bench_pipeline",
    "bench_review",
    "bench_evidence",
    "bench_variants",
    "bench_matcher_speed",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="make benchmarks and measure speed")
    actions = parser.add_subparsers(dest="bench_action", metavar="BENCHMARK", required=True)
    for name in BENCH_MODULES:
        importlib.import_module(f"copywatch.commands.{name}").register(actions)
