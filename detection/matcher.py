"""The matcher: which original was a listing image stolen from, how sure, and where.

Pipeline per query (and again for its mirror image, to catch flipped copies):

1. ORB features of the query (:mod:`detection.features`); the mirror's are the same keypoints
   reflected and described again.
2. Each query descriptor looks up its two nearest catalog descriptors (FAISS, Hamming); close
   ones vote for the original that owns them — a shortlist that works for crops and collages,
   where a global descriptor of the whole image would not.
3. The best-voted originals are verified geometrically: RANSAC fits a similarity transform
   (rotation, scale, translation) to the correspondences; the inliers are the evidence. A
   well-supported similarity is refined to an affine map or a homography when one explains far
   more of them (a copy photographed at an angle, or squeezed into another aspect ratio); the
   other plausible fits stay alternatives for step 4.
4. The leading candidates are checked structurally (:mod:`detection.verify`): the query is
   aligned onto the original's stored thumbnail and the fraction of blocks whose gradient
   orientations agree is measured. A re-drawn *variant* of an original (another moon phase, an
   added arrow) shares most keypoints but disagrees over much of its area; a copy under a text
   banner or sticker disagrees only locally. An alignment that disagrees with most of the
   original is in doubt: its alternative fits (and, for a conclusive unmirrored match, the
   mirrored pass) are aligned too, and the one the structure agrees with is kept.
5. The evidence — inliers × agreement^4, the inliers that the structure vouches for — becomes a
   calibrated score (:mod:`detection.calibration`), and the fitted transform gives the matched
   region in both images and a homography for the logo check.

A candidate that shows the original blown up (a close-up of a detail) gets a wide look: the
query at half the working size, where the detail is back at the original's scale; so does a small
listing (blown up 1.6x or more to the working size) that nothing plausible was found for. A query none of
this settles gets second looks (more, finer-spread and distinctive features when nothing was even
plausible; twice the resolution, plain and mirrored), then the pictures pasted into it
(:mod:`detection.proposals`) are matched on their own (mirrored too, when plain finds no
conclusive match), then the strip fallback ranks it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

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
    resize_matrix,
    to_gray,
    to_resized,
)
from detection.hamming_torch import TorchHammingIndex
from detection.proposals import pasted_rectangles
from detection.verify import AreaPyramid, Reference, agreement, strip_similarity

MAX_HAMMING = 64  # of 256 bits: above this two ORB descriptors are unrelated
NEIGHBOURS = 2
SHORTLIST = 6  # originals verified per orientation
MIN_VOTES = 4
RANSAC_PIXELS = 5.0  # reprojection tolerance in the 480-px working frame
# A similarity needs 2 correspondences: 500 draws find an all-inlier pair with 99 % confidence
# down to an inlier ratio of 10 %, below which the candidate could not score anyway.
RANSAC_ITERATIONS = 500
MIN_SCALE, MAX_SCALE = 0.08, 12.0
SKIP_MIRROR_BELOW_RATE = 1e-6
# Structural agreement below which an alignment is in doubt and its alternatives are weighed:
# the mirrored pass for a conclusive plain match (a mirrored copy of a nearly symmetric product
# lines up its silhouette unmirrored, with many inliers, while its details disagree), and the
# other fits of the same correspondences (similarity, affine, homography). An alignment that
# agrees already stays, so a look-alike that agrees well is not polished further.
DOUBT_BELOW_AGREEMENT = 0.8
ZOOM = 2.0  # the second look at an unconvincing query: this many times the working resolution
ZOOM_FEATURES = 400
# The wide look, for a close-up (a detail cropped from the original and blown up): the query at
# 1/WIDE of the working size, when the best candidate shows the original at least WIDE_FROM_SCALE
# times larger than its own working frame.
WIDE = 2.0
WIDE_FROM_SCALE = 1.6
# The zoom only for listings this large (px, longest side): a smaller one has no detail that its
# working frame does not already show, and upsampling it further found nothing on the benchmarks.
ZOOM_MIN_SIDE = 600
# The dense look, for a query whose first passes found nothing plausible: a deeper detection, its
# repeated-pattern keypoints left out, many more features finely spread. A tiled watermark or a
# busy host photo takes most of a 400-feature budget (and of the 1200-keypoint pool it is chosen
# from) with its own corners; among the 3000 strongest keypoints the copied product's are there,
# and the watermark's letters, repeated across the image, are what the distinctiveness test drops.
DENSE_POOL = 3000
DENSE_FEATURES = 1000
DENSE_GRID = 8
# Raw false-alarm rate of the best candidate above which a query is unsettled: it gets the second
# look at twice the resolution, then its pasted pictures are matched and, if still unsettled, the
# strip fallback ranks it.
UNSETTLED_ABOVE_RATE = 1e-3
NOTHING_ABOVE_RATE = 0.05  # the best candidate is not even plausible: the dense look may help
DENSE_CANDIDATES = 30  # best-voted originals a feature-poor query is compared with as a strip
DENSE_MIN_SIMILARITY = 0.9  # normalised correlation a strip must reach to be ranked first
DENSE_ALL_BELOW = 200  # candidate sets this small (the seed's 101) are compared in full
MAX_PROPOSALS = 3  # pasted-picture rectangles matched on their own per unsettled query
FLAT_PROPOSAL = 8.0  # grey-level standard deviation below which a proposal is a filled box
# A conclusive match covering less of the listing than this leaves room for other pasted pictures.
COLLAGE_BELOW = 0.5
MAX_STRUCTURE_CHECKS = 8  # candidates aligned and compared per query at most (each ~1 ms)
CHECK_BELOW_RATE = 0.05  # raw false-alarm rate under which a candidate is always checked
STRUCTURE_WEIGHT = 4.0  # score evidence = inliers x agreement^4
RANK_WEIGHT = 0.5  # ranking evidence = inliers x agreement^0.5
# A similarity with this many inliers is refined to a homography (perspective, a stretched
# aspect ratio), adopted only when it explains many more correspondences and is a plausible view.
# Not below: a homography's eight parameters warp a same-cut look-alike's outline onto the
# original (a demo T-shirt: 13 similarity inliers, agreement 0.38 → 22 and 0.96, an alert).
REFINE_MIN_INLIERS = 20
REFINE_GAIN = 1.2  # ... and the homography must explain this many times the similarity's inliers
REFINE_KEEP = 0.7  # ... including this share of the similarity's own
MAX_AREA_CHANGE = 2.0  # the refined map may change the mapped original's area this much at most
MAX_DEPTH_RATIO = 3.0  # farthest over nearest corner of the original (projective depth)
# Originals' prepared thumbnails (:class:`detection.verify.Reference`, ~85 KB each) kept between
# queries: the same few hundred look-alikes come up as candidates again and again.
REFERENCE_CACHE = 512


@dataclass
class Match:
    """One candidate original for a query image."""

    original_id: str
    score: float
    components: dict[str, float]
    region_query: list[tuple[float, float]] | None
    region_original: list[tuple[float, float]] | None
    transform: str | None = None
    homography: list[list[float]] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Verified:
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


class _StructureView:
    """The query as the structure check compares it: a large listing from its working-size copy
    (already made for the features), so each check shrinks 480 px rather than the full photo;
    its area pyramid is shared by every candidate checked."""

    def __init__(self, gray: np.ndarray, detected: Detected) -> None:
        if detected.scale < 1.0:
            self.source, self.to_source = detected.work, resize_matrix(detected.scale)
        else:
            self.source, self.to_source = gray, np.eye(3)
        self.pyramid = AreaPyramid(self.source)
        self.agreements: dict[tuple[int, bytes], float] = {}


@dataclass
class _Searched:
    """A query's features and each one's nearest catalog descriptors."""

    features: Features
    distances: np.ndarray  # (n, NEIGHBOURS) Hamming distances
    ids: np.ndarray  # (n, NEIGHBOURS) descriptor ids, -1 when none


class Matcher:
    """Matches listing images against a :class:`Catalog`.

    Args:
        catalog: the indexed originals.
        device: where the catalog search runs. On ``cuda`` the descriptors are searched on the
            GPU (:mod:`detection.hamming_torch`, probing the lists FAISS's inverted file would,
            so scores keep their calibrated meaning) instead of by FAISS on the CPU; ORB, RANSAC
            and the structure check stay CPU work.
        torch_search: search with :class:`~detection.hamming_torch.TorchHammingIndex` on
            ``device`` (None: on a CUDA device only; True on the CPU is for tests).
        structure_check: weigh inliers by structural agreement (:mod:`detection.verify`); off,
            the score is the calibrated raw inlier count.
        dense_pass: give a query whose first passes found nothing plausible a second look with
            ``DENSE_FEATURES`` distinctive, finer-spread features from a deeper detection
            (catches copies under tiled watermarks).
        proposals: match pictures pasted small into a query that is still unsettled on their
            own (:mod:`detection.proposals`).
        strip_fallback: rank first, for a query nothing else settles, the original it correlates
            with as a full-width or full-height strip (:meth:`_strip_fallback`). It only reorders
            (scores stay as they are), so a caller that keeps only high scores can leave it off.
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
        self._torch_search = torch_search
        self._torch_index: TorchHammingIndex | None = None
        self.proposals = proposals
        self._position_of: dict[str, int] = {}
        self._references: OrderedDict[int, Reference | None] = OrderedDict()
        self._references_lock = threading.Lock()
        self._extractor = FeatureExtractor(QUERY_FEATURES)
        self._zoom_extractor = FeatureExtractor(ZOOM_FEATURES, side=int(WORKING_SIDE * ZOOM))
        self._wide_extractor = FeatureExtractor(QUERY_FEATURES, side=int(WORKING_SIDE / WIDE))
        self._dense_extractor = FeatureExtractor(
            DENSE_FEATURES, pool=DENSE_POOL, grid=DENSE_GRID, distinctive=True
        )
        # (look, run it while the best raw false-alarm rate is above this, on listings at least
        # this many px on their longest side)
        self._second_looks = ([(self._dense_look, NOTHING_ABOVE_RATE, 0)] if dense_pass else []) + [
            (self._zoom_look, UNSETTLED_ABOVE_RATE, ZOOM_MIN_SIDE)
        ]

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
            matches = self._strip_fallback(matches, gray, strip_pool)
        if allowed is not None:
            seen = {m.original_id for m in matches}
            for position in sorted(allowed):
                if self.catalog.id_at(position) not in seen:
                    matches.append(self._unsupported(position))
        return [self._with_regions(m, gray.shape[1], gray.shape[0]) for m in matches[:k]]

    def match_batch(self, images: Sequence[np.ndarray], k: int = 10) -> list[list[Match]]:
        """Match several images (one call per image; the index is shared, nothing is reloaded)."""
        return [self.match(image, k) for image in images]

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
        verified = self._verify_all(self._search(query), False, positions)[0]
        mirror = Features(
            np.column_stack([query.width - 1 - query.points[:, 0], query.points[:, 1]]).astype(np.float32),
            query.descriptors,
            query.width,
            query.height,
        )
        # A mirrored keypoint's ORB descriptor differs; re-describing is not possible from stored
        # data, so the mirrored pass reuses descriptors — the null stays conservative (more votes).
        verified += self._verify_all(self._search(mirror), True, positions)[0]
        return float(max((v.inliers for v in verified), default=0))

    def best_other_evidence(self, image: np.ndarray, exclude: str) -> float:
        """The strongest score evidence that ``image`` gets from originals other than ``exclude``.

        Run on an original's own pixels, this is exactly what a listing image that is *not* a
        copy of anything in the catalog would get: the same features, votes, RANSAC and
        structure check as :meth:`match`.
        """
        positions = set(range(len(self.catalog))) - {self.catalog.ids().index(exclude)}
        return max((_evidence(m) for m in self._matches(to_gray(image), positions)[0]), default=0.0)

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
            np.float32(quad)
            for m in matches
            if _conclusive([m]) and (quad := self._region_in_query(m, width, height)) is not None
        ]
        if found_regions and max(cv2.contourArea(q) for q in found_regions) >= COLLAGE_BELOW * width * height:
            return matches, strip_pool
        scale = detected.scale
        settled = bool(found_regions)
        for x, y, w, h in pasted_rectangles(detected.work, MAX_PROPOSALS):
            # Back to the listing's pixels, a little wider than the frame found at working size.
            x0, y0 = max(0, int((x - 2) / scale)), max(0, int((y - 2) / scale))
            x1 = min(width, int(np.ceil((x + w + 2) / scale)))
            y1 = min(height, int(np.ceil((y + h + 2) / scale)))
            crop = gray[y0:y1, x0:x1]
            if float(crop.std()) < FLAT_PROPOSAL or _mostly_inside((x0, y0, x1, y1), found_regions):
                continue  # a filled box, or the picture already found
            found = self._candidates(crop, allowed, thorough=False)[0]
            matches = _merge(matches, [_shifted(m, x0, y0) for m in found])
            settled = settled or _conclusive(found)
        return matches, ([] if settled else strip_pool)

    def _candidates(
        self, gray: np.ndarray, allowed: set[int] | None, thorough: bool = True
    ) -> tuple[list[Match], list[int], Detected]:
        """Verified, structure-checked matches of the grayscale query among ``allowed`` positions
        (all when None), ranked; when they settle nothing, the originals to try the query against
        as a strip; and the query's detection. Not ``thorough`` (a pasted picture's crop): the
        plain pass, and the mirrored one only when the plain pass is not conclusive; no second
        looks."""
        detected = self._extractor.detect(gray)
        view = _StructureView(gray, detected)
        plain = self._search(self._extractor.describe(detected))
        verified, voted = self._verify_all(plain, False, allowed)
        strongest = max((v.inliers for v in verified), default=0)
        # A copy that already explains itself unmirrored needs no mirrored pass (half the cost);
        # the bar is a false-alarm rate far below any alert threshold — and an alignment whose
        # details agree (a nearly symmetric product, mirrored, aligns its outline either way).
        # A pasted picture (thorough off) gets the mirrored pass too when its own is not
        # conclusive (a mirrored product shot pasted small into a collage), but no second look.
        conclusive = self.catalog.calibration.false_alarm_rate(strongest) <= SKIP_MIRROR_BELOW_RATE
        misaligned = self._misaligned(verified, plain.features, view) if thorough and conclusive else None
        if not conclusive or misaligned is not None:
            # The mirror's keypoints are the plain ones reflected: only the description is redone.
            mirrored = self._search(self._extractor.describe(detected.mirrored()))
            verified += self._verify_all(mirrored, True, allowed)[0]
            strongest = max((v.inliers for v in verified), default=0)
        # A close-up of the original (a detail cropped from it and blown up) shows its texture at
        # a scale the original's features were never extracted at: the plain pass matched it on a
        # few coarse-level features. Seen at half the working size, the close-up's detail is back
        # at the original's scale, and all 400 features land there.
        if thorough and (close_up := self._close_up(verified)) is not None:
            verified += self._wide_look(gray, close_up.mirrored, allowed)
            strongest = max((v.inliers for v in verified), default=0)
        elif (
            thorough
            and max(gray.shape[:2]) * WIDE_FROM_SCALE <= WORKING_SIDE
            and self.catalog.calibration.false_alarm_rate(strongest) > NOTHING_ABOVE_RATE
        ):
            # A small listing is blown up to the working frame: if it is a close-up, its detail
            # is now far larger than the original's features saw it, too large for even a
            # plausible candidate to point at the wide look. Small listings get it anyway.
            verified += self._wide_look(gray, False, allowed)
            strongest = max((v.inliers for v in verified), default=0)
        # Still nothing convincing: look again. The dense look re-reads the image with 1000 finely
        # spread, distinctive features of a deeper detection (a tiled watermark or a busy host photo
        # takes most of a 400-feature budget with its own corners) — only when nothing plausible
        # was found at all:
        # more features also add chance inliers, and on a look-alike that shares a silhouette
        # (another shirt of the same cut) they would lift a weak candidate into an alert. The zoom
        # looks at twice the resolution (a copy small in a large listing, below the originals'
        # pyramid), and at its mirror image when that settles nothing.
        for look, above_rate, min_side in self._second_looks if thorough else ():
            if (
                max(gray.shape[:2]) < min_side
                or self.catalog.calibration.false_alarm_rate(strongest) <= above_rate
            ):
                continue
            for searched, mirrored in look(gray):
                if mirrored and self.catalog.calibration.false_alarm_rate(strongest) <= above_rate:
                    break  # the plain view settled it
                verified += self._verify_all(searched, mirrored, allowed)[0]
                strongest = max((v.inliers for v in verified), default=0)
        # One alignment per original, the one with the most inliers — but for the original whose
        # plain alignment disagreed, one per orientation: which is right is for the structure
        # check to say (the one with more inliers may only have lined up a symmetric outline).
        best: dict[tuple[int, bool | None], _Verified] = {}
        for item in verified:
            key = (item.position, item.mirrored if item.position == misaligned else None)
            held = best.get(key)
            if held is None or (item.inliers, item.votes) > (held.inliers, held.votes):
                best[key] = item
        ranked = sorted(best.values(), key=lambda v: (v.inliers, v.votes), reverse=True)
        matches = [self._to_match(v, plain.features) for v in ranked]
        if self.structure_check:
            alternatives = [functools.partial(self._alternative_matches, v, plain.features) for v in ranked]
            matches = self._check_structure(matches, [v.position for v in ranked], view, alternatives)
        matches = _one_per_original(matches)
        if self.catalog.calibration.false_alarm_rate(strongest) <= UNSETTLED_ABOVE_RATE:
            return matches, [], detected
        everyone = allowed if allowed is not None else range(len(self.catalog))
        return matches, (sorted(everyone) if len(everyone) <= DENSE_ALL_BELOW else voted), detected

    def _close_up(self, verified: list[_Verified]) -> _Verified | None:
        """The best candidate so far when it is plausible, not yet overwhelming, and shows the
        original blown up (a detail of it) — the wide look may add the evidence it lacks — else None."""
        best = max(verified, key=lambda v: v.inliers, default=None)
        if best is None or best.model is None or best.inliers == 0:
            return None
        rate = self.catalog.calibration.false_alarm_rate(best.inliers)
        # Overwhelming already, or not even plausible (a chance candidate's scale means nothing).
        if rate <= SKIP_MIRROR_BELOW_RATE or rate > NOTHING_ABOVE_RATE:
            return None
        scale = math.sqrt(abs(np.linalg.det(best.model[:2, :2])))
        return best if scale >= WIDE_FROM_SCALE else None

    def _wide_look(self, gray: np.ndarray, mirrored: bool, allowed: set[int] | None) -> list[_Verified]:
        """The query read at 1/WIDE of the working size (mirrored when asked), verified."""
        wide = self._wide_extractor.detect(gray)
        found = self._search(self._wide_extractor.describe(wide.mirrored() if mirrored else wide))
        return self._verify_all(found, mirrored, allowed)[0]

    def _dense_look(self, gray: np.ndarray) -> Iterator[tuple[_Searched, bool]]:
        """The dense look's view, plain only: mirroring its 1,000 features too cost 8 % more
        time on the strong sets for one more mirrored copy under a tiled watermark in 30."""
        yield self._search(self._dense_extractor.extract(gray)), False

    def _zoom_look(self, gray: np.ndarray) -> Iterator[tuple[_Searched, bool]]:
        """The zoom's view, then its mirror image (taken only when the plain view settled
        nothing): a mirrored copy pasted small into a large scene is as small as a plain one."""
        detected = self._zoom_extractor.detect(gray)
        yield self._search(self._zoom_extractor.describe(detected)), False
        yield self._search(self._zoom_extractor.describe(detected.mirrored())), True

    def _strip_fallback(self, matches: list[Match], gray: np.ndarray, pool: Sequence[int]) -> list[Match]:
        """For a query the features could not settle: is it a full-width or full-height strip of
        one of ``pool``? A strip of a nearly textureless original (a clipboard's lower half, a
        plain box) gives ORB almost nothing, but its pixels still correlate with the original's
        thumbnail at the one scale a strip allows. The best such original, if it correlates
        strongly, goes first; scores are left as they are (this is ranking, not evidence)."""
        strips: dict = {}
        pyramid = AreaPyramid(gray)
        best, best_similarity = None, DENSE_MIN_SIMILARITY
        for position in pool:
            reference = self._reference(position)
            if reference is None:
                continue
            similarity = strip_similarity(reference, gray, strips, pyramid)
            if similarity > best_similarity:
                best, best_similarity = position, similarity
        if best is None:
            return matches
        original_id = self.catalog.id_at(best)
        chosen = next((m for m in matches if m.original_id == original_id), None) or self._unsupported(best)
        chosen.components["strip_similarity"] = best_similarity
        return [chosen, *(m for m in matches if m is not chosen)]

    def _reference(self, position: int) -> Reference | None:
        """The original's prepared thumbnail (None when the catalog holds none), cached."""
        with self._references_lock:  # the review page matches from several threads
            if position in self._references:
                self._references.move_to_end(position)
                return self._references[position]
        thumbnail = self.catalog.thumbnail_of(position)
        reference = None if thumbnail is None else Reference(thumbnail)
        with self._references_lock:
            self._references[position] = reference
            if len(self._references) > REFERENCE_CACHE:
                self._references.popitem(last=False)
        return reference

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

    def _search(self, query: Features) -> _Searched:
        if len(query) == 0 or self.catalog.descriptor_count == 0:
            empty = np.zeros((len(query), NEIGHBOURS), np.int64)
            return _Searched(query, empty.astype(np.int32), empty - 1)
        if self._torch_search:
            distances, ids = self._device_index().search(query.descriptors, NEIGHBOURS)
        else:
            distances, ids = self.catalog.index.search(query.descriptors, NEIGHBOURS)
        return _Searched(query, distances, ids)

    def _device_index(self) -> TorchHammingIndex:
        """The catalog's codes (and its inverted file's layout) on ``device``, copied there once,
        again if originals were added."""
        index = self._torch_index
        if index is None or index.ntotal != self.catalog.descriptor_count:
            index = self._torch_index = TorchHammingIndex(
                self.catalog.all_descriptors(), self.device, lists=self.catalog.inverted_lists()
            )
        return index

    def _verify_all(
        self, searched: _Searched, mirrored: bool, allowed: set[int] | None
    ) -> tuple[list[_Verified], list[int]]:
        """RANSAC-verified best-voted originals, and the originals with votes, most first."""
        query, distances, ids = searched.features, searched.distances, searched.ids
        if len(query) == 0:
            return [], []
        close = (ids >= 0) & (distances <= MAX_HAMMING)
        query_rows, ranks = np.nonzero(close)
        found = ids[query_rows, ranks]
        found_distance = distances[query_rows, ranks]
        owners = self.catalog.owners(found)
        if allowed is not None:
            keep = np.isin(owners, list(allowed))
            query_rows, found, found_distance, owners = (
                query_rows[keep],
                found[keep],
                found_distance[keep],
                owners[keep],
            )
        if owners.size == 0:
            return [], []
        # One vote per (query keypoint, original).
        pair_keys = np.unique(query_rows.astype(np.int64) * len(self.catalog) + owners)
        votes = np.bincount(pair_keys % len(self.catalog), minlength=len(self.catalog))
        order = np.argsort(-votes, kind="stable")
        shortlist = [int(p) for p in order[:SHORTLIST] if votes[p] >= MIN_VOTES]
        voted = [int(p) for p in order[:DENSE_CANDIDATES] if votes[p] > 0]
        q_scale = WORKING_SIDE / max(query.width, query.height)
        results = []
        for position in shortlist:
            mask = owners == position
            results.append(
                self._verify(
                    position,
                    to_resized(query.points[query_rows[mask]], q_scale),
                    found[mask],
                    found_distance[mask],
                    int(votes[position]),
                    mirrored,
                )
            )
        return results, voted

    def _verify(
        self,
        position: int,
        query_points: np.ndarray,
        descriptor_ids: np.ndarray,
        distances: np.ndarray,
        votes: int,
        mirrored: bool,
    ) -> _Verified:
        # One-to-one: each catalog keypoint keeps its closest query keypoint.
        order = np.argsort(distances, kind="stable")
        _, first = np.unique(descriptor_ids[order], return_index=True)
        chosen = order[first]
        src = self.catalog.points[descriptor_ids[chosen]].astype(np.float32)
        dst = query_points[chosen].astype(np.float32)
        if len(chosen) < 3:
            return _Verified(position, 0, votes, len(chosen), mirrored, None)
        affine, inlier_mask = cv2.estimateAffinePartial2D(
            src,
            dst,
            method=cv2.RANSAC,
            ransacReprojThreshold=RANSAC_PIXELS,
            maxIters=RANSAC_ITERATIONS,
            confidence=0.995,
        )
        if affine is None or inlier_mask is None:
            return _Verified(position, 0, votes, len(chosen), mirrored, None)
        scale = math.hypot(affine[0, 0], affine[1, 0])
        if not MIN_SCALE <= scale <= MAX_SCALE:
            return _Verified(position, 0, votes, len(chosen), mirrored, None)
        inliers = int(inlier_mask.sum())
        model = np.vstack([affine, [0.0, 0.0, 1.0]])
        alternatives = None
        if inliers >= REFINE_MIN_INLIERS:
            width, height = self.catalog.sizes[position]
            work = self.catalog.scales[position]
            similarity, explained = model, inlier_mask.ravel() > 0
            size = (width * work, height * work)
            if len(src) >= REFINE_GAIN * inliers:
                # A refinement may explain far more: fit now, and adopt the one that explains
                # the most if it does; the other alignments stay alternatives.
                refined = _refinements(src, dst, similarity, explained, size)
                adopted = max(refined, key=lambda fit: fit[1], default=None)
                if adopted is not None and adopted[1] >= REFINE_GAIN * inliers:
                    model, inliers = adopted
                others = tuple(fit for fit, _ in refined if fit is not model)
                others += (similarity,) if model is not similarity else ()
                alternatives = lambda: others  # noqa: E731 - a constant thunk
            else:
                alternatives = functools.cache(
                    lambda: tuple(fit for fit, _ in _refinements(src, dst, similarity, explained, size))
                )
        return _Verified(position, inliers, votes, len(chosen), mirrored, model, alternatives)

    def _misaligned(self, verified: list[_Verified], query: Features, view: _StructureView) -> int | None:
        """The best candidate's position when its alignment disagrees with its original's
        structure, else None."""
        best = max(verified, key=lambda v: (v.inliers, v.votes), default=None)
        if not self.structure_check or best is None or best.model is None or best.inliers == 0:
            return None
        fraction = self._agreement(self._to_match(best, query), best.position, view)
        return best.position if fraction is not None and fraction < DOUBT_BELOW_AGREEMENT else None

    def _agreement(self, match: Match, position: int, view: _StructureView) -> float | None:
        """Fraction of agreeing blocks of ``match``'s alignment (None: nothing to compare with)."""
        reference = self._reference(position)
        if match.homography is None or reference is None:
            return None
        homography = np.asarray(match.homography)
        key = (position, homography.tobytes())
        if key not in view.agreements:  # the mirror decision may have checked this one already
            view.agreements[key] = agreement(
                reference,
                view.source,
                view.to_source @ homography,
                self.catalog.sizes[position],
                view.pyramid,
            )
        return view.agreements[key]

    def _check_structure(
        self,
        matches: list[Match],
        positions: list[int],
        view: _StructureView,
        alternatives: list[Callable[[], list[Match]]] | None = None,
    ) -> list[Match]:
        """Weigh the leading candidates' inliers by their structural agreement, then re-rank.

        Agreement enters twice. The *ranking* (which original is the source) uses it gently,
        ``inliers x agreement^RANK_WEIGHT``: a heavily edited copy still has far more inliers
        than any unrelated original and must stay first. The *score* (how sure that it is a
        copy) uses it steeply, ``inliers x agreement^STRUCTURE_WEIGHT``: a copy agrees almost
        everywhere once aligned (recolouring, JPEG and rescaling keep edge directions), a local
        overlay costs it a few blocks, while a redrawn variant of the same clip-art disagrees
        over much of its area. Both only ever lower the raw evidence, so candidates are checked
        in order of inliers until the best checked rank is at least the next unchecked one —
        and past that, any candidate whose raw evidence alone would score as plausible, so no
        reported match keeps an unverified high score.
        """
        settled = -1.0
        checks = 0
        alternatives = alternatives or [_no_alternatives] * len(matches)
        for match, position, others in zip(matches, positions, alternatives, strict=True):
            # Past the settled top, only candidates whose unchecked score could matter are checked:
            # every match is reported with its score, and none may keep an unverified high one.
            plausible = match.components["false_alarm_rate"] <= CHECK_BELOW_RATE
            if (match.components["inliers"] <= settled and not plausible) or checks == MAX_STRUCTURE_CHECKS:
                break
            rank = match.components["inliers"]
            fraction = self._agreement(match, position, view)
            if fraction is not None and fraction < DOUBT_BELOW_AGREEMENT:
                fraction = self._best_alignment(match, position, view, others, fraction)
            if fraction is not None:
                effective = match.components["inliers"] * fraction**STRUCTURE_WEIGHT
                rank = match.components["inliers"] * fraction**RANK_WEIGHT
                match.components["agreement"] = fraction
                match.components["effective_inliers"] = effective
                match.components["rank_evidence"] = rank
                match.components["false_alarm_rate"] = self.catalog.calibration.false_alarm_rate(effective)
                match.score = self.catalog.calibration.score(effective)
                checks += 1
            settled = max(settled, rank)
        return sorted(matches, key=_rank_key, reverse=True)

    def _best_alignment(
        self,
        match: Match,
        position: int,
        view: _StructureView,
        others: Callable[[], list[Match]],
        fraction: float,
    ) -> float:
        """Adopt into ``match`` the alternative alignment that agrees best, if one agrees better
        than ``fraction``; returns the agreement of the alignment kept."""
        for other in others():
            candidate = self._agreement(other, position, view)
            if candidate is not None and candidate > fraction:
                fraction = candidate
                match.homography = other.homography
                for key in ("scale", "rotation_deg"):
                    if key in other.components:
                        match.components[key] = other.components[key]
        return fraction

    def _alternative_matches(self, verified: _Verified, query: Features) -> list[Match]:
        """``verified``'s alternative alignments, each as the match it would make."""
        if verified.alternatives is None:
            return []
        return [
            self._to_match(dataclasses.replace(verified, model=model, alternatives=None), query)
            for model in verified.alternatives()
        ]

    def _unsupported(self, position: int) -> Match:
        return Match(self.catalog.id_at(position), 0.0, {"inliers": 0.0, "votes": 0.0}, None, None)

    def _to_match(self, verified: _Verified, query: Features) -> Match:
        catalog = self.catalog
        original_id = catalog.id_at(verified.position)
        components = {
            "inliers": float(verified.inliers),
            "votes": float(verified.votes),
            "correspondences": float(verified.correspondences),
            "inlier_ratio": verified.inliers / max(verified.correspondences, 1),
            "false_alarm_rate": catalog.calibration.false_alarm_rate(verified.inliers),
            "mirrored": 1.0 if verified.mirrored else 0.0,
        }
        match = Match(
            original_id=original_id,
            score=catalog.calibration.score(verified.inliers),
            components=components,
            region_query=None,
            region_original=None,
            transform="mirrored" if verified.mirrored else None,
        )
        if verified.model is None or verified.inliers == 0:
            return match
        homography = self._homography(verified, query)
        components["scale"] = float(math.sqrt(abs(np.linalg.det(homography[:2, :2]))))
        components["rotation_deg"] = float(
            math.degrees(math.atan2(verified.model[1, 0], verified.model[0, 0]))
        )
        match.homography = homography.tolist()
        return match

    def _region_in_query(self, match: Match, width: int, height: int) -> list[tuple[float, float]] | None:
        """The original's outline mapped into the query and clipped to it, or None."""
        if match.homography is None:
            return None
        ow, oh = self.catalog.sizes[self._lookup()[match.original_id]]
        return _clip(_apply(np.asarray(match.homography), _box(ow, oh)), width, height)

    def _with_regions(self, match: Match, width: int, height: int) -> Match:
        """Fill in the matched region in both images (done only for the matches reported)."""
        if match.homography is None or match.region_query is not None:
            return match
        ow, oh = self.catalog.sizes[self._lookup()[match.original_id]]
        match.region_query = self._region_in_query(match, width, height)
        inverse = np.linalg.inv(np.asarray(match.homography))
        match.region_original = _clip(_apply(inverse, _box(width, height)), ow, oh)
        return match

    def _homography(self, verified: _Verified, query: Features) -> np.ndarray:
        """Original pixels -> query pixels, folding in both working-frame scales and the mirror."""
        o_scale = self.catalog.scales[verified.position]
        q_scale = WORKING_SIDE / max(query.width, query.height)
        to_work = resize_matrix(o_scale)
        from_work = resize_matrix(1.0 / q_scale)  # the inverse of resizing by q_scale
        homography = from_work @ verified.model @ to_work
        if verified.mirrored:
            flip = np.array([[-1.0, 0.0, query.width - 1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
            homography = flip @ homography
        return homography


def _refinements(
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
    affine, _ = cv2.estimateAffine2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS, maxIters=RANSAC_ITERATIONS
    )
    homography, _ = cv2.findHomography(
        src, dst, cv2.RANSAC, RANSAC_PIXELS, maxIters=RANSAC_ITERATIONS, confidence=0.995
    )
    for fit in (
        None if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]]),
        None if homography is None or abs(homography[2, 2]) < 1e-9 else homography / homography[2, 2],
    ):
        if fit is None or not _plausible_view(fit, similarity, size):
            continue
        fits = np.linalg.norm(_apply(fit, src) - dst, axis=1) <= RANSAC_PIXELS
        count = int(fits.sum())
        # A few more inliers are what extra free parameters win by chance; a real perspective or
        # stretch wins many (a 15 % corner pull costs a similarity a third of its inliers). The
        # caller adopts a fit from REFINE_GAIN times the inliers; from as many, it is an
        # alternative for the structure check to weigh.
        if int((fits & explained).sum()) >= REFINE_KEEP * inliers and count >= inliers:
            found.append((fit, count))
    return found


