"""``copywatch marketplace``: register a marketplace and its crawl schedule."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "marketplace", "register a marketplace and its crawl schedule", issue=5)
