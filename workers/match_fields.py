"""A match's fields as a detection row stores them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from detection.matcher import Match

log = logging.getLogger(__name__)


def original_id_of(match: Match) -> int | None:
    """The database id of the matched original; None (logged) for a catalog id that is not one."""
    try:
        return int(match.original_id)
    except ValueError:
        log.warning("catalog id %r is not a database original id; ignored", match.original_id)
        return None


def polygon(points: Sequence[Sequence[float]] | None) -> list[list[float]] | None:
    """A region's corners as plain floats (JSON), None when the match has no region."""
    return None if points is None else [[float(x), float(y)] for x, y in points]
