"""Geometric verification: RANSAC alignments of an original onto a query, and where they land."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from detection.catalog import Catalog
from detection.features import WORKING_SIDE, Features, resize_matrix
from detection.matching import tuning
from detection.matching.evidence import Evidence, Match

BOTTOM_ROW = np.array([[0.0, 0.0, 1.0]])  # a 2x3 affine map's third row


@dataclass
class Verified:
    """One original's best alignment onto a query (in the working frames)."""

    position: int
    inliers: int
    votes: int
    correspondences: int
    mirrored: bool
    # 3x3, original working frame -> query working frame: the similarity, or its refinement
    model: np.ndarray | None
    # Other plausible alignments of the same correspondences (the similarity, an affine map, a
    # homography) that explain at least as many of them: which one aligns the copy is for the
    # structure check to say (a mild perspective costs a similarity few inliers but misaligns
    # the far side of the copy; a homography fitted to a stretch invents a perspective). The
    # evidence stays this alignment's inliers — the few more that extra free parameters win by
    # chance would tip close races between look-alikes. Fitted when first asked for (the
    # structure check doubts this alignment), unless the refinement was fitted already.
    alternatives: Callable[[], tuple[np.ndarray, ...]] | None = None


def verify(
    catalog: Catalog,
    position: int,
    query_points: np.ndarray,
    descriptor_ids: np.ndarray,
    distances: np.ndarray,
    votes: int,
    mirrored: bool,
) -> Verified:
    """Fit a similarity (RANSAC) of the original at ``position`` onto the query's matched points
    (working frame), refined to an affine map or a homography when one explains far more."""
    # One-to-one: each catalog keypoint keeps its closest query keypoint.
    order = np.argsort(distances, kind="stable")
    _, first = np.unique(descriptor_ids[order], return_index=True)
    chosen = order[first]
    src = catalog.points[descriptor_ids[chosen]].astype(np.float32)
    dst = query_points[chosen].astype(np.float32)
    if len(chosen) < 3:
        return Verified(position, 0, votes, len(chosen), mirrored, None)
    affine, inlier_mask = cv2.estimateAffinePartial2D(
        src,
        dst,
        method=cv2.RANSAC,
        ransacReprojThreshold=tuning.RANSAC_PIXELS,
        maxIters=tuning.RANSAC_ITERATIONS,
        confidence=0.995,
    )
    if affine is None or inlier_mask is None:
        return Verified(position, 0, votes, len(chosen), mirrored, None)
    scale = math.hypot(affine[0, 0], affine[1, 0])
    if not tuning.MIN_SCALE <= scale <= tuning.MAX_SCALE:
        return Verified(position, 0, votes, len(chosen), mirrored, None)
    inliers = int(inlier_mask.sum())
    model = np.concatenate((affine, BOTTOM_ROW))
    alternatives = None
    if inliers >= tuning.REFINE_MIN_INLIERS:
        width, height = catalog.sizes[position]
        work = catalog.scales[position]
        similarity, explained = model, inlier_mask.ravel() > 0
        size = (width * work, height * work)
        if len(src) >= tuning.REFINE_GAIN * inliers:
            # A refinement may explain far more: fit now, and adopt the one that explains
            # the most if it does; the other alignments stay alternatives.
            refined = refinements(src, dst, similarity, explained, size)
            adopted = max(refined, key=lambda fit: fit[1], default=None)
            if adopted is not None and adopted[1] >= tuning.REFINE_GAIN * inliers:
                model, inliers = adopted
            others = tuple(fit for fit, _ in refined if fit is not model)
            others += (similarity,) if model is not similarity else ()
            alternatives = lambda: others  # noqa: E731 - a constant thunk
        else:
            alternatives = functools.cache(
                lambda: tuple(fit for fit, _ in refinements(src, dst, similarity, explained, size))
            )
    return Verified(position, inliers, votes, len(chosen), mirrored, model, alternatives)


def refinements(
    src: np.ndarray,
    dst: np.ndarray,
    similarity: np.ndarray,
    explained: np.ndarray,
    size: tuple[float, float],
) -> list[tuple[np.ndarray, int]]:
    """An affine map and a homography that explain at least as many correspondences as
    ``similarity``, each with its inlier count (the plausible ones only).

    Fitted (RANSAC, the same tolerance) to all the correspondences, so a perspective or
    anisotropic copy is not cut down to the part a similarity fits; kept only when it is a
    plausible view of the original (same orientation, corners in a convex outline, bounded
    projective depth, area within ``MAX_AREA_CHANGE`` of the similarity's) and an extension of
    the similarity — it still explains ``REFINE_KEEP`` of the correspondences the similarity
    explained (``explained``). A map that explains *other* correspondences is another
    alignment, and extra free parameters find one by chance between two look-alikes (a T-shirt
    of the same cut warped onto the catalog's shirt by its outline).
    """
    inliers = int(explained.sum())
    if len(src) <= inliers:  # the similarity explains every correspondence already
        return []
    found = []
    pixels, iterations = tuning.RANSAC_PIXELS, tuning.RANSAC_ITERATIONS
    affine, _ = cv2.estimateAffine2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=pixels, maxIters=iterations
    )
    homography, _ = cv2.findHomography(src, dst, cv2.RANSAC, pixels, maxIters=iterations, confidence=0.995)
    for fit in (
        None if affine is None else np.concatenate((affine, BOTTOM_ROW)),
        None if homography is None or abs(homography[2, 2]) < 1e-9 else homography / homography[2, 2],
    ):
        if fit is None or not plausible_view(fit, similarity, size):
            continue
        fits = np.linalg.norm(apply(fit, src) - dst, axis=1) <= pixels
        count = int(fits.sum())
        # A few more inliers are what extra free parameters win by chance; a real perspective or
        # stretch wins many (a 15 % corner pull costs a similarity a third of its inliers). The
        # caller adopts a fit from REFINE_GAIN times the inliers; from as many, it is an
        # alternative for the structure check to weigh.
        if int((fits & explained).sum()) >= tuning.REFINE_KEEP * inliers and count >= inliers:
            found.append((fit, count))
    return found


