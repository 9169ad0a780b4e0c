"""``copywatch bench make-logo``: generate a labelled logo benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("make-logo", help="generate a labelled logo-position benchmark")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--n", type=int, default=700, help="number of images (default 700: 100 per position)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: object) -> int:
    from detection.logo.bench import make_logo_benchmark

    out = make_logo_benchmark(args.out, n=args.n, seed=args.seed)
    print(f"{args.n} images and truth.csv written to {out}")
    return 0
