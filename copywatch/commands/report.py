"""``copywatch report``: print a reporting view."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "report", "print a reporting view", issue=7)