def _plausible_view(model: np.ndarray, similarity: np.ndarray, size: tuple[float, float]) -> bool:
    """Whether ``model`` maps the original's frame as a camera could: positive, bounded projective
    depth, a convex outline of the same orientation, an area near the similarity's."""
    corners = _box(*size).astype(np.float32)
    depth = corners @ model[2, :2] + 1.0
    if np.any(depth <= 0) or float(depth.max() / depth.min()) > MAX_DEPTH_RATIO:
        return False
    mapped = _apply(model, corners).reshape(-1, 1, 2)
    if not cv2.isContourConvex(mapped):
        return False
    area = cv2.contourArea(mapped, oriented=True)
    reference = cv2.contourArea(_apply(similarity, corners).reshape(-1, 1, 2), oriented=True)
    return area * reference > 0 and 1 / MAX_AREA_CHANGE <= area / reference <= MAX_AREA_CHANGE


def _evidence(match: Match) -> float:
    """The evidence behind a match's score: structure-weighed inliers when checked, else inliers."""
    return float(match.components.get("effective_inliers", match.components["inliers"]))


def _conclusive(matches: Sequence[Match]) -> bool:
    """Whether any match's evidence leaves no doubt (false-alarm rate at most UNSETTLED_ABOVE_RATE)."""
    return any(m.components["false_alarm_rate"] <= UNSETTLED_ABOVE_RATE for m in matches)


