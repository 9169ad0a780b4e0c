"""Local features: ORB keypoints and binary descriptors on a size-normalised grayscale image.

ORB is rotation invariant and multi-scale, works on intensity *comparisons* (so brightness,
contrast and JPEG changes barely move it) and costs 32 bytes a descriptor, which keeps the
index under 10 KB per original.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import faiss
import numpy as np

# Images are brought to this longest side before extraction: small thumbnails are upscaled so
# they still yield keypoints, huge photos are downscaled so the cost is bounded.
WORKING_SIDE = 480
ORIGINAL_FEATURES = 213  # x (32 B code + 8 B index id + 4 B point) ≈ 9.3 KB an original, + thumbnail
QUERY_FEATURES = 400
# Low on purpose: white-on-white and glassy products have faint corners; ORB still keeps the
# strongest (Harris) ones, so textured images lose nothing.
FAST_THRESHOLD = 5


@dataclass(frozen=True)
class Features:
    """Keypoints (x, y in the *input image's* pixels) and their ORB descriptors."""

    points: np.ndarray  # float32 (n, 2)
    descriptors: np.ndarray  # uint8 (n, 32)
    width: int
    height: int

    def __len__(self) -> int:
        return len(self.points)


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def working_scale(width: int, height: int, side: int = WORKING_SIDE) -> float:
    """The scale :func:`normalised` applies to a ``width`` x ``height`` image (1.0 when it is
    within a thousandth of ``side`` already)."""
    scale = side / max(height, width)
    return 1.0 if abs(scale - 1.0) < 1e-3 else scale


def normalised(gray: np.ndarray, side: int = WORKING_SIDE) -> tuple[np.ndarray, float]:
    """``gray`` brought to ``side`` px on its longest side, and the scale applied."""
    height, width = gray.shape[:2]
    scale = working_scale(width, height, side)
    if scale == 1.0:
        return gray, 1.0
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(gray, size, interpolation=interpolation), scale


def to_resized(points: np.ndarray, scale: float) -> np.ndarray:
    """Pixel coordinates after resizing by ``scale`` (pixel centres: pixel i sits at i, so the
    image edge at -0.5 stays at the edge — plain multiplication would shift by half a pixel)."""
    return (points + 0.5) * scale - 0.5


def from_resized(points: np.ndarray, scale: float) -> np.ndarray:
    """Inverse of :func:`to_resized`."""
    return (points + 0.5) / scale - 0.5


def resize_matrix(scale_x: float, scale_y: float | None = None) -> np.ndarray:
    """3x3 map of :func:`to_resized` (pixel coordinates before → after a resize)."""
    sy = scale_x if scale_y is None else scale_y
    return np.array([[scale_x, 0.0, 0.5 * scale_x - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


# A keypoint whose descriptor has REPEAT_TWINS or more near-duplicates (Hamming distance below
# REPEAT_RADIUS of 256 bits) elsewhere in the same image belongs to a repeated pattern — a tiled
# watermark's letters, a fabric print — and says little about which original the image shows
# ("burstiness", Jégou et al. 2009).
REPEAT_RADIUS = 48
REPEAT_TWINS = 3

GRID = 4  # keypoints are spread over a GRID x GRID layout so every part of an image is indexed


def spread_keypoints(
    keypoints: Sequence[cv2.KeyPoint], width: int, height: int, count: int, grid: int = GRID
) -> np.ndarray:
    """Indices of ``count`` keypoints to keep, at most an equal share per cell of a ``grid`` x
    ``grid`` layout (strongest first), then the strongest of the rest: a crop of any part of the
    image still finds indexed features."""
    if len(keypoints) <= count:
        return np.arange(len(keypoints))
    strength = np.array([kp.response for kp in keypoints], np.float32)
    points = keypoint_positions(keypoints)
    order = np.argsort(-strength, kind="stable")
    cx = np.minimum(grid - 1, (points[order, 0] * grid / width).astype(np.int64))
    cy = np.minimum(grid - 1, (points[order, 1] * grid / height).astype(np.int64))
    cells = cy * grid + cx
    # Rank of each keypoint among the stronger ones of its own cell.
    by_cell = np.argsort(cells, kind="stable")
    sorted_cells = cells[by_cell]
    starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    position = np.arange(len(cells))
    rank = np.empty(len(cells), np.int64)
    rank[by_cell] = position - starts[np.searchsorted(starts, position, side="right") - 1]
    quota = max(1, count // (grid * grid))
    within = rank < quota
    chosen, rest = order[within], order[~within]
    return np.concatenate([chosen, rest[: max(0, count - len(chosen))]])


def keypoint_positions(keypoints: Sequence[cv2.KeyPoint]) -> np.ndarray:
    """(n, 2) float32 positions of ``keypoints`` (read in one call: ``kp.pt`` one at a time cost
    about a microsecond each)."""
    if not keypoints:
        return np.zeros((0, 2), np.float32)
    return np.asarray(cv2.KeyPoint.convert(keypoints), np.float32).reshape(-1, 2)


def by_level(keypoints: Sequence[cv2.KeyPoint], chosen: np.ndarray) -> np.ndarray:
    """``chosen`` in pyramid-level order, as ORB's ``compute`` returns keypoints (the matcher's
    RANSAC samples in this order, so results do not depend on how the descriptors were made)."""
    octaves = np.array([keypoints[i].octave for i in chosen.tolist()], np.int64)
    return chosen[np.argsort(octaves, kind="stable")]


@dataclass(frozen=True)
class Detected:
    """ORB keypoints found on an image's working-size grayscale, before description.

    Kept so the mirrored view of the same image needs no second detection: FAST corners and
    Harris responses are mirror-symmetric, so the mirror's keypoints are these, reflected. The
    whole pool is described along with the detection (one image pyramid for both, cheaper than
    describing the spread selection afterwards).
    """

    work: np.ndarray  # grayscale at the working size
    scale: float  # working size / input pixels
    keypoints: tuple[cv2.KeyPoint, ...]  # the spread selection that gets described
    width: int  # input pixels
    height: int
    pool: tuple[cv2.KeyPoint, ...] = ()  # every keypoint ORB found, before the spread
    pool_descriptors: np.ndarray | None = None  # (len(pool), 32), the pool's descriptors
    chosen: np.ndarray | None = None  # indices of ``keypoints`` within ``pool``

    def mirrored(self) -> Detected:
        """The same detection on the horizontally flipped image (x reflected, angle 180° - a);
        the mirror is only described, so it carries no pool."""
        last = self.work.shape[1] - 1
        keypoints = tuple(
            cv2.KeyPoint(last - x, y, kp.size, (180.0 - kp.angle) % 360.0, kp.response, kp.octave)
            for kp, (x, y) in zip(self.keypoints, keypoint_positions(self.keypoints).tolist(), strict=True)
        )
        return Detected(cv2.flip(self.work, 1), self.scale, keypoints, self.width, self.height)


def repeated(descriptors: np.ndarray, octaves: np.ndarray | None = None) -> np.ndarray:
    """Which of one image's descriptors are part of a repeated pattern: each has at least
    ``REPEAT_TWINS`` others closer than ``REPEAT_RADIUS`` bits.

    Args:
        descriptors: (n, 32) ORB descriptors of one image.
        octaves: their keypoints' pyramid levels; given, a descriptor is compared only with those
            of its own level and the two beside it (a pattern repeats at one size, so its copies
            are found at one level, or the next where a corner's strength tips it over) — about
            half the comparisons of all pairs.
    """
    count = len(descriptors)
    if count == 0:
        return np.zeros(0, bool)
    descriptors = np.ascontiguousarray(descriptors)
    if octaves is None:
        return _twins(descriptors, descriptors) >= REPEAT_TWINS + 1  # the descriptor finds itself
    octaves = np.asarray(octaves)
    found = np.zeros(count, bool)
    for level in np.unique(octaves):
        rows = np.flatnonzero(octaves == level)
        near = np.flatnonzero(np.abs(octaves - level) <= 1)
        found[rows] = _twins(descriptors[rows], descriptors[near]) >= REPEAT_TWINS + 1
    return found


def _twins(queries: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """How many of ``codes`` lie within ``REPEAT_RADIUS`` bits of each of ``queries``."""
    index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    index.add(np.ascontiguousarray(codes))
    limits, _, _ = index.range_search(np.ascontiguousarray(queries), REPEAT_RADIUS)
    return np.diff(limits)


class FeatureExtractor:
    """ORB extraction with fixed parameters; one instance per thread (OpenCV objects are not shared).

    Args:
        n_features: keypoints kept, spread over a ``grid`` x ``grid`` layout.
        side: the working frame's longest side.
        pool: keypoints ORB detects to choose them from (default three times ``n_features``).
        grid: the spread's layout.
        distinctive: leave out keypoints of repeated patterns (:func:`repeated`) before spreading.
    """

    def __init__(
        self,
        n_features: int,
        side: int = WORKING_SIDE,
        *,
        pool: int | None = None,
        grid: int = GRID,
        distinctive: bool = False,
    ) -> None:
        self.n_features = n_features
        self.side = side
        self.grid = grid
        self.distinctive = distinctive
        self._orb = cv2.ORB.create(
            nfeatures=pool or n_features * 3,
            scaleFactor=1.2,
            nlevels=8,
            edgeThreshold=15,
            fastThreshold=FAST_THRESHOLD,
        )

    def extract(self, image: np.ndarray, resized: Detected | None = None) -> Features:
        """Keypoints and descriptors of a BGR or grayscale image (coordinates in its own pixels)."""
        return self.describe(self.detect(image, resized))

    def detect(self, image: np.ndarray, resized: Detected | None = None) -> Detected:
        """The spread ORB keypoints of a BGR or grayscale image, not yet described.

        Args:
            image: the image.
            resized: another extractor's detection of the same image; its working-size copy is
                reused when it has this extractor's side (one resize of a large photo fewer).
        """
        gray = to_gray(image)
        height, width = gray.shape[:2]
        if (
            resized is not None
            and (resized.width, resized.height) == (width, height)
            and self._same_side(resized)
        ):
            work, scale = resized.work, resized.scale
        else:
            work, scale = normalised(gray, self.side)
        found, descriptors = self._orb.detectAndCompute(work, None)
        pool = tuple(found)
        if descriptors is None:
            descriptors = np.zeros((0, 32), np.uint8)
        candidates = np.arange(len(pool))
        if self.distinctive:
            octaves = np.array([keypoint.octave for keypoint in pool], np.int64)
            candidates = np.flatnonzero(~repeated(descriptors, octaves))
        # Python ints index a tuple several times faster than numpy's; map() skips a generator.
        eligible = list(map(pool.__getitem__, candidates.tolist())) if self.distinctive else pool
        spread = spread_keypoints(eligible, work.shape[1], work.shape[0], self.n_features, self.grid)
        chosen = candidates[by_level(eligible, spread)]
        keypoints = tuple(map(pool.__getitem__, chosen.tolist()))
        return Detected(work, scale, keypoints, width, height, pool, descriptors, chosen)

    def _same_side(self, detected: Detected) -> bool:
        """Whether ``detected``'s working copy is the one :func:`normalised` makes at this side."""
        return detected.scale == working_scale(detected.width, detected.height, self.side)

    def describe(self, detected: Detected) -> Features:
        """Descriptors of ``detected``'s keypoints, positions in the input image's pixels."""
        if detected.pool_descriptors is not None and detected.chosen is not None:
            keypoints, descriptors = detected.keypoints, detected.pool_descriptors[detected.chosen]
        else:
            computed, descriptors = self._orb.compute(detected.work, list(detected.keypoints))
            keypoints = tuple(computed)
        if descriptors is None or not keypoints:
            return Features(
                np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), detected.width, detected.height
            )
        points = from_resized(keypoint_positions(keypoints), detected.scale)
        return Features(points, descriptors, detected.width, detected.height)