def plausible_view(model: np.ndarray, similarity: np.ndarray, size: tuple[float, float]) -> bool:
    """Whether ``model`` maps the original's frame as a camera could: positive, bounded projective
    depth, a convex outline of the same orientation, an area near the similarity's."""
    corners = box(*size).astype(np.float32)
    depth = corners @ model[2, :2] + 1.0
    if np.any(depth <= 0) or float(depth.max() / depth.min()) > tuning.MAX_DEPTH_RATIO:
        return False
    mapped = apply(model, corners).reshape(-1, 1, 2)
    if not cv2.isContourConvex(mapped):
        return False
    area = cv2.contourArea(mapped, oriented=True)
    reference = cv2.contourArea(apply(similarity, corners).reshape(-1, 1, 2), oriented=True)
    return area * reference > 0 and 1 / tuning.MAX_AREA_CHANGE <= area / reference <= tuning.MAX_AREA_CHANGE


def to_pixels(catalog: Catalog, verified: Verified, width: int, height: int) -> np.ndarray:
    """The alignment from the original's pixels to the query's (``width`` x ``height``), folding
    in both working-frame scales and the mirror."""
    assert verified.model is not None
    o_scale = catalog.scales[verified.position]
    q_scale = WORKING_SIDE / max(width, height)
    homography = resize_matrix(1.0 / q_scale) @ verified.model @ resize_matrix(o_scale)
    if verified.mirrored:
        flip = np.array([[-1.0, 0.0, width - 1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        homography = flip @ homography
    return homography


def region_in_query(
    homography: list[list[float]] | None, original_size: tuple[int, int], width: int, height: int
) -> list[tuple[float, float]] | None:
    """The original's outline mapped into the query and clipped to it, or None."""
    if homography is None:
        return None
    return clip(apply(np.asarray(homography), box(*original_size)), width, height)


def region_in_original(
    homography: list[list[float]], original_size: tuple[int, int], width: int, height: int
) -> list[tuple[float, float]] | None:
    """The query's frame mapped back into the original and clipped to it, or None."""
    inverse = np.linalg.inv(np.asarray(homography))
    return clip(apply(inverse, box(width, height)), *original_size)


def mostly_inside(rectangle_xyxy: tuple[int, int, int, int], regions: list[np.ndarray]) -> bool:
    """Whether half of the rectangle (x0, y0, x1, y1) or more lies inside one of ``regions``."""
    x0, y0, x1, y1 = rectangle_xyxy
    rectangle = box(x1 - x0, y1 - y0).astype(np.float32) + np.asarray([x0, y0], np.float32)
    area = float((x1 - x0) * (y1 - y0))
    return any(cv2.intersectConvexConvex(rectangle, region)[0] >= 0.5 * area for region in regions)


def box(width: float, height: float) -> np.ndarray:
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)


def apply(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2), homography).reshape(-1, 2)


def clip(polygon: np.ndarray, width: int, height: int) -> list[tuple[float, float]] | None:
    """Intersect a convex polygon with the image rectangle."""
    area, clipped = cv2.intersectConvexConvex(
        polygon.astype(np.float32), box(width, height).astype(np.float32)
    )
    if area <= 0 or clipped is None:
        return None
    return [(x, y) for x, y in np.round(clipped.reshape(-1, 2).astype(np.float64), 1).tolist()]


def to_match(catalog: Catalog, verified: Verified, query: Features) -> Match:
    """The match an alignment makes: its evidence, calibrated score and pixel homography."""
    calibration = catalog.calibration
    evidence = Evidence(
        inliers=float(verified.inliers),
        votes=float(verified.votes),
        correspondences=float(verified.correspondences),
        false_alarm_rate=calibration.false_alarm_rate(verified.inliers),
        mirrored=verified.mirrored,
    )
    match = Match(
        original_id=catalog.id_at(verified.position),
        score=calibration.score(verified.inliers),
        evidence=evidence,
        transform="mirrored" if verified.mirrored else None,
    )
    if verified.model is None or verified.inliers == 0:
        return match
    homography = to_pixels(catalog, verified, query.width, query.height)
    evidence.scale = float(math.sqrt(abs(np.linalg.det(homography[:2, :2]))))
    evidence.rotation_deg = float(math.degrees(math.atan2(verified.model[1, 0], verified.model[0, 0])))
    match.homography = homography.tolist()
    return match
