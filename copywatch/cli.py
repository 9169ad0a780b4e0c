"""The ``copywatch`` command line: one sub-command per module in :mod:`copywatch.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from copywatch.settings import Settings, SettingsError

# Each module registers its sub-command(s) with ``register(subparsers)`` and sets ``handler=run``
# where ``run(args, settings) -> int``. Order here is the order ``--help`` lists them.
COMMAND_MODULES = (
    "demo",
    "catalog",
    "marketplace",
    "crawl",
    "scan",
    "worker",
    "beat",
    "serve",
    "user",
    "report",
    "evidence",
    "notice",
    "train",
    "eval",
    "eval_logo",
    "bench",
    "db",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copywatch",
        description="Find stolen product photos and counterfeit logo placement on marketplaces.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"copywatch.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # FAISS's loader reports at INFO which SIMD build it tried, a ModuleNotFoundError
        # included when the wheel has no AVX2 variant: noise, not a problem.
        logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"copywatch: invalid setting: {exc}", file=sys.stderr)
        return 2
    if args.command != "db" and settings.database_url.startswith("sqlite"):
        from db.migrate import ensure_current

        settings.ensure_dirs()
        ensure_current(settings.database_url)
    return int(args.handler(args, settings) or 0)


if __name__ == "__main__":
    sys.exit(main())