def _mostly_inside(box: tuple[int, int, int, int], regions: Sequence[np.ndarray]) -> bool:
    """Whether half of ``box`` (x0, y0, x1, y1) or more lies inside one of ``regions``."""
    x0, y0, x1, y1 = box
    rectangle = _box(x1 - x0, y1 - y0).astype(np.float32) + np.float32([x0, y0])
    area = float((x1 - x0) * (y1 - y0))
    return any(cv2.intersectConvexConvex(rectangle, region)[0] >= 0.5 * area for region in regions)


def _merge(matches: list[Match], more: list[Match]) -> list[Match]:
    """Both lists' matches, one per original (the better ranked), best first."""
    best: dict[str, Match] = {}
    for match in [*matches, *more]:
        held = best.get(match.original_id)
        if held is None or _rank_key(match) > _rank_key(held):
            best[match.original_id] = match
    return sorted(best.values(), key=_merged_rank_key, reverse=True)


def _no_alternatives() -> list[Match]:
    return []


def _one_per_original(matches: list[Match]) -> list[Match]:
    """One alignment per original, best ranked first: the best structure-checked one where any
    was checked (an unchecked alternative keeps its raw inliers, so it must not outrank the
    verdict), else the one with the most inliers."""
    best: dict[str, Match] = {}
    for match in matches:
        held = best.get(match.original_id)
        if held is None:
            best[match.original_id] = match
            continue
        checked, held_checked = "agreement" in match.components, "agreement" in held.components
        if checked != held_checked:
            better = checked
        elif checked:
            better = _rank_key(match) > _rank_key(held)
        else:
            better = (match.components["inliers"], match.components["votes"]) > (
                held.components["inliers"],
                held.components["votes"],
            )
        if better:
            best[match.original_id] = match
    return sorted(best.values(), key=_rank_key, reverse=True)


