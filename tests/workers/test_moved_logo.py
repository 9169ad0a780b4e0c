"""A counterfeit whose photo match is weak but whose alignment finds the brand's logo moved."""

from __future__ import annotations

import cv2
import numpy as np

from copywatch.settings import Settings
from db.models import DetectionKind
from detection.logo import reference_from_original
from detection.matching.evidence import Match
from workers.scoring import detections_for


def _plain_product(logo_centre_x: int) -> np.ndarray:
    """A plain product (nothing for a matcher but its logo) with a text logo at ``logo_centre_x``."""
    image = np.full((480, 480, 3), 240, np.uint8)
    cv2.rectangle(image, (90, 80), (389, 420), (60, 90, 160), -1)
    (w, h), _ = cv2.getTextSize("NORDA", cv2.FONT_HERSHEY_DUPLEX, 1.0, 2)
    cv2.putText(image, "NORDA", (logo_centre_x - w // 2, 250 + h // 2), cv2.FONT_HERSHEY_DUPLEX, 1.0,
                (230, 230, 230), 2, cv2.LINE_AA)  # fmt: skip
    return image


def _logo_anchored(shift: float) -> list[list[float]]:
    """The homography a matcher finds from the logo alone: original → listing, moved by ``shift``."""
    return [[1.0, 0.0, shift], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_a_weak_match_that_finds_the_brand_logo_moved_is_a_counterfeit_of_that_original() -> None:
    original = _plain_product(240)
    reference = reference_from_original(original, (240 - 45, 235, 90, 30))
    listing = _plain_product(240 - 80)  # the counterfeiter prints it at LC
    settings = Settings.from_env({})
    match = Match("7", 0.01, {}, homography=_logo_anchored(-80.0))
    rows = detections_for(listing, [match], {7: reference.to_dict()}, settings)
    assert len(rows) == 1
    row = rows[0]
    assert row["original_id"] == 7 and row["kind"] == DetectionKind.COUNTERFEIT_LOGO
    assert row["logo_verdict"]["verdict"] == "shifted" and row["logo_verdict"]["position"] == "LC"
    assert row["score"] >= settings.alert_threshold


def test_the_genuine_product_with_a_weak_match_gets_no_row() -> None:
    original = _plain_product(240)
    reference = reference_from_original(original, (240 - 45, 235, 90, 30))
    settings = Settings.from_env({})
    match = Match("7", 0.01, {}, homography=_logo_anchored(0.0))
    assert detections_for(_plain_product(240), [match], {7: reference.to_dict()}, settings) == []
