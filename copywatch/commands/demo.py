"""``copywatch demo``: run the whole mission on a bundled demo marketplace."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "demo", "run the whole mission on a bundled demo marketplace", issue=8)
