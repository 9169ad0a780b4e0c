"""A placeholder for a sub-command whose issue has not landed yet."""

from __future__ import annotations

import argparse
import sys

from copywatch.settings import Settings


def register_pending(subparsers: argparse._SubParsersAction, name: str, help_text: str, issue: int) -> None:
    parser = subparsers.add_parser(name, help=f"{help_text} (not available yet: issue #{issue})")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace, settings: Settings) -> int:
        print(f"copywatch {name}: not available yet — it lands with issue #{issue}.", file=sys.stderr)
        return 3

    parser.set_defaults(handler=run)
