"""Second looks at a query the first passes leave unsettled, and the strip fallback.

* the wide look — the query at 1/WIDE of the working size, for a close-up (a detail cropped
  from the original and blown up) or a small listing;
* the dense look — 1000 finely spread, distinctive features of a deeper detection, when nothing
  plausible was found (a tiled watermark or a busy host photo takes a 400-feature budget);
* the zoom — twice the working resolution, plain then mirrored, for a copy small in a large
  listing;
* the strip fallback — a full-width or full-height strip of a nearly textureless original,
  ranked by correlation with the originals' thumbnails.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from detection.catalog import Catalog
from detection.features import QUERY_FEATURES, WORKING_SIDE, Detected, FeatureExtractor
from detection.matching import tuning
from detection.matching.evidence import Evidence, Match
from detection.matching.geometry import Verified
from detection.matching.search import CatalogSearch, Searched
from detection.matching.structure import StructureCheck
from detection.verify import AreaPyramid, strip_similarity


@dataclass(frozen=True)
class SecondLook:
    """A look taken while the best raw false-alarm rate is above ``above_rate``, on listings at
    least ``min_side`` px on their longest side; ``views`` of the grayscale query (given its
    plain pass's detection and search, which a look may reuse) yields ``(searched, mirrored)``."""

    name: str
    views: Callable[[np.ndarray, Detected, Searched], Iterator[tuple[Searched, bool]]]
    above_rate: float
    min_side: int


class Looks:
    """The extra views of a query, each searched in the catalog."""

    def __init__(self, search: CatalogSearch, dense: bool = True) -> None:
        self.search = search
        self.wide_extractor = FeatureExtractor(QUERY_FEATURES, side=int(WORKING_SIDE / tuning.WIDE))
        self.zoom_extractor = FeatureExtractor(tuning.ZOOM_FEATURES, side=int(WORKING_SIDE * tuning.ZOOM))
        self.dense_extractor = FeatureExtractor(
            tuning.DENSE_FEATURES, pool=tuning.DENSE_POOL, grid=tuning.DENSE_GRID, distinctive=True
        )
        self.second: list[SecondLook] = (
            [SecondLook("dense", self.dense_views, tuning.NOTHING_ABOVE_RATE, 0)] if dense else []
        )
        self.second.append(
            SecondLook("zoom", self.zoom_views, tuning.UNSETTLED_ABOVE_RATE, tuning.ZOOM_MIN_SIDE)
        )

    def wide(self, gray: np.ndarray, mirrored: bool, allowed: set[int] | None) -> list[Verified]:
        """The query read at 1/WIDE of the working size (mirrored when asked), verified."""
        wide = self.wide_extractor.detect(gray)
        found = self.search.search(self.wide_extractor.describe(wide.mirrored() if mirrored else wide))
        return self.search.verify_voted(found, mirrored, allowed)[0]

    def dense_views(
        self, gray: np.ndarray, plain: Detected | None = None, searched: Searched | None = None
    ) -> Iterator[tuple[Searched, bool]]:
        """The dense look's view, plain only: mirroring its 1,000 features too cost 8 % more
        time on the strong sets for one more mirrored copy under a tiled watermark in 30. It reads
        the working frame the plain detection resized already, and the plain pass's features
        among its own keep the neighbours ``searched`` found for them."""
        yield self.search.search(self.dense_extractor.extract(gray, plain), searched), False

    def zoom_views(
        self, gray: np.ndarray, plain: Detected | None = None, searched: Searched | None = None
    ) -> Iterator[tuple[Searched, bool]]:
        """The zoom's view, then its mirror image (taken only when the plain view settled
        nothing): a mirrored copy pasted small into a large scene is as small as a plain one.
        (At twice the working resolution it shares no frame or feature with the plain pass.)"""
        del plain, searched
        detected = self.zoom_extractor.detect(gray)
        yield self.search.search(self.zoom_extractor.describe(detected)), False
        yield self.search.search(self.zoom_extractor.describe(detected.mirrored())), True


def close_up(catalog: Catalog, verified: list[Verified]) -> Verified | None:
    """The best candidate so far when it is plausible, not yet overwhelming, and shows the
    original blown up (a detail of it) — the wide look may add the evidence it lacks — else None."""
    best = max(verified, key=lambda v: v.inliers, default=None)
    if best is None or best.model is None or best.inliers == 0:
        return None
    rate = catalog.calibration.false_alarm_rate(best.inliers)
    # Overwhelming already, or not even plausible (a chance candidate's scale means nothing).
    if rate <= tuning.SKIP_MIRROR_BELOW_RATE or rate > tuning.NOTHING_ABOVE_RATE:
        return None
    scale = math.sqrt(abs(np.linalg.det(best.model[:2, :2])))
    return best if scale >= tuning.WIDE_FROM_SCALE else None


def strip_fallback(
    matches: list[Match], gray: np.ndarray, pool: Sequence[int], structure: StructureCheck
) -> list[Match]:
    """For a query the features could not settle: is it a full-width or full-height strip of
    one of ``pool``? A strip of a nearly textureless original (a clipboard's lower half, a
    plain box) gives ORB almost nothing, but its pixels still correlate with the original's
    thumbnail at the one scale a strip allows. The best such original, if it correlates
    strongly, goes first; scores are left as they are (this is ranking, not evidence)."""
    strips: dict = {}
    pyramid = AreaPyramid(gray)
    best, best_similarity = None, tuning.DENSE_MIN_SIMILARITY
    for position in pool:
        reference = structure.reference(position)
        if reference is None:
            continue
        similarity = strip_similarity(reference, gray, strips, pyramid)
        if similarity > best_similarity:
            best, best_similarity = position, similarity
    if best is None:
        return matches
    original_id = structure.catalog.id_at(best)
    chosen = next((m for m in matches if m.original_id == original_id), None) or unsupported(
        structure.catalog, best
    )
    chosen.evidence.strip_similarity = best_similarity
    return [chosen, *(m for m in matches if m is not chosen)]


def unsupported(catalog: Catalog, position: int) -> Match:
    """An original without any geometric support (score 0)."""
    return Match(catalog.id_at(position), 0.0, Evidence())
