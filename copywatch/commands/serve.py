"""``copywatch serve``: serve the review web page."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "serve", "serve the review web page", issue=7)
