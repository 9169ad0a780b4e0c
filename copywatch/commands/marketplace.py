"""``copywatch marketplace``: register marketplaces and their crawl schedules."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlparse

from copywatch.settings import Settings
from db.engine import make_engine, session_factory
from db.marketplaces import list_marketplaces, set_marketplace_setting, upsert_marketplace


def _cron(text: str) -> str:
    if len(text.split()) != 5:
        raise argparse.ArgumentTypeError(f"--schedule takes a 5-field cron expression, got {text!r}")
    return text


def _region(text: str) -> str:
    import phonenumbers

    region = text.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise argparse.ArgumentTypeError(f"--region takes a country code such as GB, DE or US, got {text!r}")
    return region


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("marketplace", help="register a marketplace and its crawl schedule")
    actions = parser.add_subparsers(dest="marketplace_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add or update a marketplace")
    add.add_argument("name")
    add.add_argument("urls", nargs="+", metavar="URL", help="start URL(s)")
    add.add_argument("--schedule", type=_cron, help='cron expression, e.g. "0 */6 * * *"')
    add.add_argument("--spider", default="product")
    add.add_argument("--disabled", action="store_true")
    add.add_argument(
        "--region",
        type=_region,
        help="ISO 3166 country code for phone numbers written without a country code (e.g. GB, DE, US)",
    )
    add.add_argument(
        "--local",
        action="store_true",
        help="the shop is on this machine or a private network (its own hosts may have local addresses)",
    )
    add.add_argument(
        "--port", type=int, action="append", default=[], help="another port the crawl may fetch (repeatable)"
    )
    actions.add_parser("list", help="list marketplaces")
    parser.set_defaults(handler=run)


def _site_settings(args: argparse.Namespace) -> dict[str, object]:
    """The crawl's fetch policy flags of a marketplace (see docs/crawler.md, Safety)."""
    site: dict[str, object] = {}
    if getattr(args, "local", False):
        site["local"] = True
    if getattr(args, "port", None):
        site["ports"] = sorted(set(args.port))
    return site


def run(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session, session.begin():
            if args.marketplace_action == "add":
                bad = [u for u in args.urls if urlparse(u).scheme not in {"http", "https"}]
                if bad:
                    print(f"copywatch marketplace: not an http(s) URL: {bad[0]}", file=sys.stderr)
                    return 2
                marketplace_id = upsert_marketplace(
                    session,
                    args.name,
                    args.urls,
                    spider=args.spider,
                    schedule=args.schedule,
                    enabled=not args.disabled,
                    settings=_site_settings(args),
                )
                if args.region:
                    set_marketplace_setting(session, marketplace_id, "region", args.region)
                print(
                    f"marketplace #{marketplace_id} {args.name}: {', '.join(args.urls)} schedule={args.schedule or 'manual'}"
                )
            else:
                for m in list_marketplaces(session):
                    state = "enabled" if m.enabled else "disabled"
                    print(
                        f"{m.id:>4}  {m.name:<24} {state:<8} {m.schedule or 'manual':<16} {' '.join(m.start_urls)}"
                    )
    finally:
        engine.dispose()
    return 0
