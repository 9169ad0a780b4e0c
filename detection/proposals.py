"""Where in a listing image another picture may have been pasted: rectangle proposals.

A product photo pasted small into a collage, a banner or another shop's template keeps its own
rectangular frame (its studio background against the host's colours). At the scale of the whole
listing it is too small for the originals' features to match, but cut out and looked at on its
own it is an ordinary copy. Proposals are axis-aligned, nearly filled four-sided outlines of 1-50 %
of the image, largest first.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_AREA_FRACTION = 0.01
MAX_AREA_FRACTION = 0.5
MIN_SIDE = 16  # pixels of the image given (the working frame)
MAX_VERTICES = 8  # the outline simplified at 2 % of its length: a rectangle gives 4-6
MIN_FILL = 0.85  # the outline's area over its bounding box's
# Canny hysteresis: low enough for a white studio photo pasted on a light-grey page (a step of
# about ten grey levels), high enough that JPEG noise on flat colour draws no frames.
EDGE_LOW, EDGE_HIGH = 12, 36


def pasted_rectangles(gray: np.ndarray, max_count: int = 3) -> list[tuple[int, int, int, int]]:
    """Up to ``max_count`` boxes ``(x, y, width, height)`` that look like pasted pictures, largest first.

    Args:
        gray: a grayscale image (the matcher passes its working-size copy: cheap, and the
            frame of a pasted picture survives downscaling).
        max_count: proposals kept at most.
    """
    height, width = gray.shape[:2]
    edges = cv2.dilate(cv2.Canny(gray, EDGE_LOW, EDGE_HIGH), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[tuple[int, int, int, int, int]] = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if min(w, h) < MIN_SIDE or not MIN_AREA_FRACTION <= w * h / (width * height) <= MAX_AREA_FRACTION:
            continue
        outline = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        if len(outline) > MAX_VERTICES or cv2.contourArea(outline) < MIN_FILL * w * h:
            continue
        boxes.append((w * h, x, y, w, h))
    boxes.sort(reverse=True)
    kept: list[tuple[int, int, int, int]] = []
    for _, x, y, w, h in boxes:
        # The dilated edge gives each frame an inner and an outer outline: keep one of them.
        if any(
            abs(x - kx) < 6 and abs(y - ky) < 6 and abs(w - kw) < 12 and abs(h - kh) < 12
            for kx, ky, kw, kh in kept
        ):
            continue
        kept.append((x, y, w, h))
        if len(kept) == max_count:
            break
    return kept
