"""Counterfeits the photo match alone misses: the brand's registered logo found moved on a
weakly matched listing (docs/logo.md, "The brand's own logo")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from copywatch.settings import Settings
from db.models import DetectionKind
from detection.logo import LogoReference
from detection.logo import check as check_logo
from detection.matcher import Match
from workers.match_fields import original_id_of, polygon

# Weak matches whose original has a registered logo, checked for that logo printed elsewhere.
LOGO_CANDIDATES = 3


def moved_brand_logo(
    image: np.ndarray,
    matches: Sequence[Match],
    logo_references: dict[int, dict[str, Any] | None],
    settings: Settings,
    min_confidence: float,
) -> list[dict[str, Any]]:
    """A counterfeit of an original that the photo match alone does not establish: the
    counterfeiter's own photo of a plain product shares little but the logo with the original,
    so the match scores low, yet its alignment finds the brand's registered logo — printed at
    another place on the product. The first of the best-ranked candidates whose logo check says
    ``shifted`` with at least ``min_confidence`` (the logo's correlation) gives one
    row, scored by that confidence; "missing" or "another mark" on a weak match proves nothing."""
    for match in [m for m in matches[:LOGO_CANDIDATES] if m.homography]:
        original_id = original_id_of(match)
        reference = logo_references.get(original_id) if original_id is not None else None
        if not reference:
            continue
        homography = np.asarray(match.homography, dtype=np.float64)
        verdict = check_logo(image, LogoReference.from_dict(reference), homography)
        confidence = float(verdict.confidence)
        if verdict.verdict != "shifted" or confidence < max(min_confidence, settings.review_threshold):
            continue
        components: dict[str, Any] = {"match_score": float(match.score), "logo_confidence": confidence}
        return [
            {
                "original_id": original_id,
                "score": min(confidence, 1.0),
                "components": components,
                "region_query": polygon(match.region_query),
                "region_original": polygon(match.region_original),
                "logo_verdict": verdict.to_dict(),
                "kind": DetectionKind.COUNTERFEIT_LOGO,
            }
        ]
    return []
