"""``copywatch train``: train the seed's Siamese network."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "train", "train the seed's Siamese network", issue=3)
