"""The seed's method end to end: find the logo in the product's band and measure it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from detection.logo.band import (
    Extent,
    band_extent,
    foreground_difference,
    logo_band,
    object_extent,
    outline_edges,
    plane_distance,
)
from detection.logo.chaincode import prune_spurs, thin, trace
from detection.logo.edges import auto_thresholds, colour_strength, edge_mask, start_points
from detection.logo.fourier import complexity, perimeter
from detection.logo.position import classify_offset, edge_histogram, logo_span
from detection.logo.shape import classify_shape, shape_features

MIN_PRODUCT_WIDTH = 24

# The product's colour across the band: a plane's coefficients per channel and (width, height,
# noise) of the image (:func:`_product_colour`), fitted once per image.
ProductColour = tuple[np.ndarray, np.ndarray]


@dataclass
class Located:
    """Where the logo sits on the product, in the image's pixels.

    The position is measured at once; the shape (the seed's Table 2: region and contour
    features, the contours traced in Python) only when first asked for — most listing images
    are judged undetermined on position alone and never need it.
    """

    box: tuple[int, int, int, int]  # x, y, w, h
    extent: Extent  # the product at the band's height
    band: tuple[int, int]
    offset: float
    position: str
    confidence: float
    shape_sources: tuple[np.ndarray, ProductColour, np.ndarray, np.ndarray, float] = field(repr=False)
    # (the colour image, its product's colour, edges in the logo box, colour strength in it, t_0);
    # the image is the caller's, read when the shape is first asked for: leave it unchanged
    # until then (check() asks within the same call).

    @cached_property
    def shape_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(logo mask, edges in the logo box, colour strength in it, the start threshold t_0);
        the mask is drawn only when first asked for (most verdicts never measure the shape)."""
        image, product_colour, box_edges, box_strength, t_0 = self.shape_sources
        return _ink(image, product_colour, self.box), box_edges, box_strength, t_0

    @cached_property
    def features(self) -> dict[str, float]:
        """Region and contour features of the logo (:func:`shape_features`, :func:`contour_features`)."""
        logo_mask, box_edges, box_strength, t_0 = self.shape_inputs
        starts = [(x, y) for x, y in start_points(box_strength, t_0) if box_edges[y, x]]
        features = shape_features(logo_mask)
        features.update(contour_features(box_edges, starts))
        return features

    @cached_property
    def shape(self) -> str | None:
        """The logo's shape class (:func:`classify_shape`)."""
        return classify_shape(self.features)


def contour_features(
    edges: np.ndarray, t0_points: list[tuple[int, int]], max_traces: int = 12, max_attempts: int = 48
) -> dict[str, float]:
    """The seed's Table 2: among traced closed contours, the least complexity and greatest perimeter.

    At most ``max_traces`` closed contours are measured and at most ``max_attempts`` curves
    followed (open ones included): a busy photo's edges inside the logo box are mostly open
    fragments, and following hundreds of them in Python would cost more than the rest of the
    check without changing its answer on logo-like boxes.
    """
    skeleton = prune_spurs(thin(edges), length=3)
    seen = np.zeros_like(skeleton)
    complexities: list[float] = []
    perimeters: list[float] = []
    attempts = 0
    for x, y in t0_points:
        if len(complexities) >= max_traces or attempts >= max_attempts:
            break
        if not skeleton[y, x] or seen[y, x]:
            continue
        attempts += 1
        chain = trace(skeleton, (x, y), max_steps=4000)
        points = chain.points()
        seen[points[:, 1], points[:, 0]] = True
        if chain.closed and len(chain.codes) >= 8:
            complexities.append(complexity(points))
            perimeters.append(perimeter(chain))
    if not complexities:
        return {"closed_contours": 0.0}
    return {
        "closed_contours": float(len(complexities)),
        "least_complexity": float(min(complexities)),
        "greatest_perimeter": float(max(perimeters)),
    }


