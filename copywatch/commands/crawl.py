"""``copywatch crawl``: crawl a marketplace (by name) or a shop URL into the database and queue."""

from __future__ import annotations

import argparse
import json
import sys

from copywatch.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("crawl", help="crawl a marketplace or URL into the database and queue")
    parser.add_argument("target", metavar="MARKETPLACE_OR_URL")
    parser.add_argument("--limit", type=int, help="stop after this many listings")
    parser.add_argument(
        "--distributed", action="store_true", help="share the crawl through Redis (scrapy-redis)"
    )
    parser.add_argument(
        "--allow-local",
        action="store_true",
        help="a URL's new marketplace is marked local: its shop may be on this machine or a private network",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from crawler.run import crawl

    try:
        summary = crawl(
            settings,
            args.target,
            limit=args.limit,
            distributed=args.distributed,
            allow_local=args.allow_local,
        )
    except LookupError as exc:
        print(f"copywatch crawl: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: v for k, v in summary.__dict__.items() if k != "stats"}))
    else:
        print(
            f"crawl #{summary.run_id} {summary.status}: {summary.pages} pages, {summary.listings} listings, "
            f"{summary.images_stored} new images, {summary.images_failed} failed images"
            + (f" — {summary.error}" if summary.error else "")
        )
        for line in failure_lines(summary.stats):
            print(f"  {line}")
    return 0 if summary.status == "finished" else 1


def failure_lines(stats: dict[str, object]) -> list[str]:
    """What failed and why, from a run's stats: images, products, fields, refusals, budgets."""
    groups = (
        ("copywatch/images/failed/", "failed images"),
        ("copywatch/products/failed/", "failed products"),
        ("copywatch/listings/failed/", "listings not stored"),
        ("copywatch/fields/", "fields fixed or dropped"),
        ("copywatch/refused/", "requests refused"),
    )
    lines = []
    for prefix, label in groups:
        found = {k[len(prefix) :]: v for k, v in stats.items() if k.startswith(prefix)}
        if found:
            lines.append(f"{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(found.items())))
    if stats.get("copywatch/budget/pages_reached"):
        lines.append(f"stopped at the page budget ({stats['copywatch/budget/pages_reached']} pages)")
    if stats.get("copywatch/traps/links_dropped"):
        lines.append(
            f"link trap guard dropped {stats['copywatch/traps/links_dropped']} links"
            f" (pattern {stats.get('copywatch/traps/pattern')})"
        )
    return lines
