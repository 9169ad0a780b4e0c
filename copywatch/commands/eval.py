"""``copywatch eval``: score retrieval methods on a benchmark folder (every DESIGN.md protocol)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from copywatch.settings import Settings

METHOD_NAMES = ("matcher", "siamese", "phash", "pdq", "orb")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate matching methods on a benchmark")
    parser.add_argument("--bench", type=Path, required=True, help="benchmark folder (DESIGN.md format)")
    parser.add_argument(
        "--method",
        nargs="+",
        default=["matcher"],
        choices=METHOD_NAMES,
        help="methods to run (default matcher)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries")
    parser.add_argument("--checkpoint", type=Path, default=None, help="Siamese checkpoint (default: shipped)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per method, last line(s)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.baselines import make_method
    from detection.evaluate import format_table, load_benchmark
    from detection.evaluate import run as evaluate

    try:
        bench = load_benchmark(args.bench, limit=args.limit)
    except (OSError, ValueError, KeyError) as exc:
        print(f"copywatch eval: cannot read benchmark {args.bench}: {exc}", file=sys.stderr)
        return 2
    results = []
    for name in args.method:
        options = {"checkpoint": args.checkpoint} if name == "siamese" else {}
        try:
            method = make_method(name, **options)
        except (ImportError, FileNotFoundError) as exc:
            print(f"copywatch eval: method {name} is not available: {exc}", file=sys.stderr)
            return 2
        result = evaluate(method, bench, progress=not args.no_progress)
        results.append(result)
        print(format_table(result), file=sys.stderr if args.json else sys.stdout, flush=True)
    if args.json:
        for result in results:
            print(json.dumps(result))
    return 0
