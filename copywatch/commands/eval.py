"""``copywatch eval``: score retrieval methods on a benchmark folder (every protocol of docs/formats.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from copywatch.settings import Settings

if TYPE_CHECKING:
    from detection.evaluate import QueryOutcome

METHOD_NAMES = ("matcher", "siamese", "phash", "pdq", "orb")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate matching methods on a benchmark")
    parser.add_argument("--bench", type=Path, required=True, help="benchmark folder (docs/formats.md)")
    parser.add_argument(
        "--method",
        nargs="+",
        default=["matcher"],
        choices=METHOD_NAMES,
        help="methods to run (default matcher)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries")
    parser.add_argument(
        "--innocents",
        type=Path,
        default=None,
        metavar="DIR",
        help="add a pool of innocent images (copywatch bench innocents) as not-in-catalog queries",
    )
    parser.add_argument(
        "--innocents-limit", type=int, default=None, metavar="N", help="only the first N pool images"
    )
    parser.add_argument("--checkpoint", type=Path, default=None, help="Siamese checkpoint (default: shipped)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per method, last line(s)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--dump",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write every query's outcome (top matches, the true original's rank, ms) as JSON Lines",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.at_thresholds import Thresholds
    from detection.baselines import make_method
    from detection.evaluate import format_table, load_benchmark, threshold_setters
    from detection.evaluate import run as evaluate
    from detection.innocent_pool import pool_images, with_pool

    try:
        bench = load_benchmark(args.bench, limit=args.limit)
    except (OSError, ValueError, KeyError) as exc:
        print(f"copywatch eval: cannot read benchmark {args.bench}: {exc}", file=sys.stderr)
        return 2
    if args.innocents is not None:
        try:
            with_pool(bench.queries, bench.truth, pool_images(args.innocents, args.innocents_limit))
        except (OSError, ValueError) as exc:
            print(f"copywatch eval: cannot read innocent pool {args.innocents}: {exc}", file=sys.stderr)
            return 2
    # The shipped settings (the defaults when the command runs without them, as in tests).
    shipped = settings or Settings
    thresholds = Thresholds(review=shipped.review_threshold, alert=shipped.alert_threshold)
    try:
        dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    except OSError as exc:
        print(f"copywatch eval: cannot write {args.dump}: {exc}", file=sys.stderr)
        return 2
    results = []
    try:
        for name in args.method:
            options = {"checkpoint": args.checkpoint} if name == "siamese" else {}
            try:
                method = make_method(name, **options)
            except (ImportError, FileNotFoundError) as exc:
                print(f"copywatch eval: method {name} is not available: {exc}", file=sys.stderr)
                return 2
            outcomes: list[QueryOutcome] = []
            record = _recorder(name, outcomes, dump)
            result = evaluate(
                method, bench, progress=not args.no_progress, on_query=record, thresholds=thresholds
            )
            results.append(result)
            table = format_table(result, threshold_setters(outcomes))
            print(table, file=sys.stderr if args.json else sys.stdout, flush=True)
    finally:
        if dump is not None:
            dump.close()
    if args.json:
        for result in results:
            print(json.dumps(result))
    return 0


def _recorder(
    method: str, outcomes: list[QueryOutcome], dump: TextIO | None
) -> Callable[[QueryOutcome], None]:
    """Collect each query's outcome, and write it to ``dump`` as it comes (an interrupted run
    keeps every line it scored)."""
    from detection.evaluate import outcome_record

    def record(outcome: QueryOutcome) -> None:
        outcomes.append(outcome)
        if dump is not None:
            dump.write(json.dumps(outcome_record(method, outcome)) + "\n")
            dump.flush()

    return record
