"""The seed's method end to end: find the logo in the product's band and measure it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from detection.logo.band import Extent, band_extent, colour_distance, foreground, logo_band, object_extent
from detection.logo.chaincode import prune_spurs, thin, trace
from detection.logo.edges import auto_thresholds, colour_strength, edge_mask, start_points
from detection.logo.fourier import complexity, perimeter
from detection.logo.position import classify_offset, edge_histogram, logo_span
from detection.logo.shape import classify_shape, shape_features

MIN_PRODUCT_WIDTH = 24


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
    shape_inputs: tuple[np.ndarray, np.ndarray, np.ndarray, float] = field(repr=False)
    # (logo mask, edges in the logo box, colour strength in it, the start threshold t_0)

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
    mask = foreground(colour)
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
    if span is None:
        return None
    x0, x1 = at_band.x0 + span[0], at_band.x0 + span[1]
    box = _logo_box(colour, mask, (x0, x1), band)
    if box is None:
        return None
    x0, y0, bw, bh = box
    x1, y1 = x0 + bw, y0 + bh
    logo_mask = _logo_mask(colour, mask, box, band)
    offset = ((x0 + x1) / 2.0 - at_band.centre_x) / at_band.width
    at_edge = x0 <= at_band.x0 + 1 or x1 >= at_band.x1 - 1
    confidence = float(min(1.0, span[2] * 1.25)) * (0.5 if at_edge else 1.0)
    return Located(
        box,
        at_band,
        band,
        float(offset),
        classify_offset(offset),
        confidence,
        (logo_mask, edges[y0:y1, x0:x1], strength[y0:y1, x0:x1], t_0),
    )


def _logo_box(
    image: np.ndarray, product: np.ndarray, span: tuple[int, int], band: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """The logo's box: ink (pixels unlike the product's colour) around the edge-histogram span."""
    band_height = band[1] - band[0]
    pad = max(4, (span[1] - span[0]) // 3)
    x0, x1 = max(0, span[0] - pad), min(image.shape[1], span[1] + pad)
    y0, y1 = max(0, band[0] - band_height // 2), min(image.shape[0], band[1] + band_height // 2)
    # Inside the product, away from its outline's anti-aliasing.
    inner = cv2.erode(product[y0:y1, x0:x1].astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    ink = _ink(image, product, (x0, y0, x1 - x0, y1 - y0), band) & inner
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    keep = []
    centre_lo, centre_hi = span[0] - x0, span[1] - x0
    for label in range(1, count):
        left, top, width, height, area = stats[label]
        if area < 6 or left + width < centre_lo or left > centre_hi:
            continue
        if top + height < band[0] - y0 or top > band[1] - y0:
            continue  # does not reach the band
        keep.append((left, top, left + width, top + height))
    if not keep:
        return None
    left = min(k[0] for k in keep) + x0
    top = min(k[1] for k in keep) + y0
    right = max(k[2] for k in keep) + x0
    bottom = max(k[3] for k in keep) + y0
    return left, top, right - left, bottom - top


def _ink(
    image: np.ndarray, product: np.ndarray, box: tuple[int, int, int, int], band: tuple[int, int]
) -> np.ndarray:
    x, y, w, h = box
    strip = image[band[0] : band[1]]
    strip_mask = product[band[0] : band[1]].copy()
    strip_mask[:, x : x + w] = False
    body = strip[strip_mask] if strip_mask.any() else image[product]
    reference = np.median(body.reshape(-1, 3), axis=0) if body.size else np.array([255.0, 255.0, 255.0])
    return colour_distance(np.ascontiguousarray(image[y : y + h, x : x + w]), reference) > 60


def _logo_mask(
    image: np.ndarray, product: np.ndarray, box: tuple[int, int, int, int], band: tuple[int, int]
) -> np.ndarray:
    """Pixels of the logo box that differ from the product's own colour at the band."""
    return _ink(image, product, box, band)