def _shifted(match: Match, dx: int, dy: int) -> Match:
    """A match found in the crop at ``(dx, dy)`` of the query, in the query's pixels."""
    shift = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])
    homography = None if match.homography is None else (shift @ np.asarray(match.homography)).tolist()
    components = {**match.components, "pasted_at_x": float(dx), "pasted_at_y": float(dy)}
    return dataclasses.replace(match, homography=homography, components=components)


def _merged_rank_key(match: Match) -> tuple[bool, float, float, float, float]:
    """:func:`_rank_key` for matches found in different parts of a listing (the whole image and
    the pictures pasted into it): conclusive ones first, by score. Two conclusive matches of
    different pictures are not look-alikes competing for one region, where structure-weighed
    inliers pick the source; the surer copy goes first."""
    conclusive = _conclusive([match])
    return (conclusive, match.score if conclusive else 0.0, *_rank_key(match))


def _rank_key(match: Match) -> tuple[float, float, float]:
    components = match.components
    return (components.get("rank_evidence", components["inliers"]), match.score, components["votes"])


def _box(width: int, height: int) -> np.ndarray:
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)


def _apply(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2), homography).reshape(-1, 2)


def _clip(polygon: np.ndarray, width: int, height: int) -> list[tuple[float, float]] | None:
    """Intersect a convex polygon with the image rectangle."""
    area, clipped = cv2.intersectConvexConvex(
        polygon.astype(np.float32), _box(width, height).astype(np.float32)
    )
    if area <= 0 or clipped is None:
        return None
    return [(x, y) for x, y in np.round(clipped.reshape(-1, 2).astype(np.float64), 1).tolist()]
