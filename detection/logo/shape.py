"""Step 6 of the seed: the trademark's shape class.

Text marks break into many small components (letters); a long narrow text is at least ~3.2
times as wide as tall. A single mark is triangular when its outline reduces to three vertices
or fills about half its box, square when its box is square and well filled.
"""

from __future__ import annotations

import cv2
import numpy as np

from detection.logo.fourier import complexity

SHAPES = ("triangular", "long_narrow_text", "rectangular_text", "square")


def shape_features(mask: np.ndarray) -> dict[str, float]:
    """Aspect ratio, fill ratio, component and vertex counts and Fourier complexity of a logo mask."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return {}
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    blob = mask.astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(blob, connectivity=8)
    parts = int(sum(1 for s in stats[1:] if s[cv2.CC_STAT_AREA] >= max(4, 0.002 * h * w)))
    hull_mask = cv2.dilate(blob, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(hull_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    largest = max(contours, key=cv2.contourArea)
    approx = cv2.approxPolyDP(largest, 0.05 * cv2.arcLength(largest, True), True)
    filled = cv2.contourArea(largest) / float(h * w)
    return {
        "aspect": float(w / h),
        "fill": float(filled),
        "parts": float(parts),
        "vertices": float(len(approx)),
        "complexity": complexity(largest.reshape(-1, 2)),
    }


def classify_shape(features: dict[str, float]) -> str | None:
    if not features:
        return None
    aspect, fill, parts, vertices = (
        features["aspect"],
        features["fill"],
        features["parts"],
        features["vertices"],
    )
    if parts >= 3:
        return "long_narrow_text" if aspect >= 3.2 else "rectangular_text"
    if vertices == 3 or fill < 0.62:
        return "triangular"
    if 0.75 <= aspect <= 1.33:
        return "square"
    return "long_narrow_text" if aspect >= 3.2 else "rectangular_text"
