"""What a user gets with the shipped thresholds: copies alerted and reviewed, innocents lifted.

A recall-at-false-alarm curve picks its own threshold per benchmark; a user sees one fixed pair
(the review and the alert threshold of the settings). For those, :func:`at_thresholds` reports the
share of in-catalog queries whose *true* original scores at or above each (overall and per
family), and how many not-in-catalog queries have any original at or above each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detection.evaluate import QueryOutcome


@dataclass(frozen=True)
class Thresholds:
    """The score thresholds a deployment uses: stored for review, and mailed as an alert."""

    review: float
    alert: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.alert <= 1.0:
            raise ValueError(f"need 0 <= review <= alert <= 1, got {self.review} and {self.alert}")


def true_score(outcome: QueryOutcome) -> float:
    """The score the query's true original got (0 when it was not returned)."""
    return max((score for oid, score in outcome.catalog_ranking if oid == outcome.original_id), default=0.0)


def best_score(outcome: QueryOutcome) -> float:
    """The highest score any original got for the query (0 when none was returned)."""
    return max((score for _, score in outcome.catalog_ranking), default=0.0)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def at_thresholds(outcomes: Sequence[QueryOutcome], thresholds: Thresholds) -> dict[str, Any]:
    """The ``at_thresholds`` object of ``copywatch eval --json``.

    Returns:
        ``alert`` and ``review`` (the thresholds), ``copies_alerted`` and ``copies_reviewed``
        (percent of in-catalog queries whose true original scores at or above each),
        ``innocents_alerted`` and ``innocents_reviewed`` (counts of not-in-catalog queries whose
        best score is at or above each), ``innocents`` (how many there are), and ``by_transform``
        (``{family: {"alerted": %, "reviewed": %}}`` over the in-catalog queries).
    """
    copies = [o for o in outcomes if o.original_id is not None]
    innocents = [best_score(o) for o in outcomes if o.original_id is None]
    families: dict[str, list[float]] = defaultdict(list)
    for outcome in copies:
        families[outcome.transform].append(true_score(outcome))
    scores = [score for family in families.values() for score in family]

    def share(values: Sequence[float], threshold: float) -> float:
        return _percent(sum(1 for v in values if v >= threshold), len(values))

    return {
        "alert": thresholds.alert,
        "review": thresholds.review,
        "copies_alerted": share(scores, thresholds.alert),
        "copies_reviewed": share(scores, thresholds.review),
        "innocents_alerted": sum(1 for s in innocents if s >= thresholds.alert),
        "innocents_reviewed": sum(1 for s in innocents if s >= thresholds.review),
        "innocents": len(innocents),
        "by_transform": {
            family: {"alerted": share(values, thresholds.alert), "reviewed": share(values, thresholds.review)}
            for family, values in sorted(families.items())
        },
    }


def format_at_thresholds(block: dict[str, Any]) -> list[str]:
    """Table lines for an :func:`at_thresholds` object."""
    lines = [
        f"  at thresholds     copies alerted {block['copies_alerted']:6.2f} (>= {block['alert']:g}),"
        f" reviewed {block['copies_reviewed']:6.2f} (>= {block['review']:g});"
        f" innocents alerted {block['innocents_alerted']} / reviewed {block['innocents_reviewed']}"
        f" of {block['innocents']}"
    ]
    for family, shares in block["by_transform"].items():
        lines.append(f"    {family:<14} alerted {shares['alerted']:6.2f}  reviewed {shares['reviewed']:6.2f}")
    return lines
