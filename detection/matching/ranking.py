"""Ordering and merging matches: which original a listing most likely copies."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from detection.matching import tuning
from detection.matching.evidence import Match


def rank_key(match: Match) -> tuple[float, float, float]:
    """Ranking evidence (structure-weighed inliers once checked), then score, then votes."""
    evidence = match.evidence
    return (evidence.ranking_evidence, match.score, evidence.votes)


def conclusive(matches: Sequence[Match]) -> bool:
    """Whether any match's evidence leaves no doubt (false-alarm rate at most UNSETTLED_ABOVE_RATE)."""
    return any(m.evidence.false_alarm_rate <= tuning.UNSETTLED_ABOVE_RATE for m in matches)


def merged_rank_key(match: Match) -> tuple[bool, float, float, float, float]:
    """:func:`rank_key` for matches found in different parts of a listing (the whole image and
    the pictures pasted into it): conclusive ones first, by score. Two conclusive matches of
    different pictures are not look-alikes competing for one region, where structure-weighed
    inliers pick the source; the surer copy goes first."""
    sure = conclusive([match])
    return (sure, match.score if sure else 0.0, *rank_key(match))


def merge(matches: list[Match], more: list[Match]) -> list[Match]:
    """Both lists' matches, one per original (the better ranked), best first."""
    best: dict[str, Match] = {}
    for match in [*matches, *more]:
        held = best.get(match.original_id)
        if held is None or rank_key(match) > rank_key(held):
            best[match.original_id] = match
    return sorted(best.values(), key=merged_rank_key, reverse=True)


def one_per_original(matches: list[Match]) -> list[Match]:
    """One alignment per original, best ranked first: the best structure-checked one where any
    was checked (an unchecked alternative keeps its raw inliers, so it must not outrank the
    verdict), else the one with the most inliers."""
    best: dict[str, Match] = {}
    for match in matches:
        held = best.get(match.original_id)
        if held is None:
            best[match.original_id] = match
            continue
        checked, held_checked = match.evidence.checked, held.evidence.checked
        if checked != held_checked:
            better = checked
        elif checked:
            better = rank_key(match) > rank_key(held)
        else:
            better = (match.evidence.inliers, match.evidence.votes) > (
                held.evidence.inliers,
                held.evidence.votes,
            )
        if better:
            best[match.original_id] = match
    return sorted(best.values(), key=rank_key, reverse=True)


def shifted(match: Match, dx: int, dy: int) -> Match:
    """A match found in the crop at ``(dx, dy)`` of the query, in the query's pixels."""
    shift = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])
    homography = None if match.homography is None else (shift @ np.asarray(match.homography)).tolist()
    evidence = dataclasses.replace(match.evidence, pasted_at=(float(dx), float(dy)))
    return dataclasses.replace(match, homography=homography, evidence=evidence)
