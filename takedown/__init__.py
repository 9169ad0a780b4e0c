"""From a confirmed copy to a takedown: evidence captured at detection time (WARC + screenshot),
verifiable evidence bundles, takedown notices per marketplace template, and the crawler's re-check
of noticed listings. SQL lives in :mod:`db.evidence` and :mod:`db.notices`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def tool_version() -> str:
    """``copywatch/<version>``: written into every evidence row, WARC and bundle manifest."""
    try:
        return f"copywatch/{version('copywatch')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "copywatch/0+unknown"
