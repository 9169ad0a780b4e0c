"""Copy or variant: where does an aligned listing image show something other than the original?

A matched listing either copies the original (perhaps recoloured, recompressed, with text laid
over it) or shows a *variant* of the drawing: the same artwork with a local part drawn
differently — another letter on the same dreidel, an arrow added to a box, a globe half in
shadow. :func:`compare` tells them apart after the matcher has aligned the two:

1. The listing is warped onto the original at ``WORK_SIDE`` px; both are smoothed alike.
2. A *global* colour change (hue, saturation, grayscale, brightness) is explained away: of no
   change and affine colour maps fitted over the matched area, the one explaining the most.
3. What the recoloured original still does not explain, tolerating a pixel of misalignment,
   is the difference; its connected regions above ``MIN_REGION`` of the matched area are the
   places the listing differs.
4. A region is an *overlay* — added content that occludes, which a seller lays over a copy —
   when it is a band across the matched area (a banner, a URL strip); a plate, a flat fill of
   a colour the original does not have around it carrying lettering (a sticker); see-through,
   the original showing through a uniform blend towards one tint (a watermark's lettering,
   found over the whole listing first, however tiled); or beside another overlay. A bounded
   region that is none of these is drawn in the artwork's own way — an outlined part, a
   letter, a shaded area — the listing is a variant, and the largest such region is where.
   Differences over more than ``MAX_SHARE`` of the matched area are not local (a wholesale
   re-drawing, which the structure check weighs): no variant region.

The comparison costs about as much as one structure check, and runs on matched pairs only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detection.features import resize_matrix

WORK_SIDE = 256  # px, longest side of the original's frame the comparison runs in
SMOOTH_SIGMA = 0.5  # px at WORK_SIDE, both sides, before comparing
MIN_DIFFERENCE = 40.0  # grey levels outside the recoloured original (worst channel)
NOISE_FACTOR = 4.0  # ... or this many times the median residual of the matched area, if more
MIN_REGION = 0.002  # share of the matched area a differing region must cover to count
MAX_SHARE = 0.35  # differing more than this in all: not a local change
BAND_SPAN = 0.9  # a region spanning this much of the matched area's width or height is a band
FLAT_SHARE = 0.45  # share of a region's pixels in one colour that makes it a flat fill
FLAT_TOLERANCE = 24.0  # colour distance within which pixels are that one colour
FLAT_AROUND = 0.25  # ... a fill is the surroundings' own colour when this share of the ring has it
BLEND_RANGE = (0.15, 0.85)  # opacity of a semi-transparent overlay
SEE_THROUGH = 0.7  # share of a region's pixels a see-through overlay explains
WATERMARKED = 0.5  # share of the differing pixels a watermark explains: the listing has one
THICK = 0.2  # share of a region's differing pixels in solid parts, under which it is strokes
BLEND_FIT = 0.5  # share of the differing pixels a watermark's blend must explain
LETTERING = 0.03  # marks surrounded by a plate's fill, over its area: its lettering
MIN_COVER = 0.15  # matched area under this share of the original's frame: no verdict


@dataclass(frozen=True)
class Difference:
    """What :func:`compare` found.

    Attributes:
        label: ``"variant"`` (a local part drawn differently) or ``"copy"``.
        region_original, region_query: the variant region's bounding box (x0, y0, x1, y1) in the
            original's and in the listing's pixels (None for a copy).
        share: the region's share of the matched area (0 for a copy).
        overlays: how many differing regions were judged overlays.
    """

    label: str
    region_original: tuple[float, float, float, float] | None = None
    region_query: tuple[float, float, float, float] | None = None
    share: float = 0.0
    overlays: int = 0

    @property
    def is_variant(self) -> bool:
        return self.label == "variant"


COPY = Difference("copy")


@dataclass(frozen=True)
class Prepared:
    """An original as :func:`compare` uses it (worth keeping between listings)."""

    reference: np.ndarray  # BGR uint8 at the working size, smoothed
    size: tuple[int, int]  # (width, height) of the original's pixels the alignments map from


def prepare(original: np.ndarray, original_size: tuple[int, int]) -> Prepared:
    """``original`` (BGR, any resolution: a reduced decode is enough) at the working size, for an
    original of ``original_size`` (width, height) pixels."""
    width, height = original_size
    scale = WORK_SIDE / max(width, height)
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return Prepared(working(original, size), (int(width), int(height)))


def compare(
    original: np.ndarray | Prepared,
    original_size: tuple[int, int],
    query: np.ndarray,
    homography: np.ndarray | list[list[float]],
) -> Difference:
    """Whether ``query`` shows a variant of ``original`` under the alignment ``homography``.

    Args:
        original: the original (BGR, any resolution: a reduced decode is enough), or prepared.
        original_size: (width, height) of the original in the pixels ``homography`` maps from.
        query: the listing image (BGR or grayscale).
        homography: 3x3, original pixels -> listing pixels (the mirror folded in).

    Returns:
        The :class:`Difference`; ``COPY`` when the matched area is too small to judge.
    """
    matrix = np.asarray(homography, np.float64)
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-12:
        raise ValueError("homography must be an invertible 3x3 matrix")
    prepared = original if isinstance(original, Prepared) else prepare(original, original_size)
    width, height = prepared.size
    reference = prepared.reference
    size = (reference.shape[1], reference.shape[0])
    to_work = resize_matrix(size[0] / width, size[1] / height) @ np.linalg.inv(matrix)
    warped, covered = _warp(_colour(query), to_work, size)
    area = float(np.count_nonzero(covered))
    if area < MIN_COVER * size[0] * size[1]:
        return COPY
    predicted = _recoloured(reference, warped, covered)
    residual = _residual(warped, predicted)
    noise = float(np.median(residual[::4, ::4][covered[::4, ::4] > 0]))
    threshold = max(MIN_DIFFERENCE, NOISE_FACTOR * noise)
    differs = cv2.bitwise_and((residual > threshold).astype(np.uint8), covered)
    watermark = _lettering_blended(differs, warped, predicted)
    # Most of the difference a watermark's lettering: thin strokes it left are lettering too.
    watermarked = np.count_nonzero(watermark) >= WATERMARKED * np.count_nonzero(differs)
    differs = cv2.subtract(differs, watermark)
    thick = cv2.morphologyEx(differs, cv2.MORPH_OPEN, _SHADED) > 0
    mask = cv2.morphologyEx(differs, cv2.MORPH_CLOSE, _CLOSE)
    mask = cv2.bitwise_and(mask, covered)
    if np.count_nonzero(mask) > MAX_SHARE * area:
        return COPY
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x, y, w, h = cv2.boundingRect(covered)
    bounds = (x, y, w, h)
    overlays, best = 0, None
    overlaid = np.zeros(mask.shape, bool)  # regions judged overlays so far (largest first)
    for index in np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1:
        if stats[index, cv2.CC_STAT_AREA] < MIN_REGION * area:
            break
        region = labels == index
        if (
            (
                watermarked
                and np.count_nonzero(region & thick) < THICK * np.count_nonzero(region & (differs > 0))
            )
            or np.any(overlaid[cv2.dilate(region.astype(np.uint8), _CLOSE) > 0])  # beside an overlay
            or _overlay(region, stats[index], bounds, warped, predicted, differs)
        ):
            overlays += 1
            overlaid |= region
        elif best is None:
            best = index
    if best is None:
        return Difference("copy", overlays=overlays)
    x, y, w, h = (int(v) for v in stats[best, :4])
    box = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64) - 0.5
    in_original = box / np.array([size[0] / width, size[1] / height])
    in_query = cv2.perspectiveTransform(in_original.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    qh, qw = query.shape[:2]
    return Difference(
        "variant",
        _box(in_original, width, height),
        _box(in_query, qw, qh),
        float(stats[best, cv2.CC_STAT_AREA] / area),
        overlays,
    )


_CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))


def working(original: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The original at the comparison's ``size`` (width, height): BGR uint8, smoothed."""
    small = cv2.resize(_colour(original), size, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (0, 0), SMOOTH_SIGMA) if SMOOTH_SIGMA > 0 else small


