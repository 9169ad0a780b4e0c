"""``copywatch bench make-logo``: generate a labelled logo benchmark; ``copywatch bench
train-logo-shape``: retrain the logo shape classifier that ships with the package."""

from __future__ import annotations

import argparse
from pathlib import Path


def _patterns(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    from detection.logo.fonts import DEFAULT_HOLDOUT_FONTS
    from detection.logo.marks import DEFAULT_HOLDOUT_GENERATORS, GENERATORS

    parser = subparsers.add_parser("make-logo", help="generate a labelled logo-position benchmark")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--n", type=int, default=700, help="number of images (default 700: 100 per position)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fonts", choices=("all", "dev", "holdout"), default="all",
        help="typefaces: every installed family, the development ones, or only the held-out families",
    )  # fmt: skip
    parser.add_argument(
        "--holdout-fonts", type=_patterns, default=list(DEFAULT_HOLDOUT_FONTS), metavar="PATTERNS",
        help="comma-separated family patterns held out of development (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--generators", choices=("all", "dev", "holdout"), default="all",
        help=f"mark generators ({', '.join(GENERATORS)}): all, the development ones, or only the held-out ones",
    )  # fmt: skip
    parser.add_argument(
        "--holdout-generators", type=_patterns, default=list(DEFAULT_HOLDOUT_GENERATORS), metavar="NAMES",
        help="comma-separated mark generators held out of development (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--style", choices=("seed", "alt", "mixed"), default="mixed",
        help="scenes: the seed's products, the independent alt style, or half each",
    )  # fmt: skip
    parser.set_defaults(handler=run)

    train = subparsers.add_parser(
        "train-logo-shape", help="retrain the logo shape classifier on generated marks (development fonts and generators)"
    )  # fmt: skip
    train.add_argument(
        "--n", type=int, default=2400, help="generated logo photos to learn from (default 2400)"
    )
    train.add_argument("--seed", type=int, default=7)
    train.add_argument(
        "--out", type=Path, help="where to write the model (default: the package's shape_model.npz)"
    )
    train.set_defaults(handler=run_train)


def run(args: argparse.Namespace, settings: object) -> int:
    from detection.logo.bench import make_logo_benchmark

    try:
        out = make_logo_benchmark(
            args.out, n=args.n, seed=args.seed, fonts=args.fonts, holdout_fonts=args.holdout_fonts,
            generators=args.generators, holdout_generators=args.holdout_generators, style=args.style,
        )  # fmt: skip
    except ValueError as exc:
        print(f"copywatch bench make-logo: {exc}")
        return 2
    print(f"{args.n} images and truth.csv written to {out}")
    return 0


def run_train(args: argparse.Namespace, settings: object) -> int:
    from detection.logo.shape_model import MODEL_PATH
    from detection.logo.train_shape import train_shape_model

    train_shape_model(n=args.n, seed=args.seed, out=args.out or MODEL_PATH)
    return 0
