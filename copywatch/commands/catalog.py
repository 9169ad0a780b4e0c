"""``copywatch catalog``: register a brand's originals and build the catalog index."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(
        subparsers, "catalog", "register a brand's originals and build the catalog index", issue=3
    )
