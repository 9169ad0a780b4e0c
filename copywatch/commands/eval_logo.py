"""``copywatch eval-logo``: evaluate the logo-position check on a logo benchmark."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "eval-logo", "evaluate the logo-position check on a logo benchmark", issue=4)
