"""``copywatch db``: database migrations (wraps Alembic)."""

from __future__ import annotations

import argparse

from copywatch.settings import Settings
from db import migrate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="migrate the database (Alembic)")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="upgrade to a revision (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    down = actions.add_parser("downgrade", help="downgrade to a revision (e.g. -1 or base)")
    down.add_argument("revision")
    actions.add_parser("current", help="print the current revision")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    settings.ensure_dirs()
    if args.db_action == "upgrade":
        migrate.upgrade(settings.database_url, args.revision)
    elif args.db_action == "downgrade":
        migrate.downgrade(settings.database_url, args.revision)
    print(migrate.current(settings.database_url) or "(empty)")
    return 0
