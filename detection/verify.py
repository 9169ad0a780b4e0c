"""Structural verification of a geometric match: do the aligned images show the same drawing?

Feature inliers say that many local patches line up; they cannot tell a copy from a *re-drawn
variant* of the same clip-art (another moon phase, a box with an added arrow), which shares most
keypoints. After alignment, though, a variant disagrees over much of its area while a copy with a
text banner, a sticker or a colour change disagrees only locally. So the overlap is cut into
blocks and each textured block votes: do the gradient orientations of the original and the query
correlate there? The agreement is the fraction of agreeing blocks — a local overlay removes a few
blocks, a re-drawing removes many.

The original is kept as a tiny grayscale thumbnail in the catalog (``THUMB_SIDE`` px longest side,
4-bit levels packed two to a byte), so the check needs no access to the original image files.
Orientation is compared as the doubled angle (structure-tensor form), which ignores contrast sign:
a colour change that turns a dark-on-light edge into light-on-dark still agrees.
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np

from detection.features import resize_matrix, to_gray

THUMB_SIDE = 64  # px, longest side of the stored thumbnail
LEVELS_BITS = 4  # grey levels stored per pixel
STRETCH_FROM_PERCENTILE = 1.0  # the thumbnail's contrast is stretched from this percentile up
STRETCH_BELOW_RANGE = 128  # ... when it spans fewer grey levels than this (a faint drawing)
BLOCK = 8  # px of thumbnail per block side
SMOOTH_SIGMA = 1.0  # px of thumbnail: Gaussian applied to both sides before comparing
MIN_OVERLAP = 0.6  # fraction of a block the query must cover for the block to count
MIN_ENERGY = 0.1  # a block with less than this fraction of the mean gradient energy is flat
# A block agrees when its doubled-angle correlation reaches this: with equal gradient magnitudes,
# cos(2·Δθ) ≥ 0.8 means edge directions within ~18°. Resampling, recompression and recolouring
# keep directions far closer; a re-drawn stroke does not.
AGREE = 0.8
MIN_BLOCKS = 4  # fewer textured blocks than this: no verdict (agreement 1, the inliers decide)
# An overlay (:func:`overlaid_blocks`): the listing's edge energy, relative to its typical drawn
# block, at least this many times the original's there (about twice the contrast) ...
OVERLAY_ENERGY = 4.0
OVERLAY_MAX_ADDED = 0.25  # ... over at most this share of the overlap's blocks;
OVERLAY_STRONG = 1.0  # a hidden block holds the listing's mean edge energy (marks) or none (fill);
OVERLAY_MAX_HIDDEN = 0.4  # it may hide at most this share of the drawn blocks,
OVERLAY_REST_AGREES = 0.9  # and the drawn blocks it leaves must agree at least this much.


def make_thumbnail(image: np.ndarray) -> np.ndarray:
    """The original's stored thumbnail: grayscale, ``THUMB_SIDE`` px longest side, uint8, 4-bit
    levels; a faint one contrast-stretched first.

    A faint drawing (thin light-grey lines on white: a map, a glass) spans a few grey levels;
    quantised as it is, its strokes fall inside one 16-level step and vanish or turn into blocky
    steps, and a plain crop of it disagreed with its own original (agreement 0.3). Stretched
    from its darkest percentile to its brightest pixel, its strokes keep their shape. Only a
    thumbnail spanning fewer than ``STRETCH_BELOW_RANGE`` levels is stretched: stretching every
    one also sharpened the faint detail of full-contrast look-alikes (a T-shirt of the same cut
    in another print rose from agreement 0.97 to 1.0 and over the alert threshold). The
    comparison needs no record of the stretch: per-block orientation correlation ignores
    contrast, and the textured-block test is relative to the image's mean energy.
    """
    gray = to_gray(image)
    height, width = gray.shape[:2]
    scale = THUMB_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    low, high = float(np.percentile(small, STRETCH_FROM_PERCENTILE)), float(small.max())
    if 1.0 <= high - low < STRETCH_BELOW_RANGE:
        small = np.clip((small - low) * (255.0 / (high - low)), 0, 255)
    step = 256 >> LEVELS_BITS
    return (small.astype(np.uint8) // step * step + step // 2).astype(np.uint8)


def pack(thumbnail: np.ndarray) -> np.ndarray:
    """Pack a thumbnail's 4-bit levels two to a byte (flat uint8, ceil(h*w/2) bytes)."""
    levels = (thumbnail.ravel() >> (8 - LEVELS_BITS)).astype(np.uint8)
    if levels.size % 2:
        levels = np.append(levels, np.uint8(0))
    return (levels[0::2] << 4 | levels[1::2]).astype(np.uint8)


