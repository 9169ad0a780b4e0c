"""``copywatch bench make-dev``: rebuild the development benchmark from the public clip-art packages.

The originals come from Debian's ``tuxpaint-stamps-default`` and ``openclipart-png`` (see
:mod:`detection.devset` for how each drawing becomes a product photo); the queries are drawn by
``copywatch bench make``'s generator with seed 11. ``scripts/make-dev-bench.sh`` downloads and
unpacks the two packages (no root needed) and runs this command.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from copywatch.settings import Settings


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "make-dev", help="rebuild the development benchmark from tuxpaint-stamps-default and openclipart-png"
    )
    parser.add_argument(
        "--packages",
        type=Path,
        default=Path("/"),
        help="folder the two Debian packages are unpacked (dpkg -x) or installed under (default /)",
    )
    parser.add_argument("--out", type=Path, required=True, help="benchmark folder to create")
    parser.add_argument("--seed", type=int, default=11, help="random seed (default 11, the dev set's)")
    parser.add_argument(
        "--per-family", type=int, default=30, help="in-catalog queries per edit family (default 30)"
    )
    parser.add_argument(
        "--distractors-per-family", type=int, default=25, help="distractors per edit family (default 25)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.benchmark import make_benchmark
    from detection.devset import (
        OPENCLIPART_CATEGORIES,
        OPENCLIPART_ROOT,
        TUXPAINT_CATEGORIES,
        TUXPAINT_ROOT,
        candidate_drawings,
        compose_originals,
    )

    drawings = candidate_drawings(args.packages / TUXPAINT_ROOT, TUXPAINT_CATEGORIES) + candidate_drawings(
        args.packages / OPENCLIPART_ROOT, OPENCLIPART_CATEGORIES
    )
    if not drawings:
        print(
            f"copywatch bench make-dev: no drawings under {args.packages / TUXPAINT_ROOT} or "
            f"{args.packages / OPENCLIPART_ROOT}; install or unpack tuxpaint-stamps-default and "
            "openclipart-png (scripts/make-dev-bench.sh does)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="copywatch-dev-originals-") as tmp:
        composed = compose_originals(drawings, Path(tmp), seed=args.seed)
        print(f"originals: {json.dumps(composed)}", file=sys.stderr)
        try:
            counts = make_benchmark(
                Path(tmp),
                args.out,
                seed=args.seed,
                per_family=args.per_family,
                distractors_per_family=args.distractors_per_family,
                progress=True,
            )
        except (FileExistsError, ValueError, OSError) as exc:
            print(f"copywatch bench make-dev: {exc}", file=sys.stderr)
            return 2
    print(json.dumps({"out": str(args.out), "drawings": len(drawings), **counts}))
    return 0