def locate(image: np.ndarray) -> Located | None:
    """Find the logo with the seed's method; None when there is no product or no logo to measure."""
    colour = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    mask, difference = foreground_difference(colour)
    extent = object_extent(mask)
    if extent is None or extent.height < 12:
        return None
    band = logo_band(extent)
    at_band = band_extent(mask, band)
    if at_band is None or at_band.width < MIN_PRODUCT_WIDTH:
        return None
    strength = colour_strength(colour)
    inside = cv2.erode(
        mask.astype(np.uint8), np.ones((7, 7), np.uint8), iterations=max(2, at_band.width // 60)
    )
    t_s, t_0 = auto_thresholds(strength[inside > 0])
    edges = edge_mask(strength, t_s) & (inside > 0)
    histogram = edge_histogram(edges, band, at_band.x0, at_band.x1)
    span = logo_span(histogram)
    # A mark near the product's edge has no edges inside the eroded outline: the ink decides.
    columns_hint = (at_band.x0 + span[0], at_band.x0 + span[1]) if span is not None else (0, 0)
    product_colour = _product_colour(colour, mask, band)
    found = _logo_box(colour, mask, columns_hint, band, product_colour)
    if found is None:
        return None
    box, ink_share = found
    x0, y0, bw, bh = box
    x1, y1 = x0 + bw, y0 + bh
    left, right = outline_edges(difference, at_band)
    offset = ((x0 + x1) / 2.0 - (left + right) / 2.0) / (right - left)
    at_edge = x0 <= at_band.x0 + 1 or x1 >= at_band.x1 - 1
    # The seed's confidence: the mark's share of the band's edges (a patterned product spreads
    # them, so no single mark dominates), taken over the columns of the mark actually chosen.
    columns = histogram[max(0, x0 - at_band.x0) : max(0, x1 - at_band.x0)]
    dominance = float(columns.sum() / max(histogram.sum(), 1e-9))
    if columns.sum() == 0:  # a mark at the edge, its edges outside the eroded product: its ink's share
        dominance = ink_share
    # A "mark" as tall as the band or half as wide as the product is more likely a pattern's
    # fragments joined together than a printed logo: measured, but not to be trusted alone.
    oversized = bh > 0.9 * (band[1] - band[0]) or bw > 0.5 * at_band.width
    confidence = float(min(1.0, dominance * 1.25)) * (0.5 if at_edge else 1.0) * (0.5 if oversized else 1.0)
    return Located(
        box,
        at_band,
        band,
        float(offset),
        classify_offset(offset),
        confidence,
        (colour, product_colour, edges[y0:y1, x0:x1], strength[y0:y1, x0:x1], t_0),
    )


def _logo_box(
    image: np.ndarray,
    product: np.ndarray,
    span: tuple[int, int],
    band: tuple[int, int],
    product_colour: ProductColour,
) -> tuple[tuple[int, int, int, int], float] | None:
    """The logo's box and its share of the band's ink.

    Ink (pixels unlike the product's colour, :func:`_ink`) across the product's width around the
    band falls into connected parts; parts near each other join into marks (letters set wide
    apart, a second line, a frame around them). The mark with the most ink whose centre lies in
    the band is the logo; the edge histogram's densest run (``span``) settles near-ties — the
    seed's histogram alone is fooled by a textured product's many small edges.
    """
    band_height = band[1] - band[0]
    y0, y1 = max(0, band[0] - band_height // 2), min(image.shape[0], band[1] + band_height // 2)
    columns = np.nonzero(product[y0:y1].any(axis=0))[0]
    if columns.size == 0:
        return None
    x0, x1 = int(columns.min()), int(columns.max()) + 1
    # Inside the product, away from its outline's anti-aliasing (eroded before cropping, so the
    # crop's own border is no outline).
    near = product[max(0, y0 - 3) : y1 + 3, max(0, x0 - 3) : x1 + 3].astype(np.uint8)
    eroded = cv2.erode(near, np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    oy, ox = y0 - max(0, y0 - 3), x0 - max(0, x0 - 3)
    inner = eroded[oy : oy + y1 - y0, ox : ox + x1 - x0]
    ink = _ink(image, product_colour, (x0, y0, x1 - x0, y1 - y0)) & inner
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    # Ink that touches the product's outline is its shading or a seam, not a printed mark.
    ring = (cv2.dilate((~eroded).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)[
        oy : oy + y1 - y0, ox : ox + x1 - x0
    ]
    # A mark printed close to the edge may touch it with a few pixels; shading runs along it.
    touching = np.bincount(labels[ring & inner], minlength=count)
    on_outline = touching > np.maximum(2, 0.15 * stats[:, cv2.CC_STAT_AREA])
    parts = [
        tuple(int(v) for v in stats[label])
        for label in range(1, count)
        if stats[label, cv2.CC_STAT_AREA] >= 6 and not on_outline[label]
    ]
    parts = sorted(parts, key=lambda p: -p[4])[:80]
    if not parts:
        return None
    marks = _join_near(parts)
    lo, hi = span[0] - x0, span[1] - x0
    band_lo, band_hi = band[0] - y0 - band_height * 0.1, band[1] - y0 + band_height * 0.1
    total = float(sum(m[4] for m in marks))
    best, best_score = None, 0.0
    for left, top, right, bottom, area in marks:
        if not band_lo <= (top + bottom) / 2 <= band_hi:
            continue
        score = area * (1.25 if right >= lo and left <= hi else 1.0)
        if score > best_score:
            best, best_score = (left, top, right, bottom, area), score
    if best is None:
        return None
    left, top, right, bottom, area = best
    return (left + x0, top + y0, right - left, bottom - top), area / max(total, 1.0)


def _join_near(parts: list[tuple[int, ...]]) -> list[tuple[int, int, int, int, int]]:
    """Join parts (x, y, w, h, area) lying within reach of each other into marks
    (left, top, right, bottom, ink area): within about a letter's height side by side, or most
    of one above or below — the spacing of letters, words and lines, or one inside another."""
    boxes = [[p[0], p[1], p[0] + p[2], p[1] + p[3], p[4]] for p in parts]
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            unit = max(a[3] - a[1], b[3] - b[1])
            small = min(a[3] - a[1], b[3] - b[1])
            if (
                unit > 4 * max(small, 1)
                and not (a[0] <= b[0] and a[2] >= b[2] and a[1] <= b[1] and a[3] >= b[3])
                and not (b[0] <= a[0] and b[2] >= a[2] and b[1] <= a[1] and b[3] >= a[3])
            ):
                continue  # a speck beside a large mark is not part of it, unless inside it
            gap_x = max(a[0] - b[2], b[0] - a[2], 0)
            gap_y = max(a[1] - b[3], b[1] - a[3], 0)
            if gap_x <= max(4.0, 1.1 * unit) and gap_y <= max(3.0, 0.7 * unit):
                parent[root(i)] = root(j)
    joined: dict[int, list[int]] = {}
    for i, b in enumerate(boxes):
        r = root(i)
        if r not in joined:
            joined[r] = list(b)
        else:
            m = joined[r]
            m[0], m[1], m[2], m[3] = min(m[0], b[0]), min(m[1], b[1]), max(m[2], b[2]), max(m[3], b[3])
            m[4] += b[4]
    return [tuple(m) for m in joined.values()]  # type: ignore[misc]


def _product_colour(image: np.ndarray, product: np.ndarray, band: tuple[int, int]) -> ProductColour:
    """The product's colour across the band as a plane per channel (light falls off across a
    product) fitted to its pixels there, the logo's left out as outliers: (coefficients, scale)."""
    rows = slice(band[0], band[1])
    ys, xs = np.nonzero(product[rows])
    if ys.size < 10:
        return np.zeros((3, 3)), np.ones(2)
    step = max(1, ys.size // 3000)
    ys, xs = ys[::step] + band[0], xs[::step]
    colours = image[ys, xs].astype(np.float64)
    h, w = image.shape[:2]
    design = np.column_stack([xs / w - 0.5, ys / h - 0.5, np.ones(xs.size)])
    keep = np.ones(xs.size, bool)
    coefficients = np.zeros((3, 3))
    for _ in range(3):
        coefficients, *_ = np.linalg.lstsq(design[keep], colours[keep], rcond=None)
        residual = np.abs(design @ coefficients - colours).sum(axis=1)
        keep = residual <= max(20.0, 2.5 * float(np.median(residual)))
    noise = float(np.percentile(residual[keep], 95)) if keep.any() else 0.0
    return coefficients, np.array([w, h, noise], np.float64)


def _ink(image: np.ndarray, product_colour: ProductColour, box: tuple[int, int, int, int]) -> np.ndarray:
    """Pixels of ``box`` that differ from the product's colour (:func:`_product_colour`) there."""
    x, y, w, h = box
    coefficients, (width, height, noise) = product_colour
    gx = (np.arange(x, x + w, dtype=np.float32) / width) - 0.5
    gy = (np.arange(y, y + h, dtype=np.float32) / height) - 0.5
    distance = plane_distance(image[y : y + h, x : x + w], gx, gy, coefficients.astype(np.float32))
    return distance > max(40.0, 3.0 * noise)
