"""Held-back images that are variants of a catalog original, not innocent material.

A benchmark's not-in-catalog queries stand for images that share no artwork with the catalog.
A folder of product images may hold the same drawing twice — recoloured (a maple leaf in orange
and in green), or with a part added or removed (a pair of books with and without a question mark
over them) — and when one is held back and the other kept, every query made from the held-back
one is a derivative of a catalog original, scored as the copy it is. The dev set's cleaning
removed such queries by hand (its README lists them); :func:`variants_of_catalog` finds them
before the queries are drawn.

Two tests, both on the images as they are: the matcher's geometry (ORB, votes, RANSAC; no
structure check, no score) aligns the held-back image to a catalog original with at least
``MIN_INLIERS`` inliers — chance gives a handful — and, so aligned, the two agree block by block
at a fine resolution (``FINE_SIDE`` px) over at least ``MIN_FINE_AGREEMENT`` of the blocks where
either is drawn: the variant keeps the original's pixels in place except where it was altered.
Two photographs of one object from nearby viewpoints (a stereo pair) align with many inliers
too, but parallax and lighting move their fine detail everywhere, so they stay innocent material
("another photo of a similar product").
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from detection.features import to_gray
from detection.verify import agreements

MIN_INLIERS = 20
FINE_SIDE = 256  # px, longest side of the grey image the fine comparison reads
# The fine agreement of the dev set's variants and the strong set's twins: 0.59-0.80; of two
# photographs of one object from nearby viewpoints: 0.05-0.28 (docs/benchmarks.md, 2026-12-05).
MIN_FINE_AGREEMENT = 0.5


def _fine(image: np.ndarray) -> np.ndarray:
    gray = to_gray(image)
    scale = FINE_SIDE / max(gray.shape[:2])
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def variants_of_catalog(catalog: Mapping[str, np.ndarray], held_back: Mapping[str, np.ndarray]) -> set[str]:
    """The ids of ``held_back`` images that are variants of a ``catalog`` image (module doc)."""
    from detection.catalog import Catalog
    from detection.matching import Matcher

    if not catalog or not held_back:
        return set()
    index = Catalog.build(catalog.items())
    matcher = Matcher(index, structure_check=False, dense_pass=False, proposals=False, strip_fallback=False)
    variants = set()
    for held_id, image in held_back.items():
        for match in matcher.match(image, k=3):
            if match.evidence.inliers < MIN_INLIERS or match.homography is None:
                continue
            original = catalog[match.original_id]
            size = (original.shape[1], original.shape[0])
            fine = agreements(_fine(original), image, np.asarray(match.homography), size)[0]
            if fine >= MIN_FINE_AGREEMENT:
                variants.add(held_id)
                break
    return variants
