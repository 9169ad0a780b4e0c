"""The structure check: does the query, aligned onto the original, agree with its drawing?

A copy agrees almost everywhere once aligned (recolouring, JPEG and rescaling keep edge
directions), a local overlay costs it a few blocks, while a redrawn variant of the same
clip-art disagrees over much of its area (:mod:`detection.verify`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from detection.catalog import Catalog
from detection.features import Detected, Features, resize_matrix
from detection.matching import tuning
from detection.matching.evidence import Match
from detection.matching.geometry import Verified, to_match
from detection.matching.ranking import rank_key
from detection.verify import AreaPyramid, Reference, agreements


class StructureView:
    """The query as the structure check compares it: a large listing from its working-size copy
    (already made for the features), so each check shrinks 480 px rather than the full photo;
    its area pyramid is shared by every candidate checked."""

    def __init__(self, gray: np.ndarray, detected: Detected) -> None:
        if detected.scale < 1.0:
            self.source, self.to_source = detected.work, resize_matrix(detected.scale)
        else:
            self.source, self.to_source = gray, np.eye(3)
        self.pyramid = AreaPyramid(self.source)
        self.agreements: dict[tuple[int, bytes], tuple[float, float]] = {}


def no_alternatives() -> list[Match]:
    return []


class StructureCheck:
    """Weighs candidates by structural agreement, with the originals' prepared thumbnails cached
    (at most ``REFERENCE_CACHE``; thread-safe: the review page matches from several threads)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._references: OrderedDict[int, Reference | None] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def cached_references(self) -> int:
        """How many prepared thumbnails are held."""
        return len(self._references)

    def reference(self, position: int) -> Reference | None:
        """The original's prepared thumbnail (None when the catalog holds none), cached."""
        with self._lock:
            if position in self._references:
                self._references.move_to_end(position)
                return self._references[position]
        thumbnail = self.catalog.thumbnail_of(position)
        reference = None if thumbnail is None else Reference(thumbnail)
        with self._lock:
            self._references[position] = reference
            while len(self._references) > tuning.REFERENCE_CACHE:
                self._references.popitem(last=False)
        return reference

    def agreement(self, match: Match, position: int, view: StructureView) -> float | None:
        """Fraction of agreeing blocks of ``match``'s alignment, over the blocks where either image
        is drawn (None: nothing to compare with)."""
        pair = self._agreements(match, position, view)
        return None if pair is None else pair[0]

    def _agreements(self, match: Match, position: int, view: StructureView) -> tuple[float, float] | None:
        """Both of :func:`detection.verify.agreements` for ``match``'s alignment, cached per view."""
        reference = self.reference(position)
        if match.homography is None or reference is None:
            return None
        homography = np.asarray(match.homography)
        key = (position, homography.tobytes())
        if key not in view.agreements:  # the mirror decision may have checked this one already
            view.agreements[key] = agreements(
                reference,
                view.source,
                view.to_source @ homography,
                self.catalog.sizes[position],
                view.pyramid,
            )
        return view.agreements[key]

    def misaligned(self, verified: list[Verified], query: Features, view: StructureView) -> int | None:
        """The best candidate's position when its alignment disagrees with its original's
        structure, else None."""
        best = max(verified, key=lambda v: (v.inliers, v.votes), default=None)
        if best is None or best.model is None or best.inliers == 0:
            return None
        fraction = self.agreement(to_match(self.catalog, best, query), best.position, view)
        doubtful = fraction is not None and fraction < tuning.DOUBT_BELOW_AGREEMENT
        return best.position if doubtful else None

    def check(
        self,
        matches: list[Match],
        positions: list[int],
        view: StructureView,
        alternatives: list[Callable[[], list[Match]]] | None = None,
    ) -> list[Match]:
        """Weigh the leading candidates' inliers by their structural agreement, then re-rank.

        Agreement enters twice. The *ranking* (which original is the source) uses it gently,
        ``inliers x agreement^RANK_WEIGHT``: a heavily edited copy still has far more inliers
        than any unrelated original and must stay first. The *score* (how sure that it is a
        copy) uses it steeply, ``inliers x agreement^STRUCTURE_WEIGHT``. Both only ever lower the
        raw evidence, so candidates are checked in order of inliers until the best checked rank
        is at least the next unchecked one — and past that, any candidate whose raw evidence
        alone would score as plausible, so no reported match keeps an unverified high score.
        """
        calibration = self.catalog.calibration
        settled = -1.0
        checks = 0
        alternatives = alternatives or [no_alternatives] * len(matches)
        for match, position, others in zip(matches, positions, alternatives, strict=True):
            evidence = match.evidence
            plausible = evidence.false_alarm_rate <= tuning.CHECK_BELOW_RATE
            if (evidence.inliers <= settled and not plausible) or checks == tuning.MAX_STRUCTURE_CHECKS:
                break
            rank = evidence.inliers
            fraction = self.agreement(match, position, view)
            if fraction is not None and fraction < tuning.DOUBT_BELOW_AGREEMENT:
                fraction = self._best_alignment(match, position, view, others, fraction)
            if fraction is not None:
                # The score's agreement leaves out what the listing adds over the original's blank
                # background (a sticker, a banner): the ranking's keeps it, so which original is
                # the source is decided as before.
                pair = self._agreements(match, position, view)
                drawn = fraction if pair is None else pair[1]
                effective = evidence.inliers * drawn**tuning.STRUCTURE_WEIGHT
                rank = evidence.inliers * fraction**tuning.RANK_WEIGHT
                evidence.agreement = fraction
                evidence.drawn_agreement = drawn
                evidence.effective_inliers = effective
                evidence.rank_evidence = rank
                evidence.false_alarm_rate = calibration.false_alarm_rate(effective)
                match.score = calibration.score(effective)
                checks += 1
            settled = max(settled, rank)
        return sorted(matches, key=rank_key, reverse=True)

    def _best_alignment(
        self,
        match: Match,
        position: int,
        view: StructureView,
        others: Callable[[], list[Match]],
        fraction: float,
    ) -> float:
        """Adopt into ``match`` the alternative alignment that agrees best, if one agrees better
        than ``fraction``; returns the agreement of the alignment kept."""
        for other in others():
            candidate = self.agreement(other, position, view)
            if candidate is not None and candidate > fraction:
                fraction = candidate
                match.homography = other.homography
                if other.evidence.scale is not None:
                    match.evidence.scale = other.evidence.scale
                    match.evidence.rotation_deg = other.evidence.rotation_deg
        return fraction
