"""Where in a listing image another picture may have been pasted: rectangle proposals.

A product photo pasted small into a collage, a banner or another shop's template keeps its own
rectangular frame (its studio background against the host's colours). At the scale of the whole
listing it is too small for the originals' features to match, but cut out and looked at on its
own it is an ordinary copy. Proposals are axis-aligned, nearly filled four-sided outlines of 1-50 %
of the image, largest first; a picture pasted against the listing's edge has its frame closed by
that edge, and the frames nested inside a proposal (a pasted picture's own panels) are not
proposed again.
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
NESTED = 0.9  # a box with this share of its area inside a kept proposal is part of that picture


def pasted_rectangles(gray: np.ndarray, max_count: int = 3) -> list[tuple[int, int, int, int]]:
    """Up to ``max_count`` boxes ``(x, y, width, height)`` that look like pasted pictures, largest first.

    Args:
        gray: a grayscale image (the matcher passes its working-size copy: cheap, and the
            frame of a pasted picture survives downscaling).
        max_count: proposals kept at most.
    """
    height, width = gray.shape[:2]
    edges = cv2.dilate(cv2.Canny(gray, EDGE_LOW, EDGE_HIGH), np.ones((3, 3), np.uint8))
    # Canny finds no edge along the image's own border, so a picture pasted against it leaves an
    # open outline when its inside is plain (a studio shot): the border closes it. A busy picture
    # there is one blob of edges whose outline the border would swallow: it is found without.
    closed = edges.copy()
    closed[0, :] = closed[-1, :] = closed[:, 0] = closed[:, -1] = 255
    contours = [
        contour
        for edge_map in (edges, closed)
        for contour in cv2.findContours(edge_map, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[0]
    ]
    boxes: list[tuple[int, int, int, int, int]] = []
    for index, (x, y, w, h) in _sized_boxes(contours, width, height):
        contour = contours[index]
        outline = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        if len(outline) > MAX_VERTICES or cv2.contourArea(outline) < MIN_FILL * w * h:
            continue
        boxes.append((w * h, x, y, w, h))
    boxes.sort(reverse=True)
    kept: list[tuple[int, int, int, int, bool]] = []
    for _, x, y, w, h in boxes:
        # The dilated edge gives each frame an inner and an outer outline: keep one of them. And a
        # pasted picture's own panels are frames inside its frame — but a region the listing's
        # edge closes (a margin beside another product) may hold the pasted picture itself.
        box = (x, y, w, h)
        if any(
            _same_frame(box, (ox, oy, ow, oh))
            or (_inside_share(box, (ox, oy, ow, oh)) >= NESTED and not edge_closed)
            for ox, oy, ow, oh, edge_closed in kept
        ):
            continue
        kept.append((x, y, w, h, x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1))
        if len(kept) == max_count:
            break
    return [(x, y, w, h) for x, y, w, h, _ in kept]


def _sized_boxes(
    contours: list[np.ndarray], width: int, height: int
) -> list[tuple[int, tuple[int, int, int, int]]]:
    """(index, bounding box x, y, w, h) of the contours whose box is ``MIN_SIDE`` or more on each
    side and covers ``MIN_AREA_FRACTION`` to ``MAX_AREA_FRACTION`` of the image (all boxes at
    once: a busy photo has thousands of contours, one ``boundingRect`` call each cost more than
    the rest)."""
    if not contours:
        return []
    lengths = np.array(list(map(len, contours)), np.int64)
    points = np.concatenate(contours).reshape(-1, 2)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    low = np.minimum.reduceat(points, starts, axis=0).astype(np.int64)
    w, h = (np.maximum.reduceat(points, starts, axis=0).astype(np.int64) - low + 1).T
    area = (w * h) / (width * height)
    sized = (np.minimum(w, h) >= MIN_SIDE) & (area >= MIN_AREA_FRACTION) & (area <= MAX_AREA_FRACTION)
    kept = np.flatnonzero(sized)
    boxes = np.column_stack([low[kept], w[kept], h[kept]]).tolist()
    return [(i, (x, y, bw, bh)) for i, (x, y, bw, bh) in zip(kept.tolist(), boxes, strict=True)]


def _same_frame(box: tuple[int, int, int, int], other: tuple[int, int, int, int]) -> bool:
    """Whether two boxes are the inner and outer outline of one frame."""
    (x, y, w, h), (ox, oy, ow, oh) = box, other
    return abs(x - ox) < 6 and abs(y - oy) < 6 and abs(w - ow) < 12 and abs(h - oh) < 12


def _inside_share(box: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> float:
    """The share of ``box``'s area that lies inside ``outer`` (both ``(x, y, width, height)``)."""
    x, y, w, h = box
    ox, oy, ow, oh = outer
    overlap_w = max(0, min(x + w, ox + ow) - max(x, ox))
    overlap_h = max(0, min(y + h, oy + oh) - max(y, oy))
    return overlap_w * overlap_h / (w * h)
