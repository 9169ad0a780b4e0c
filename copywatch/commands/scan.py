"""``copywatch scan``: score one image or a folder against the catalog."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "scan", "score one image or a folder against the catalog", issue=6)
