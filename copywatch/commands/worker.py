"""``copywatch worker``: start a Celery scoring worker."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(subparsers, "worker", "start a Celery scoring worker", issue=6)
