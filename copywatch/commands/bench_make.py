"""``copywatch bench make``: build a benchmark (docs/formats.md) from any folder of images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from copywatch.settings import Settings


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser("make", help="build a retrieval benchmark from a folder of images")
    parser.add_argument("--originals", type=Path, required=True, help="folder of product images")
    parser.add_argument("--out", type=Path, required=True, help="benchmark folder to create")
    parser.add_argument("--seed", type=int, default=11, help="random seed (default 11)")
    parser.add_argument("--holdout", type=float, default=0.15, help="share held back as distractors")
    parser.add_argument("--strip-originals", type=int, default=300, help="originals cut into seed strips")
    parser.add_argument("--per-family", type=int, default=30, help="in-catalog queries per edit family")
    parser.add_argument("--distractors-per-family", type=int, default=25, help="distractors per edit family")
    parser.add_argument(
        "--strong",
        action="store_true",
        help="add stronger edit families (perspective, watermark, blur+noise, thumbnails, small "
        "inserts, tight crops, large rotations, mirrored combos)",
    )
    parser.add_argument(
        "--families",
        type=_family_list,
        default=None,
        metavar="LIST",
        help="comma-separated edit families to draw instead of the default ones; chain several "
        "with '+' (e.g. hflip+small_insert,rotate+insert,color+text_overlay)",
    )
    parser.add_argument(
        "--keep-variants",
        action="store_true",
        help="also draw not-in-catalog queries from held-back images that are variants of a catalog "
        "original (left out by default: a recoloured or altered catalog drawing is not innocent)",
    )
    parser.set_defaults(handler=run)


def _family_list(text: str) -> list[str]:
    """``--families``: comma-separated family names (checked by the generator)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.benchmark import make_benchmark

    try:
        counts = make_benchmark(
            args.originals,
            args.out,
            seed=args.seed,
            holdout_fraction=args.holdout,
            strip_originals=args.strip_originals,
            per_family=args.per_family,
            distractors_per_family=args.distractors_per_family,
            strong=args.strong,
            families=args.families,
            keep_variants=args.keep_variants,
            progress=True,
        )
    except (FileExistsError, ValueError, OSError) as exc:
        print(f"copywatch bench make: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), **counts}))
    return 0
