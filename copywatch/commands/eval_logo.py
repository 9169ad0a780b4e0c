"""``copywatch eval-logo``: measure the logo-position check on a logo benchmark (docs/formats.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from copywatch.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval-logo", help="evaluate the logo-position check on a logo benchmark")
    parser.add_argument("--bench", required=True, type=Path, help="LOGOBENCH folder (images/, truth.csv)")
    parser.add_argument("--limit", type=int, help="only the first N images")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object (last line)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from detection.logo.bench_eval import evaluate_logo_benchmark
    from detection.logo.position import POSITIONS
    from detection.logo.shape import SHAPES

    if not (args.bench / "truth.csv").exists():
        print(f"copywatch eval-logo: no truth.csv in {args.bench}")
        return 2
    report = evaluate_logo_benchmark(args.bench, limit=args.limit)
    print(
        f"images {report['images']}  position accuracy {report['position_accuracy']:.1f} %  "
        f"shape accuracy {report['shape_accuracy']:.1f} %"
    )
    print(
        f"counterfeit recall {report['counterfeit_recall']:.1f} %  false alarms on genuine "
        f"{report['false_alarm_rate']:.1f} %  {report['ms_per_image']:.1f} ms/image (1 thread)"
    )
    columns = [*POSITIONS, "none"]
    print("truth\\found " + " ".join(f"{c:>5}" for c in columns))
    for truth in POSITIONS:
        counts = report["confusion"].get(truth, {})
        print(f"{truth:>11} " + " ".join(f"{counts.get(c, 0):>5}" for c in columns))
    shapes = [*SHAPES, "none"]
    print("\nshape truth\\found " + " ".join(f"{c[:10]:>10}" for c in shapes))
    for truth in SHAPES:
        counts = report["shape_confusion"].get(truth, {})
        print(f"{truth:>17} " + " ".join(f"{counts.get(c, 0):>10}" for c in shapes))
    for table, title in (
        ("position_by_class", "position accuracy by position"),
        ("shape_by_position", "shape accuracy by position"),
        ("shape_by_font", "shape accuracy by font family"),
        ("shape_by_generator", "shape accuracy by mark generator"),
        ("position_by_style", "position accuracy by scene style"),
    ):
        if report.get(table):
            cells = [
                f"{key} {value['accuracy']:.1f} % ({value['images']})" for key, value in report[table].items()
            ]
            print(f"{title}: " + ", ".join(cells))
    if args.json:
        print(json.dumps(report))
    return 0
