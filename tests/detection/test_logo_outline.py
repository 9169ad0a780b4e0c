"""The product's outline at the band and marks printed near it (the outermost positions)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.logo import check
from detection.logo.band import Extent, outline_edges
from detection.logo.locate import locate


def _product(logo_x: int, *, blur: float = 1.2) -> np.ndarray:
    """A 300 px wide dark product on a light sweep, a light square mark centred at ``logo_x``."""
    image = np.full((400, 400, 3), 235, np.uint8)
    cv2.rectangle(image, (50, 60), (349, 340), (90, 60, 40), -1)  # columns 50…349: 300 px
    cv2.rectangle(image, (logo_x - 12, 188), (logo_x + 12, 212), (230, 230, 240), -1)
    return cv2.GaussianBlur(image, (0, 0), blur)


@pytest.mark.parametrize("blur", [0.6, 1.2, 2.0])
def test_outline_edges_sit_at_the_product_border_whatever_the_blur(blur: float) -> None:
    image = _product(200, blur=blur).astype(np.float32)
    difference = np.abs(image - 235.0).sum(axis=2)
    left, right = outline_edges(difference, Extent(47, 150, 353, 250))  # a mask a few px too wide
    assert left == pytest.approx(50.0, abs=0.3) and right == pytest.approx(350.0, abs=0.3)


def test_a_mark_beside_the_outermost_boundary_keeps_its_position() -> None:
    # Offset −0.44 (LM): the mark 6 px from the product's left edge, no edge inside the outline.
    located = locate(_product(68))
    assert located is not None
    assert located.offset == pytest.approx(-0.44, abs=0.006)
    assert located.position == "LM"
    verdict = check(_product(68))
    assert verdict.verdict == "shifted" and verdict.position == "LM"
