"""``copywatch eval``: evaluate matching methods on a benchmark."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "eval", "evaluate matching methods on a benchmark", issue=3)
