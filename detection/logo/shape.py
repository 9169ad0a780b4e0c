"""Step 6 of the seed: the trademark's shape class, by what the mark is rather than by thresholds.

Four classes: ``triangular`` and ``square`` emblems (filled or outlined, any aspect and
orientation, maybe holding a letter or symbol), ``long_narrow_text`` (letters on one line) and
``rectangular_text`` (letters in a block of two or more lines), in any typeface, bare or framed.

:func:`shape_features` measures the mark's mask with scale-free features — the seed's Fourier
complexity and Fourier descriptors of the outline, parts, aspect, fill, the hull's corners, and
the layout of the letters (text lines and letter gaps inside a frame, if any). A small neural
network (:mod:`.shape_model`, trained by ``copywatch bench train-logo-shape`` on marks drawn in
many typefaces by several generators) reads them; the seed's rules remain the fallback when no
trained model ships.
"""

from __future__ import annotations

import cv2
import numpy as np

from detection.logo.fourier import complexity

SHAPES = ("triangular", "long_narrow_text", "rectangular_text", "square")
_HARMONICS = (-4, -3, -2, 2, 3, 4, 5)


def _outline_descriptors(filled: np.ndarray) -> list[float]:
    """Fourier descriptor magnitudes |c(k)|/|c(1)| of the outer outline, resampled by arc length
    (invariant to position, scale, rotation and the start point)."""
    contours, _ = cv2.findContours(filled.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return [0.0] * len(_HARMONICS)
    points = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64)
    if len(points) < 8:
        return [0.0] * len(_HARMONICS)
    closed = np.vstack([points, points[:1]])
    steps = np.hypot(*np.diff(closed, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    where = np.linspace(0.0, arc[-1], 64, endpoint=False)
    z = np.interp(where, arc, closed[:, 0]) + 1j * np.interp(where, arc, closed[:, 1])
    c = np.fft.fft(z - z.mean()) / len(z)
    base = max(abs(c[1]), abs(c[-1]), 1e-9)
    return [float(abs(c[k]) / base) for k in _HARMONICS]


def _runs(profile: np.ndarray, min_gap: int) -> int:
    """Runs of non-empty entries separated by gaps of at least ``min_gap`` empty ones."""
    filled = profile > 0
    runs, gap, inside = 0, min_gap, False
    for value in filled:
        if value:
            if not inside and gap >= min_gap:
                runs += 1
            inside, gap = True, 0
        else:
            inside = False
            gap += 1
    return runs


def _row_groups(stats: np.ndarray, min_area: float) -> int:
    """Rows of letters: parts whose vertical centres lie within half a letter of each other."""
    parts = stats[stats[:, cv2.CC_STAT_AREA] >= min_area]
    if len(parts) == 0:
        return 0
    centres = np.sort(parts[:, cv2.CC_STAT_TOP] + parts[:, cv2.CC_STAT_HEIGHT] / 2.0)
    unit = float(np.median(parts[:, cv2.CC_STAT_HEIGHT]))
    return 1 + int((np.diff(centres) > 0.5 * unit).sum())


def _content(
    mask: np.ndarray, labels: np.ndarray, stats: np.ndarray, largest: int
) -> tuple[np.ndarray, float]:
    """The mark without its frame, and 1.0 if a frame was taken off: a thin part whose box is the
    whole mark's and which holds other parts."""
    h, w = mask.shape
    left, top, width, height, area = stats[largest]
    spans_all = width >= 0.9 * w and height >= 0.9 * h
    if spans_all and area < 0.45 * width * height and len(stats) > 2:
        inner = mask & (labels != largest)
        if inner.any():
            return inner, 1.0
    return mask, 0.0


def shape_features(mask: np.ndarray) -> dict[str, float]:
    """Scale-free features of a logo mask (bool, the logo's box); empty when there is no ink."""
    mask = mask.astype(bool)
    ys, xs = np.nonzero(mask)
    if ys.size < 6:
        return {}
    mask = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep_min = max(4, 0.002 * h * w)
    parts = int((areas >= keep_min).sum())
    largest = 1 + int(np.argmax(areas))
    ink = float(mask.sum())
    points = np.column_stack(np.nonzero(mask)[::-1]).astype(np.int32)
    hull = cv2.convexHull(points)
    hull_area = max(cv2.contourArea(hull), 1.0)
    perimeter = cv2.arcLength(hull, True)
    # The mark's silhouette: its outer outline filled, holes and counters included.
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    filled = (padded | (1 - flood)).astype(bool)[1:-1, 1:-1]
    lw, lh = stats[largest, cv2.CC_STAT_WIDTH], stats[largest, cv2.CC_STAT_HEIGHT]
    content, framed = _content(mask, labels, stats, largest)
    cys, cxs = np.nonzero(content)
    ch, cw = cys.max() - cys.min() + 1, cxs.max() - cxs.min() + 1
    box = content[cys.min() : cys.max() + 1, cxs.min() : cxs.max() + 1]
    c_count, _, c_stats, _ = cv2.connectedComponentsWithStats(box.astype(np.uint8), connectivity=8)
    c_parts = int((c_stats[1:, cv2.CC_STAT_AREA] >= max(3, 0.004 * ch * cw)).sum()) if c_count > 1 else 0
    c_heights = c_stats[1:, cv2.CC_STAT_HEIGHT][c_stats[1:, cv2.CC_STAT_AREA] >= max(3, 0.004 * ch * cw)]
    unit = float(np.median(c_heights)) if c_heights.size else float(ch)
    row_groups = _row_groups(c_stats[1:], max(3, 0.004 * ch * cw))
    lines = _runs(box.sum(axis=1), max(1, int(round(0.08 * ch))))
    gaps = _runs(box.sum(axis=0), max(1, int(round(0.03 * ch))))
    rows = box.sum(axis=1).astype(np.float64)
    smooth = np.convolve(rows, np.ones(max(1, ch // 20)) / max(1, ch // 20), mode="same")
    middle = smooth[int(ch * 0.2) : max(int(ch * 0.8), int(ch * 0.2) + 1)]
    valley = float(middle.min() / max(np.percentile(smooth[smooth > 0], 75), 1e-9)) if middle.size else 1.0
    holes = filled & ~mask
    h_count, _, h_stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=4)
    largest_hole = (
        float(h_stats[1:, cv2.CC_STAT_AREA].max()) / max(float(filled.sum()), 1.0) if h_count > 1 else 0.0
    )
    features = {
        "valley": min(valley, 1.5),
        "largest_hole": largest_hole,
        "holes": float(np.log1p(h_count - 1)),
        "aspect": float(np.log(w / h)),
        "ink": ink / (h * w),
        "solidity": ink / hull_area,
        "parts": float(np.log1p(parts)),
        "largest_share": float(areas.max() / max(ink, 1.0)),
        "largest_box": float(lw * lh) / (w * h),
        "fill": float(filled.sum()) / (w * h),
        "fill_solidity": float(filled.sum()) / hull_area,
        "hull_box": hull_area / (w * h),
        "vertices_fine": float(min(len(cv2.approxPolyDP(hull, 0.02 * perimeter, True)), 10)),
        "vertices": float(min(len(cv2.approxPolyDP(hull, 0.06 * perimeter, True)), 10)),
        "complexity": complexity(hull.reshape(-1, 2)),
        "framed": framed,
        "content_aspect": float(np.log(cw / ch)),
        "content_parts": float(np.log1p(c_parts)),
        "lines": float(min(lines, 4)),
        "row_groups": float(min(row_groups, 4)),
        "line_height": unit / ch,
        "letter_columns": float(np.log1p(gaps)),
        "letters_per_height": float(np.log1p(c_parts * unit / max(cw, 1))),
    }
    for k, value in zip(_HARMONICS, _outline_descriptors(filled), strict=True):
        features[f"fd{k}"] = value
    return features


def classify_by_rules(features: dict[str, float]) -> str | None:
    """The seed's thresholds (aspect 3.2, three parts, ink 0.72): the fallback without a model."""
    if "aspect" not in features:
        return None
    aspect, solidity, vertices = float(np.exp(features["aspect"])), features["solidity"], features["vertices"]
    parts = float(np.expm1(features["parts"]))
    text_kind = "long_narrow_text" if aspect >= 3.2 else "rectangular_text"
    if aspect >= 3.2:
        return text_kind
    if solidity < 0.8 or parts >= 3:
        return text_kind
    if vertices <= 3 or features["ink"] < 0.72:
        return "triangular"
    if 0.7 <= aspect <= 1.4:
        return "square"
    return text_kind


def classify_shape(features: dict[str, float]) -> str | None:
    """The shape class of a mark from :func:`shape_features` (and the contour features, if any)."""
    if "aspect" not in features:
        return None
    from detection.logo.shape_model import default_model

    model = default_model()
    if model is None:
        return classify_by_rules(features)
    found = model.predict(features)
    # Letters in two separate rows with empty space between them are a block of text, whatever
    # the block's proportions: the layout decides between the two text classes.
    two_rows = features.get("row_groups", 1.0) >= 2 and features.get("valley", 1.0) < 0.05
    if found == "long_narrow_text" and two_rows:
        return "rectangular_text"
    return found