def unpack(packed: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inverse of :func:`pack` for a ``width`` x ``height`` thumbnail."""
    levels = np.empty(packed.size * 2, np.uint8)
    levels[0::2] = packed >> 4
    levels[1::2] = packed & 0x0F
    step = 256 >> LEVELS_BITS
    return (levels[: width * height] * step + step // 2).reshape(height, width).astype(np.uint8)


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the thumbnail of a ``width`` x ``height`` original."""
    scale = THUMB_SIDE / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _smoothed(gray: np.ndarray) -> np.ndarray:
    """``gray`` as float32 under the Gaussian both sides of every comparison get."""
    return cv2.GaussianBlur(gray.astype(np.float32), (0, 0), SMOOTH_SIGMA)


def _orientation_field(gray: np.ndarray) -> np.ndarray:
    """Doubled-angle gradient field (complex), magnitude-weighted."""
    gray = gray.astype(np.float32)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    # (gx + i gy)^2 / |g|: the doubled angle, with the gradient's own magnitude
    magnitude = np.sqrt(gx * gx + gy * gy) + 1e-6
    return ((gx * gx - gy * gy) + 1j * (2 * gx * gy)) / magnitude


class Reference:
    """An original's thumbnail and what every comparison derives from it — its smoothed copy
    and orientation field — each computed once however many queries it is compared with."""

    def __init__(self, thumbnail: np.ndarray) -> None:
        self.thumbnail = thumbnail

    @cached_property
    def smoothed(self) -> np.ndarray:
        return _smoothed(self.thumbnail)

    @cached_property
    def field(self) -> np.ndarray:
        return _orientation_field(self.smoothed)


def _reference(thumbnail: np.ndarray | Reference) -> Reference:
    return thumbnail if isinstance(thumbnail, Reference) else Reference(thumbnail)


class AreaPyramid:
    """Area-averaged reductions of one grayscale image, drawn from cached exact halvings.

    An area resize by a non-integer factor walks every source pixel for every output pixel it
    touches; from a half or a quarter of the image (exact halvings are nearly free) the same
    reduction costs a fraction of that. Several candidates are compared with one query, so the
    halvings are shared between them.
    """

    def __init__(self, gray: np.ndarray) -> None:
        self.levels = [gray]

    def reduced(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The image area-resized to ``size`` (width, height), and the 3x3 map of its pixel
        coordinates from the full image's."""
        width, height = size
        level = 0
        while True:
            image = self.levels[level]
            h, w = image.shape[:2]
            if w // 2 < width or h // 2 < height:
                break
            if level + 1 == len(self.levels):
                # Even sides halve exactly (each pixel the mean of a 2x2 block); an odd last
                # row or column is dropped, which moves no pixel centre.
                half = cv2.resize(
                    image[: h - h % 2, : w - w % 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA
                )
                self.levels.append(half)
            level += 1
        to_level = resize_matrix(0.5**level)
        if (w, h) == (width, height):
            return image, to_level
        reduced = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        return reduced, resize_matrix(width / w, height / h) @ to_level


def agreement(
    thumbnail: np.ndarray | Reference,
    query: np.ndarray,
    homography: np.ndarray,
    original_size: tuple[int, int],
    pyramid: AreaPyramid | None = None,
) -> float:
    """Fraction of textured overlap blocks where the aligned query's structure matches the
    original (:func:`agreements`' first value)."""
    return agreements(thumbnail, query, homography, original_size, pyramid)[0]


def agreements(
    thumbnail: np.ndarray | Reference,
    query: np.ndarray,
    homography: np.ndarray,
    original_size: tuple[int, int],
    pyramid: AreaPyramid | None = None,
) -> tuple[float, float]:
    """Fraction of textured overlap blocks where the aligned query's structure matches the
    original, counted two ways: over the blocks where either side is drawn (a stroke the copy
    lost or added disagrees), and over the blocks where the original is drawn (structure a
    listing adds over the original's blank background — a sticker, a banner's lettering — is
    not held against it; the two-sided value when the original has too few drawn blocks).

    Args:
        thumbnail: the original's thumbnail (:func:`make_thumbnail`), or its :class:`Reference`.
        query: the query image (BGR or grayscale, full size).
        homography: 3x3, original pixels -> query pixels (mirror folded in).
        original_size: (width, height) of the original in pixels.
        pyramid: an :class:`AreaPyramid` of ``query``'s grayscale to draw its reduction from
            (share one between the candidates compared with a query).

    Returns:
        Both agreements in [0, 1]; 1.0 when the overlap holds too few textured blocks to judge.
    """
    reference = _reference(thumbnail)
    th, tw = reference.thumbnail.shape[:2]
    to_thumb = resize_matrix(tw / original_size[0], th / original_size[1])
    # query pixels -> thumbnail pixels
    query_to_thumb = to_thumb @ np.linalg.inv(np.asarray(homography, np.float64))
    linear = query_to_thumb[:2, :2]
    shrink = float(np.sqrt(abs(np.linalg.det(linear))))
    gray = to_gray(query)
    # Pre-shrink the query to about the thumbnail's resolution (area filter), then warp the rest.
    if shrink < 0.9:
        qh, qw = gray.shape[:2]
        size = (max(1, round(qw * shrink)), max(1, round(qh * shrink)))
        gray, to_reduced = (pyramid or AreaPyramid(gray)).reduced(size)
        query_to_thumb = query_to_thumb @ np.linalg.inv(to_reduced)
    # Both sides are smoothed alike at about the thumbnail's resolution, so sub-pixel alignment
    # error and resampling aliasing do not decorrelate fine texture; edges are replicated, not
    # blackened, so the smoothing invents no edge along the overlap's border.
    gray = _smoothed(gray)
    warped = cv2.warpPerspective(
        gray, query_to_thumb, (tw, th), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    covered = cv2.warpPerspective(
        np.full(gray.shape[:2], 255, np.uint8),
        query_to_thumb,
        (tw, th),
        flags=cv2.INTER_NEAREST,
        borderValue=0,
    )
    # Keep only pixels whose smoothed Sobel neighbourhood lies inside both the query and the
    # original's frame: a frame, fill colour or collage next to the copy must not count.
    reach = 2 * int(np.ceil(2 * SMOOTH_SIGMA)) + 3
    inside = (
        cv2.erode(
            covered,
            np.ones((reach, reach), np.uint8),
            borderType=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        > 0
    )
    a = reference.field.copy()
    b = _orientation_field(warped)
    a[~inside] = 0
    b[~inside] = 0
    rows, cols = th // BLOCK, tw // BLOCK
    if rows == 0 or cols == 0:
        return 1.0, 1.0
    crop = (slice(0, rows * BLOCK), slice(0, cols * BLOCK))

    def blocks(values: np.ndarray) -> np.ndarray:
        return values[crop].reshape(rows, BLOCK, cols, BLOCK).sum(axis=(1, 3))

    cross = blocks((a * np.conj(b)).real)
    energy_a = blocks(np.abs(a) ** 2)
    energy_b = blocks(np.abs(b) ** 2)
    colocated = blocks(np.abs(a) * np.abs(b))
    cover = blocks(inside.astype(np.float32)) / (BLOCK * BLOCK)
    inside = cover >= MIN_OVERLAP
    if not inside.any():
        return 1.0, 1.0
    # A block counts when either side has structure there (both directions: a stroke the copy
    # lost and a stroke the copy added both disagree); flat-in-both blocks carry no evidence.
    drawn = inside & (energy_a >= MIN_ENERGY * energy_a[inside].mean())
    textured = drawn | (inside & (energy_b >= MIN_ENERGY * energy_b[inside].mean()))
    if int(textured.sum()) < MIN_BLOCKS:
        return 1.0, 1.0
    agrees = cross / np.maximum(np.sqrt(energy_a * energy_b), 1e-6) >= AGREE
    both = float(agrees[textured].mean())
    if int(drawn.sum()) < MIN_BLOCKS:
        return both, both
    # Where the original is drawn, a block agrees when the copy's edges there run the same way,
    # whichever of them are strong: the correlation above also asks the edges' strengths to
    # match, and a recolouring (or a photo's grey levels, quantised in the thumbnail) changes
    # which edges are strong without moving any. A stroke the copy lost or redrew still
    # disagrees: what the copy has there runs another way.
    same_way = cross / np.maximum(colocated, 1e-6) >= AGREE
    overlaid = overlaid_blocks(energy_a, energy_b, inside, drawn, same_way)
    return both, float(same_way[drawn & ~overlaid].mean())


def overlaid_blocks(
    energy_a: np.ndarray,
    energy_b: np.ndarray,
    inside: np.ndarray,
    drawn: np.ndarray,
    same_way: np.ndarray,
) -> np.ndarray:
    """The original's drawn blocks that an overlay laid over the copy hides (a price sticker, a
    banner, a badge), to leave out of the drawn agreement; none unless every other drawn block
    agrees.

    An overlay is structure the listing adds, far stronger than the original's there (lettering,
    a plate's outline, relative to each image's own edge strength), over a compact part of the
    overlap. A drawn block that disagrees where the listing adds such structure or beside it,
    and shows the overlay's marks (edges at least as strong as the listing's average block) or
    its flat fill (no edges), is hidden, not drawn otherwise. A redrawn variant (another
    letter, a closed lid) disagrees inside the drawing with structure of the drawing's own
    strength, or, redrawn bolder (a caption in darker ink), adds structure only where the
    original is drawn, while an overlay reaches past the drawing: this leaves both counted; an unrelated image adds structure everywhere (more
    than ``OVERLAY_MAX_ADDED`` of the overlap) or disagrees outside any overlay, so it keeps
    its disagreement too (a look-alike aligned by its outline: its other drawn blocks disagree).
    """
    none = np.zeros_like(drawn)
    disagree = drawn & ~same_way
    if not disagree.any():
        return none
    # The listing's energy over the original's, relative to their typical ratio over the drawn
    # blocks (a copy's contrast may differ throughout).
    ratio = energy_b / np.maximum(energy_a, 1e-6)
    typical = float(np.median(ratio[drawn]))
    if typical <= 0:
        return none
    mean_b = float(energy_b[inside].mean())
    added = inside & (energy_b >= MIN_ENERGY * mean_b) & (ratio >= OVERLAY_ENERGY * typical)
    if not added.any() or added.sum() > OVERLAY_MAX_ADDED * inside.sum():
        return none
    if not (added & ~drawn).any():
        # Added only where the original is drawn: the drawing redrawn bolder (a caption in
        # darker ink, other words), not something laid over it, which reaches past the drawing.
        return none
    near = cv2.dilate(added.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    # Hidden under the overlay's own high-contrast marks (lettering, the plate's outline: the
    # listing's edges there at least as strong as in its average block) or under its flat fill
    # (the listing blank there); a block with edges of the drawing's own strength is not hidden.
    marked = energy_b >= OVERLAY_STRONG * mean_b
    filled = energy_b < MIN_ENERGY * mean_b
    hidden = disagree & near & (marked | filled)
    kept = drawn & ~hidden
    if (
        hidden.sum() > OVERLAY_MAX_HIDDEN * drawn.sum()
        or kept.sum() < MIN_BLOCKS
        or float(same_way[kept].mean()) < OVERLAY_REST_AGREES
    ):
        return none
    return hidden


STRIP_MIN_SIDE = 6  # px of thumbnail: a thinner strip carries too little to correlate
FLAT = 2.0  # grey-level standard deviation below which a strip is blank and proves nothing


def strip_similarity(
    thumbnail: np.ndarray | Reference,
    query: np.ndarray,
    strips: dict[tuple[int, int], np.ndarray | None] | None = None,
    pyramid: AreaPyramid | None = None,
) -> float:
    """How well ``query`` correlates with the original as a full-width or full-height strip of it.

    The seed's stolen images are full-width crops; under that hypothesis the only free parameter
    is the offset, so the query is scaled to the thumbnail's width (or height) and slid along it
    (normalised cross-correlation, both sides smoothed alike).

    Args:
        thumbnail: the original's thumbnail (:func:`make_thumbnail`), or its :class:`Reference`.
        query: the query image (BGR or grayscale).
        strips: a cache of the query's smoothed strips by size, shared across thumbnails.
        pyramid: an :class:`AreaPyramid` of ``query``'s grayscale to draw the strips from.

    Returns:
        The best correlation in [-1, 1]; -1 when neither hypothesis fits or the strip is blank.
    """
    reference = _reference(thumbnail)
    th, tw = reference.thumbnail.shape[:2]
    qh, qw = query.shape[:2]
    strips = {} if strips is None else strips
    best = -1.0
    for size in ((tw, round(qh * tw / qw)), (round(qw * th / qh), th)):
        if not (STRIP_MIN_SIDE <= size[0] <= tw and STRIP_MIN_SIDE <= size[1] <= th):
            continue
        if size not in strips:
            pyramid = pyramid or AreaPyramid(to_gray(query))
            smoothed = _smoothed(pyramid.reduced(size)[0])
            strips[size] = smoothed if float(smoothed.std()) >= FLAT else None
        strip = strips[size]
        if strip is None:
            continue
        scores = cv2.matchTemplate(reference.smoothed, strip, cv2.TM_CCOEFF_NORMED)
        best = max(best, float(scores.max()))  # max() keeps ``best`` over a NaN
    return best
