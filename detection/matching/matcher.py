"""The matcher: which original was a listing image stolen from, how sure, and where.

Pipeline per query (and again for its mirror image, to catch flipped copies):

1. ORB features of the query (:mod:`detection.features`); the mirror's are the same keypoints
   reflected and described again.
2. Each query descriptor looks up its two nearest catalog descriptors; close ones vote for the
   original that owns them — a shortlist that works for crops and collages
   (:mod:`detection.matching.search`).
3. The best-voted originals are verified geometrically: RANSAC fits a similarity, refined to an
   affine map or a homography when one explains far more (:mod:`detection.matching.geometry`).
4. The leading candidates are checked structurally (:mod:`detection.matching.structure`): a
   redrawn variant disagrees over much of its area, a copy under a banner only locally; a
   doubted alignment gives way to an alternative fit (or the mirrored pass) the structure
   agrees with.
5. The evidence (:class:`~detection.matching.evidence.Evidence`) becomes a calibrated score
   (:mod:`detection.calibration`), and the alignment gives the matched region in both images.

A query this does not settle gets second looks (:mod:`detection.matching.looks`: wide, dense,
zoom), then the pictures pasted into it are matched on their own (:mod:`detection.proposals`),
then the strip fallback ranks it (:mod:`detection.matching.ranking` orders and merges).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from detection.catalog import Catalog
from detection.features import (
    QUERY_FEATURES,
    WORKING_SIDE,
    Detected,
    FeatureExtractor,
    Features,
    from_resized,
    to_gray,
)
from detection.matching import tuning
from detection.matching.evidence import Match
from detection.matching.geometry import (
    Verified,
    mostly_inside,
    region_in_original,
    region_in_query,
    to_match,
)
from detection.matching.looks import Looks, close_up, strip_fallback, unsupported
from detection.matching.ranking import conclusive, merge, one_per_original, shifted
from detection.matching.search import CatalogSearch
from detection.matching.structure import StructureCheck, StructureView
from detection.proposals import pasted_rectangles


class Matcher:
    """Matches listing images against a :class:`Catalog`.

    Args:
        catalog: the indexed originals.
        device: where the catalog search runs. On ``cuda`` the descriptors are searched on the
            GPU (:mod:`detection.hamming_torch`, probing the lists FAISS's inverted file would,
            so scores keep their calibrated meaning); ORB, RANSAC and the structure check stay
            CPU work.
        torch_search: search with :class:`~detection.hamming_torch.TorchHammingIndex` on
            ``device`` (None: on a CUDA device only; True on the CPU is for tests).
        structure_check: weigh inliers by structural agreement (:mod:`detection.verify`); off,
            the score is the calibrated raw inlier count.
        dense_pass: give a query whose first passes found nothing plausible the dense look.
        proposals: match pictures pasted small into a query that is still unsettled on their
            own (:mod:`detection.proposals`).
        strip_fallback: rank first, for a query nothing else settles, the original it correlates
            with as a full-width or full-height strip. It only reorders (scores stay as they
            are), so a caller that keeps only high scores can leave it off.

    Attributes:
        on_look: None, or called with a second look's name (``"dense"``, ``"zoom"``) each time
            one is taken (to observe the matcher's work).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        device: str | None = None,
        structure_check: bool = True,
        dense_pass: bool = True,
        proposals: bool = True,
        strip_fallback: bool = True,
        torch_search: bool | None = None,
    ) -> None:
        self.catalog = catalog
        self.strip_fallback = strip_fallback
        self.structure_check = structure_check
        self.device = device or "cpu"
        if torch_search is None:
            torch_search = self.device.startswith("cuda")
        self.proposals = proposals
        self.on_look: Callable[[str], None] | None = None
        self.search = CatalogSearch(catalog, self.device, torch_search)
        self.structure = StructureCheck(catalog)
        self.looks = Looks(self.search, dense=dense_pass)
        self._extractor = FeatureExtractor(QUERY_FEATURES)
        self._position_of: dict[str, int] = {}

    # --- public API -------------------------------------------------------------------------------

    def match(self, image: np.ndarray, k: int = 10, candidates: Sequence[str] | None = None) -> list[Match]:
        """Rank originals for ``image`` (BGR or grayscale), best first.

        Args:
            image: the listing image.
            k: how many matches to return at most.
            candidates: restrict the ranking to these original ids (the seed's 1-of-101 protocol).

        Returns:
            Up to ``k`` matches, the likeliest source first (inliers, gently weighed by
            structural agreement), each with its calibrated score; originals without any
            geometric support are left out unless ``candidates`` is given (then every candidate
            appears, unsupported ones with score 0).
        """
        if image is None or image.size == 0:
            raise ValueError("empty image")
        allowed = self._positions(candidates)
        gray = to_gray(image)
        matches, strip_pool = self._matches(gray, allowed)
        if strip_pool and self.strip_fallback:
            matches = strip_fallback(matches, gray, strip_pool, self.structure)
        if allowed is not None:
            seen = {m.original_id for m in matches}
            for position in sorted(allowed):
                if self.catalog.id_at(position) not in seen:
                    matches.append(unsupported(self.catalog, position))
        return [self._with_regions(m, gray.shape[1], gray.shape[0]) for m in matches[:k]]

    def match_batch(self, images: Sequence[np.ndarray], k: int = 10) -> list[list[Match]]:
        """Match several images (one call per image; the index is shared, nothing is reloaded)."""
        return [self.match(image, k) for image in images]

    @property
    def cached_references(self) -> int:
        """How many originals' prepared thumbnails are held between queries."""
        return self.structure.cached_references

    # --- calibration support ----------------------------------------------------------------------

    def features_of_original(self, position: int) -> Features:
        """An original's own stored features, as a query (for leave-one-out calibration)."""
        start, stop = self.catalog.offsets[position], self.catalog.offsets[position + 1]
        width, height = self.catalog.sizes[position]
        scale = self.catalog.scales[position]
        points = from_resized(self.catalog.points[start:stop].astype(np.float32), scale)
        return Features(points, self.catalog.descriptors_of(position), width, height)

    def best_other_inliers(self, query: Features, exclude: str) -> float:
        """The best inlier count among originals other than ``exclude``, from stored features only."""
        positions = set(range(len(self.catalog))) - {self.catalog.ids().index(exclude)}
        verified = self.search.verify_voted(self.search.search(query), False, positions)[0]
        mirror = Features(
            np.column_stack([query.width - 1 - query.points[:, 0], query.points[:, 1]]).astype(np.float32),
            query.descriptors,
            query.width,
            query.height,
        )
        # A mirrored keypoint's ORB descriptor differs; re-describing is not possible from stored
        # data, so the mirrored pass reuses descriptors — the null stays conservative (more votes).
        verified += self.search.verify_voted(self.search.search(mirror), True, positions)[0]
        return float(max((v.inliers for v in verified), default=0))

    def best_other_evidence(self, image: np.ndarray, exclude: str) -> float:
        """The strongest score evidence that ``image`` gets from originals other than ``exclude``:
        run on an original's own pixels, exactly what a listing image that is *not* a copy of
        anything in the catalog would get (same features, votes, RANSAC and structure check)."""
        positions = set(range(len(self.catalog))) - {self.catalog.ids().index(exclude)}
        found = self._matches(to_gray(image), positions)[0]
        return max((m.evidence.score_evidence for m in found), default=0.0)

    # --- internals ----------------------------------------------------------------------------------

    def _matches(self, gray: np.ndarray, allowed: set[int] | None) -> tuple[list[Match], list[int]]:
        """:meth:`_candidates`, and the pictures that may have been pasted into the query
        (:mod:`detection.proposals`) matched on their own: for a query the passes leave
        unsettled, and for a collage — a conclusive match that covers less than
        ``COLLAGE_BELOW`` of the listing — the frames beside it, so every product pasted into
        it is reported, not only the largest."""
        matches, strip_pool, detected = self._candidates(gray, allowed)
        if not self.proposals:
            return matches, strip_pool
        height, width = gray.shape[:2]
        # Raw inliers may have looked conclusive; what counts is the evidence after the structure check.
        found_regions = [
            np.asarray(quad, np.float32)
            for m in matches
            if conclusive([m]) and (quad := self._region_in_query(m, width, height)) is not None
        ]
        if (
            found_regions
            and max(cv2.contourArea(q) for q in found_regions) >= tuning.COLLAGE_BELOW * width * height
        ):
            return matches, strip_pool
        scale = detected.scale
        settled = bool(found_regions)
        for x, y, w, h in pasted_rectangles(detected.work, tuning.MAX_PROPOSALS):
            # Back to the listing's pixels, a little wider than the frame found at working size.
            x0, y0 = max(0, int((x - 2) / scale)), max(0, int((y - 2) / scale))
            x1 = min(width, int(np.ceil((x + w + 2) / scale)))
            y1 = min(height, int(np.ceil((y + h + 2) / scale)))
            crop = gray[y0:y1, x0:x1]
            if float(crop.std()) < tuning.FLAT_PROPOSAL or mostly_inside((x0, y0, x1, y1), found_regions):
                continue  # a filled box, or the picture already found
            found = self._candidates(crop, allowed, thorough=False)[0]
            matches = merge(matches, [shifted(m, x0, y0) for m in found])
            settled = settled or conclusive(found)
        return matches, ([] if settled else strip_pool)

    def _rate(self, inliers: float) -> float:
        return self.catalog.calibration.false_alarm_rate(inliers)

    def _candidates(
        self, gray: np.ndarray, allowed: set[int] | None, thorough: bool = True
    ) -> tuple[list[Match], list[int], Detected]:
        """Verified, structure-checked matches of the grayscale query among ``allowed`` positions
        (all when None), ranked; when they settle nothing, the originals to try the query against
        as a strip; and the query's detection. Not ``thorough`` (a pasted picture's crop): the
        plain pass, and the mirrored one only when the plain pass is not conclusive; no second
        looks."""
        search = self.search
        detected = self._extractor.detect(gray)
        view = StructureView(gray, detected)
        plain = search.search(self._extractor.describe(detected))
        verified, voted = search.verify_voted(plain, False, allowed)

        def strongest() -> int:
            return max((v.inliers for v in verified), default=0)

        # A copy that already explains itself unmirrored needs no mirrored pass (half the cost);
        # the bar is a false-alarm rate far below any alert threshold — and an alignment whose
        # details agree (a nearly symmetric product, mirrored, aligns its outline either way).
        # A pasted picture (thorough off) gets the mirrored pass too when its own is not
        # conclusive (a mirrored product shot pasted small into a collage), but no second look.
        overwhelming = self._rate(strongest()) <= tuning.SKIP_MIRROR_BELOW_RATE
        misaligned = None
        if thorough and overwhelming and self.structure_check:
            misaligned = self.structure.misaligned(verified, plain.features, view)
        if not overwhelming or misaligned is not None:
            # The mirror's keypoints are the plain ones reflected: only the description is redone.
            mirrored = search.search(self._extractor.describe(detected.mirrored()))
            verified += search.verify_voted(mirrored, True, allowed)[0]
        # A close-up of the original (a detail cropped from it and blown up) shows its texture at
        # a scale the original's features were never extracted at; seen at half the working size,
        # the detail is back at the original's scale. A small listing blown up to the working
        # frame gets the wide look too when nothing plausible was found.
        if thorough and (detail := close_up(self.catalog, verified)) is not None:
            verified += self.looks.wide(gray, detail.mirrored, allowed)
        elif (
            thorough
            and max(gray.shape[:2]) * tuning.WIDE_FROM_SCALE <= WORKING_SIDE
            and self._rate(strongest()) > tuning.NOTHING_ABOVE_RATE
        ):
            verified += self.looks.wide(gray, False, allowed)
        # Still nothing convincing: the dense look (only when nothing plausible was found: more
        # features also add chance inliers to look-alikes), then the zoom, plain and mirrored.
        for look in self.looks.second if thorough else ():
            if max(gray.shape[:2]) < look.min_side or self._rate(strongest()) <= look.above_rate:
                continue
            if self.on_look is not None:
                self.on_look(look.name)
            for searched, mirrored_view in look.views(gray, detected, plain):
                if mirrored_view and self._rate(strongest()) <= look.above_rate:
                    break  # the plain view settled it
                verified += search.verify_voted(searched, mirrored_view, allowed)[0]
        matches, positions, alternatives = self._best_alignments(verified, misaligned, plain.features)
        if self.structure_check:
            matches = self.structure.check(matches, positions, view, alternatives)
        matches = one_per_original(matches)
        if self._rate(strongest()) <= tuning.UNSETTLED_ABOVE_RATE:
            return matches, [], detected
        everyone = allowed if allowed is not None else range(len(self.catalog))
        return matches, (sorted(everyone) if len(everyone) <= tuning.DENSE_ALL_BELOW else voted), detected

    def _best_alignments(
        self, verified: list[Verified], misaligned: int | None, query: Features
    ) -> tuple[list[Match], list[int], list[Callable[[], list[Match]]]]:
        """One alignment per original, the one with the most inliers — but for the original whose
        plain alignment disagreed, one per orientation: which is right is for the structure
        check to say (the one with more inliers may only have lined up a symmetric outline).
        Returns the matches ranked by inliers, their positions, and their alternative fits."""
        best: dict[tuple[int, bool | None], Verified] = {}
        for item in verified:
            key = (item.position, item.mirrored if item.position == misaligned else None)
            held = best.get(key)
            if held is None or (item.inliers, item.votes) > (held.inliers, held.votes):
                best[key] = item
        ranked = sorted(best.values(), key=lambda v: (v.inliers, v.votes), reverse=True)
        matches = [to_match(self.catalog, v, query) for v in ranked]
        alternatives: list[Callable[[], list[Match]]] = [
            functools.partial(self._alternative_matches, v, query) for v in ranked
        ]
        return matches, [v.position for v in ranked], alternatives

    def _alternative_matches(self, verified: Verified, query: Features) -> list[Match]:
        """``verified``'s alternative alignments, each as the match it would make."""
        if verified.alternatives is None:
            return []
        return [
            to_match(self.catalog, dataclasses.replace(verified, model=model, alternatives=None), query)
            for model in verified.alternatives()
        ]

    def _original_size(self, original_id: str) -> tuple[int, int]:
        return self.catalog.sizes[self._lookup()[original_id]]

    def _region_in_query(self, match: Match, width: int, height: int) -> list[tuple[float, float]] | None:
        if match.homography is None:
            return None
        return region_in_query(match.homography, self._original_size(match.original_id), width, height)

    def _with_regions(self, match: Match, width: int, height: int) -> Match:
        """Fill in the matched region in both images (done only for the matches reported)."""
        if match.homography is None or match.region_query is not None:
            return match
        size = self._original_size(match.original_id)
        match.region_query = region_in_query(match.homography, size, width, height)
        match.region_original = region_in_original(match.homography, size, width, height)
        return match

    def _lookup(self) -> dict[str, int]:
        """Catalog position by original id (rebuilt when originals were added since)."""
        if len(self._position_of) != len(self.catalog):
            self._position_of = {original_id: i for i, original_id in enumerate(self.catalog.ids())}
        return self._position_of

    def _positions(self, candidates: Sequence[str] | None) -> set[int] | None:
        if candidates is None:
            return None
        lookup = self._lookup()
        return {lookup[c] for c in candidates if c in lookup}