def _colour(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def _warp(query: np.ndarray, to_work: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The listing in the original's working frame (smoothed alike), and where it covers it."""
    shrink = float(np.sqrt(abs(np.linalg.det(to_work[:2, :2]))))
    if shrink < 0.9:  # pre-shrink with an area filter, so the warp does not alias
        qh, qw = query.shape[:2]
        reduced = (max(1, round(qw * shrink)), max(1, round(qh * shrink)))
        query = cv2.resize(query, reduced, interpolation=cv2.INTER_AREA)
        to_work = to_work @ np.linalg.inv(resize_matrix(reduced[0] / qw, reduced[1] / qh))
    warped = cv2.warpPerspective(
        query, to_work, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    if SMOOTH_SIGMA > 0:
        warped = cv2.GaussianBlur(warped, (0, 0), SMOOTH_SIGMA)
    inside = cv2.warpPerspective(
        np.full(query.shape[:2], 255, np.uint8), to_work, size, flags=cv2.INTER_NEAREST, borderValue=0
    )
    covered = cv2.erode(inside, _EDGE, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return warped, (covered > 0).astype(np.uint8)


_EDGE = np.ones((5, 5), np.uint8)
FIT_TOLERANCE = 20.0  # grey levels: a pixel a colour map explains
SAMPLES = 2048  # pixels the colour map is fitted to


def _recoloured(reference: np.ndarray, warped: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The original as the listing's global colour change would show it: of no change and
    affine colour maps fitted over the matched area (each refitted to what the best so far
    explains), the one that explains the most of it — an overlay or a recoloured part does
    not drag the map of the rest."""
    step = max(1, int(np.sqrt(np.count_nonzero(covered) / SAMPLES)))
    sampled = covered[::step, ::step] > 0
    source = reference[::step, ::step][sampled].astype(np.float32)
    target = warped[::step, ::step][sampled].astype(np.float32)
    design = np.hstack([source, np.ones((len(source), 1), np.float32)])
    identity = np.vstack([np.eye(3), np.zeros((1, 3))]).astype(np.float32)

    def explained(coefficients: np.ndarray) -> np.ndarray:
        return np.abs(design @ coefficients - target).max(axis=1) <= FIT_TOLERANCE

    best, best_mask = identity, explained(identity)
    candidate = np.linalg.lstsq(design, target, rcond=None)[0]
    for _ in range(3):
        mask = explained(candidate)
        if mask.sum() > best_mask.sum():
            best, best_mask = candidate, mask
        if best_mask.sum() < 4:
            break
        candidate = np.linalg.lstsq(design[best_mask], target[best_mask], rcond=None)[0]
    return cv2.transform(reference, best.T.astype(np.float32))


def _residual(warped: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Per pixel, how far the listing falls outside the range the recoloured original spans
    one pixel around (alignment is good to about a pixel at this size), worst channel."""
    high = cv2.dilate(predicted, _AROUND)
    low = cv2.erode(predicted, _AROUND)
    outside = cv2.max(cv2.subtract(warped, high), cv2.subtract(low, warped))
    b, g, r = cv2.split(outside)
    return cv2.max(cv2.max(b, g), r)


_AROUND = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def _overlay(
    region: np.ndarray,
    stats: np.ndarray,
    bounds: tuple[int, int, int, int],
    warped: np.ndarray,
    predicted: np.ndarray,
    differs: np.ndarray,
) -> bool:
    """Whether a differing region is added content that occludes (see the module's docstring)."""
    x, y, w, h = (int(v) for v in stats[:4])
    if w >= BAND_SPAN * bounds[2] or h >= BAND_SPAN * bounds[3]:
        return True  # a band across
    pixels = region & (differs > 0)
    if pixels.sum() < 8:
        return False
    shown = warped[pixels]
    return _flat_fill(shown, region, warped, predicted) or _see_through(shown, predicted[pixels])


def _flat_fill(shown: np.ndarray, region: np.ndarray, warped: np.ndarray, predicted: np.ndarray) -> bool:
    """A plate: much of the region in one colour that the original around it does not have,
    with something else (lettering) enclosed in it."""
    quantised = (shown // 16).astype(np.int64) @ np.array([256, 16, 1])
    mode = np.bincount(quantised).argmax()
    fill = shown[quantised == mode].mean(axis=0)
    if float(np.mean(np.linalg.norm(shown - fill, axis=1) <= FLAT_TOLERANCE)) < FLAT_SHARE:
        return False
    ring = cv2.dilate(region.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & ~region
    if ring.any():
        around = np.linalg.norm(predicted[ring] - fill, axis=1) <= FLAT_TOLERANCE
        if float(around.mean()) >= FLAT_AROUND:
            return False  # the surroundings' own colour: something drawn was taken away
    # A plate carries lettering: marks of another colour lying on its fill — with fill to their
    # left and right, above and below (white on a white background counts: the original there
    # need not differ). A drawn part (an arrow) is filled inside, its outline around the fill.
    plate = ((np.linalg.norm(warped - fill, axis=2) <= FLAT_TOLERANCE) & region).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(plate, connectivity=8)
    if count < 2:
        return False
    body = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    surrounded = np.ones_like(body)
    for axis in (0, 1):
        surrounded &= np.logical_or.accumulate(body, axis=axis)
        surrounded &= np.flip(np.logical_or.accumulate(np.flip(body, axis), axis=axis), axis)
    marks = surrounded & ~body & (np.linalg.norm(warped - fill, axis=2) > 2 * FLAT_TOLERANCE)
    return bool(np.count_nonzero(marks) >= LETTERING * np.count_nonzero(body))


def _see_through(shown: np.ndarray, under: np.ndarray) -> bool:
    """Whether the original shows through the region: ``shown = s under + offset`` with one
    slope ``s`` = 1 - opacity, the opacity in ``BLEND_RANGE``, explaining ``SEE_THROUGH`` of its
    pixels (semi-transparent lettering; an opaque drawing hides what is under it)."""
    design = np.column_stack([under.ravel(), np.tile(np.eye(3, dtype=np.float32), (len(under), 1))])
    coefficients = np.linalg.lstsq(design, shown.ravel(), rcond=None)[0]
    if not BLEND_RANGE[0] <= 1.0 - float(coefficients[0]) <= BLEND_RANGE[1]:
        return False
    error = np.abs(design @ coefficients - shown.ravel()).reshape(-1, 3).max(axis=1)
    return float(np.mean(error <= FLAT_TOLERANCE)) >= SEE_THROUGH


def _lettering_blended(differs: np.ndarray, warped: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The differing pixels a semi-transparent overlay explains where they form thin strokes (a
    watermark's lettering, however tiled). Each such pixel lies between what the original shows
    there and one tint: ``shown = (1 - a) under + a tint``, its own opacity ``a`` in
    ``BLEND_RANGE`` (lettering's edges are antialiased), the tint fitted over every differing
    pixel. A solid area shaded alike is a re-shading, and stays; an opaque stroke (``a`` near
    1) is drawn, and stays."""
    none = np.zeros_like(differs)
    ys, xs = np.nonzero(differs)
    if len(ys) < 16:
        return none
    under, shown = predicted[ys, xs].astype(np.float64), warped[ys, xs].astype(np.float64)
    step = shown - under
    keep = np.ones(len(ys), bool)
    for _ in range(2):  # (shown - under) x (tint - under) = 0, in least squares; then without outliers
        d, u = step[keep], under[keep]
        cross = np.zeros((len(d), 3, 3))
        cross[:, 0, 1], cross[:, 0, 2], cross[:, 1, 2] = -d[:, 2], d[:, 1], -d[:, 0]
        cross -= cross.transpose(0, 2, 1)
        tint = np.linalg.lstsq(cross.reshape(-1, 3), np.cross(d, u).ravel(), rcond=None)[0]
        towards = tint - under
        opacity = np.einsum("ij,ij->i", step, towards) / np.maximum(
            np.einsum("ij,ij->i", towards, towards), 1.0
        )
        error = np.abs(step - opacity[:, None] * towards).max(axis=1)
        keep = error <= FLAT_TOLERANCE
        if keep.sum() < 8:
            return none
    explained = keep & (opacity >= BLEND_RANGE[0]) & (opacity <= BLEND_RANGE[1])
    if explained.mean() < BLEND_FIT:
        return none
    blended = none.copy()
    blended[ys[explained], xs[explained]] = 1
    solid = cv2.morphologyEx(blended, cv2.MORPH_OPEN, _SHADED)
    return cv2.subtract(blended, cv2.dilate(solid, _AROUND))


_SHADED = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))  # an area shaded, not lettering


def _box(points: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    """The bounding box (x0, y0, x1, y1) of ``points``, clipped to a ``width`` x ``height`` frame."""
    x0, y0 = np.clip(points.min(axis=0), 0, [width, height])
    x1, y1 = np.clip(points.max(axis=0), 0, [width, height])
    return round(float(x0), 1), round(float(y0), 1), round(float(x1), 1), round(float(y1), 1)
