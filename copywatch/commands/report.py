"""``copywatch report``: print a reporting view as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from copywatch.settings import Settings
from db.engine import make_engine, session_factory
from db.reporting import REPORTS, jsonable, report_csv, run_report


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--since takes a date as YYYY-MM-DD, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="print a reporting view")
    parser.add_argument("name", choices=list(REPORTS), metavar="NAME", help=" | ".join(REPORTS))
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
    parser.add_argument("--since", type=_date, help="only rows on or after this date (YYYY-MM-DD)")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="recompute seller networks and risk scores first (they are recomputed after each crawl)",
    )
    parser.set_defaults(handler=run)


def format_table(rows: list[dict[str, object]]) -> str:
    """Aligned plain-text columns; numbers right-aligned."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[("" if v is None else str(jsonable(v))) for v in row.values()] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[c], int | float) or row[c] is None for row in rows) for c in columns]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def run(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        if args.refresh:
            from db.networks import refresh_sellers

            with session_factory(engine)() as session, session.begin():
                refresh_sellers(session)
        with session_factory(engine)() as session:
            rows = run_report(session, args.name, args.since)
    finally:
        engine.dispose()
    if args.format == "json":
        json.dump([{k: jsonable(v) for k, v in r.items()} for r in rows], sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "csv":
        sys.stdout.write(report_csv(rows))
    else:
        print(format_table(rows))
    return 0
