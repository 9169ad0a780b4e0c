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
    """Aspect ratio, ink density, parts, hull vertices, solidity and Fourier complexity of a logo mask."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return {}
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    blob = mask.astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(blob, connectivity=8)
    parts = int(sum(1 for s in stats[1:] if s[cv2.CC_STAT_AREA] >= max(4, 0.002 * h * w)))
    points = np.column_stack([xs, ys]).astype(np.int32)
    hull = cv2.convexHull(points)
    hull_area = max(cv2.contourArea(hull), 1.0)
    approx = cv2.approxPolyDP(hull, 0.06 * cv2.arcLength(hull, True), True)
    return {
        "aspect": float(w / h),
        "ink": float(ys.size / float(h * w)),
        "solidity": float(ys.size / hull_area),
        "parts": float(parts),
        "vertices": float(len(approx)),
        "complexity": complexity(hull.reshape(-1, 2)),
    }


def classify_shape(features: dict[str, float]) -> str | None:
    if "aspect" not in features:
        return None
    aspect, solidity, vertices = features["aspect"], features["solidity"], features["vertices"]
    text_kind = "long_narrow_text" if aspect >= 3.2 else "rectangular_text"
    if aspect >= 3.2:
        return text_kind  # no triangle or square is that elongated, however blurred its letters
    if solidity < 0.8 or features["parts"] >= 3:
        return text_kind  # letters: many parts, lots of gaps inside the hull
    # A solid mark: a triangle fills about half its box, a square nearly all of it.
    if vertices <= 3 or features["ink"] < 0.72:
        return "triangular"
    if 0.7 <= aspect <= 1.4:
        return "square"
    return text_kind
