"""``copywatch crawl``: crawl a marketplace or URL into the database and queue."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "crawl", "crawl a marketplace or URL into the database and queue", issue=5)
