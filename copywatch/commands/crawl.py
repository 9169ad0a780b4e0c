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
        help="mark the URL's marketplace local: its shop may be on this machine or a private network "
        "(implied when the URL itself names a loopback or private address, e.g. http://127.0.0.1:8000/)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from crawler.run import crawl

    allow_local = args.allow_local or typed_local_address(args.target)
    if allow_local and not args.allow_local:
        print(
            f"copywatch crawl: {args.target} names a local address; its marketplace is marked local "
            "(only its own host may be local: its pages still cannot lead the crawl to other local addresses)",
            file=sys.stderr,
        )
    try:
        summary = crawl(
            settings,
            args.target,
            limit=args.limit,
            distributed=args.distributed,
            allow_local=allow_local,
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


def typed_local_address(target: str) -> bool:
    """Whether the operator typed a URL whose host is itself local (``localhost``, a loopback or
    private IP): crawling it is the operator's explicit choice, not something a page asked for."""
    import ipaddress
    from urllib.parse import urlsplit

    from copywatch.addresses import non_public_kind

    try:
        host = urlsplit(target).hostname
    except ValueError:
        return False
    if not host or urlsplit(target).scheme not in {"http", "https"}:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return non_public_kind(ipaddress.ip_address(host.strip("[]"))) is not None
    except ValueError:
        return False  # a name: it is checked once resolved, like any other


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
