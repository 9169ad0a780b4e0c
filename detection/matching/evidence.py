"""What a match rests on (:class:`Evidence`) and the match itself (:class:`Match`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Evidence:
    """Why an original was matched, and how surely.

    Attributes:
        inliers: correspondences the fitted alignment explains (RANSAC inliers).
        votes: query keypoints whose nearest catalog descriptors belong to the original.
        correspondences: one-to-one keypoint pairs the alignment was fitted to.
        false_alarm_rate: how often an image that copies nothing gets this much evidence
            (:mod:`detection.calibration`): of the inliers, or once checked, of the effective ones.
        mirrored: the alignment maps the original onto the query's mirror image.
        scale, rotation_deg: the alignment's scale and rotation (None: no alignment).
        agreement: the share of the aligned blocks where either image is drawn whose structure
            the query agrees with (None: not structure-checked); the ranking's measure.
        drawn_agreement: the same over the blocks where the original is drawn (structure the
            listing adds over the original's blank background left out); the score's measure.
        effective_inliers: ``inliers x drawn_agreement^STRUCTURE_WEIGHT``, what the score rests
            on once checked.
        rank_evidence: ``inliers x agreement^RANK_WEIGHT``, what the ranking rests on once checked.
        strip_similarity: set when the strip fallback ranked this original first.
        pasted_at: the top-left corner of the pasted picture it was found in, in the listing.
    """

    inliers: float = 0.0
    votes: float = 0.0
    correspondences: float = 0.0
    false_alarm_rate: float = 1.0
    mirrored: bool = False
    scale: float | None = None
    rotation_deg: float | None = None
    agreement: float | None = None
    drawn_agreement: float | None = None
    effective_inliers: float | None = None
    rank_evidence: float | None = None
    strip_similarity: float | None = None
    pasted_at: tuple[float, float] | None = None

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / max(self.correspondences, 1.0)

    @property
    def checked(self) -> bool:
        """Whether the structure check weighed this alignment."""
        return self.agreement is not None

    @property
    def score_evidence(self) -> float:
        """Structure-weighed inliers when checked, else the inliers."""
        return self.effective_inliers if self.effective_inliers is not None else self.inliers

    @property
    def ranking_evidence(self) -> float:
        return self.rank_evidence if self.rank_evidence is not None else self.inliers

    def as_components(self) -> dict[str, float]:
        """The flat ``{name: number}`` stored with a detection (only what was measured)."""
        out = {
            "inliers": float(self.inliers),
            "votes": float(self.votes),
            "correspondences": float(self.correspondences),
            "inlier_ratio": float(self.inlier_ratio),
            "false_alarm_rate": float(self.false_alarm_rate),
            "mirrored": 1.0 if self.mirrored else 0.0,
        }
        optional = {
            "scale": self.scale,
            "rotation_deg": self.rotation_deg,
            "agreement": self.agreement,
            "drawn_agreement": self.drawn_agreement,
            "effective_inliers": self.effective_inliers,
            "rank_evidence": self.rank_evidence,
            "strip_similarity": self.strip_similarity,
        }
        out.update({name: float(value) for name, value in optional.items() if value is not None})
        if self.pasted_at is not None:
            out["pasted_at_x"], out["pasted_at_y"] = (float(v) for v in self.pasted_at)
        return out

    @classmethod
    def from_components(cls, components: Mapping[str, float]) -> Evidence:
        """The inverse of :meth:`as_components` (a stored detection's, or a hand-made one)."""
        names = (
            "scale",
            "rotation_deg",
            "agreement",
            "drawn_agreement",
            "effective_inliers",
            "rank_evidence",
            "strip_similarity",
        )
        optional = {n: float(components[n]) for n in names if n in components}
        pasted = None
        if "pasted_at_x" in components:
            pasted = (float(components["pasted_at_x"]), float(components.get("pasted_at_y", 0.0)))
        inliers = float(components.get("inliers", 0.0))
        return cls(
            inliers=inliers,
            votes=float(components.get("votes", 0.0)),
            correspondences=float(components.get("correspondences", inliers)),
            false_alarm_rate=float(components.get("false_alarm_rate", 1.0)),
            mirrored=bool(components.get("mirrored", 0.0)),
            pasted_at=pasted,
            **optional,
        )


@dataclass
class Match:
    """One candidate original for a query image.

    ``evidence`` may be given as a ``components`` mapping (:meth:`Evidence.from_components`).
    """

    original_id: str
    score: float
    evidence: Evidence = field(default_factory=Evidence)
    region_query: list[tuple[float, float]] | None = None
    region_original: list[tuple[float, float]] | None = None
    transform: str | None = None
    homography: list[list[float]] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.evidence, Evidence):
            self.evidence = Evidence.from_components(self.evidence or {})

    @property
    def components(self) -> dict[str, float]:
        """The evidence as the flat numbers a detection row stores."""
        return self.evidence.as_components()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["components"] = data.pop("evidence") and self.components
        return data
