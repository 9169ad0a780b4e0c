"""``copywatch beat``: start the Celery beat scheduler (scheduled crawls, alerts)."""

from __future__ import annotations

import argparse

from copywatch.commands.pending import register_pending


def register(subparsers: argparse._SubParsersAction) -> None:
    register_pending(
        subparsers, "beat", "start the Celery beat scheduler (scheduled crawls, alerts)", issue=6
    )
