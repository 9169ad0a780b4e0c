"""``copywatch user``: manage reviewer accounts."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "user", "manage reviewer accounts", issue=7)
