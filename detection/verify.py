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

import cv2
import numpy as np

from detection.features import resize_matrix, to_gray

THUMB_SIDE = 64  # px, longest side of the stored thumbnail
LEVELS_BITS = 4  # grey levels stored per pixel
BLOCK = 8  # px of thumbnail per block side
SMOOTH_SIGMA = 1.0  # px of thumbnail: Gaussian applied to both sides before comparing
MIN_OVERLAP = 0.6  # fraction of a block the query must cover for the block to count
MIN_ENERGY = 0.1  # a block with less than this fraction of the mean gradient energy is flat
# A block agrees when its doubled-angle correlation reaches this: with equal gradient magnitudes,
# cos(2·Δθ) ≥ 0.8 means edge directions within ~18°. Resampling, recompression and recolouring
# keep directions far closer; a re-drawn stroke does not.
AGREE = 0.8
MIN_BLOCKS = 4  # fewer textured blocks than this: no verdict (agreement 1, the inliers decide)


def make_thumbnail(image: np.ndarray) -> np.ndarray:
    """The original's stored thumbnail: grayscale, ``THUMB_SIDE`` px longest side, uint8."""
    gray = to_gray(image)
    height, width = gray.shape[:2]
    scale = THUMB_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    step = 256 >> LEVELS_BITS
    return (small // step * step + step // 2).astype(np.uint8)


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


def agreement(
    thumbnail: np.ndarray, query: np.ndarray, homography: np.ndarray, original_size: tuple[int, int]
) -> float:
    """Fraction of textured overlap blocks where the aligned query's structure matches the original.

    Args:
        thumbnail: the original's thumbnail (:func:`make_thumbnail`).
        query: the query image (BGR or grayscale, full size).
        homography: 3x3, original pixels -> query pixels (mirror folded in).
        original_size: (width, height) of the original in pixels.

    Returns:
        Agreement in [0, 1]; 1.0 when the overlap holds too few textured blocks to judge.
    """
    th, tw = thumbnail.shape[:2]
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
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        pre = np.linalg.inv(resize_matrix(size[0] / qw, size[1] / qh))
        query_to_thumb = query_to_thumb @ pre
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
    covered = (
        cv2.erode(
            covered,
            np.ones((reach, reach), np.uint8),
            borderType=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        > 0
    )
    a = _orientation_field(_smoothed(thumbnail))
    b = _orientation_field(warped)
    a[~covered] = 0
    b[~covered] = 0
    rows, cols = th // BLOCK, tw // BLOCK
    if rows == 0 or cols == 0:
        return 1.0
    crop = (slice(0, rows * BLOCK), slice(0, cols * BLOCK))

    def blocks(values: np.ndarray) -> np.ndarray:
        return values[crop].reshape(rows, BLOCK, cols, BLOCK).sum(axis=(1, 3))

    cross = blocks((a * np.conj(b)).real)
    energy_a = blocks(np.abs(a) ** 2)
    energy_b = blocks(np.abs(b) ** 2)
    cover = blocks(covered.astype(np.float32)) / (BLOCK * BLOCK)
    inside = cover >= MIN_OVERLAP
    if not inside.any():
        return 1.0
    # A block counts when either side has structure there (both directions: a stroke the copy
    # lost and a stroke the copy added both disagree); flat-in-both blocks carry no evidence.
    textured = inside & (
        (energy_a >= MIN_ENERGY * energy_a[inside].mean())
        | (energy_b >= MIN_ENERGY * energy_b[inside].mean())
    )
    if int(textured.sum()) < MIN_BLOCKS:
        return 1.0
    correlation = cross / np.maximum(np.sqrt(energy_a * energy_b), 1e-6)
    return float((correlation[textured] >= AGREE).mean())


STRIP_MIN_SIDE = 6  # px of thumbnail: a thinner strip carries too little to correlate
FLAT = 2.0  # grey-level standard deviation below which a strip is blank and proves nothing


def strip_similarity(
    thumbnail: np.ndarray, query: np.ndarray, strips: dict[tuple[int, int], np.ndarray | None] | None = None
) -> float:
    """How well ``query`` correlates with the original as a full-width or full-height strip of it.

    The seed's stolen images are full-width crops; under that hypothesis the only free parameter
    is the offset, so the query is scaled to the thumbnail's width (or height) and slid along it
    (normalised cross-correlation, both sides smoothed alike).

    Args:
        thumbnail: the original's thumbnail (:func:`make_thumbnail`).
        query: the query image (BGR or grayscale).
        strips: a cache of the query's smoothed strips by size, shared across thumbnails.

    Returns:
        The best correlation in [-1, 1]; -1 when neither hypothesis fits or the strip is blank.
    """
    th, tw = thumbnail.shape[:2]
    qh, qw = query.shape[:2]
    strips = {} if strips is None else strips
    reference: np.ndarray | None = None
    best = -1.0
    for size in ((tw, round(qh * tw / qw)), (round(qw * th / qh), th)):
        if not (STRIP_MIN_SIDE <= size[0] <= tw and STRIP_MIN_SIDE <= size[1] <= th):
            continue
        if size not in strips:
            strip = _smoothed(cv2.resize(to_gray(query), size, interpolation=cv2.INTER_AREA))
            strips[size] = strip if float(strip.std()) >= FLAT else None
        strip = strips[size]
        if strip is None:
            continue
        if reference is None:
            reference = _smoothed(thumbnail)
        scores = cv2.matchTemplate(reference, strip, cv2.TM_CCOEFF_NORMED)
        best = max(best, float(np.nan_to_num(scores, nan=-1.0).max()))
    return best
