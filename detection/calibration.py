"""What a match score means.

The matcher's evidence is the number of geometrically consistent feature matches (RANSAC
inliers) between a listing image and its best original, weighed by how well the aligned images
agree structurally (:mod:`detection.verify`). Unrelated images also produce some evidence by
chance, more so in large catalogs. :class:`Calibration` turns evidence x into

    score = 1 - FPR(x) ** (1 / ROOT)        (ROOT = 4)

where FPR(x) is the probability that an image *not* in the catalog reaches x against it. So a
threshold s admits a fraction (1 - s)^4 of innocent images: 0.50 → 6 %, 0.68 → 1 %,
0.82 → 0.1 %, 0.90 → 0.01 %. The map is strictly increasing and never saturates, so scores
still rank the strongest evidence. The null distribution is measured on the catalog itself when
it is built (leave-one-out: each sampled original's own pixels go through the matcher exactly
like a listing image, against the catalog without it, and the best evidence is kept), with an
exponential tail fitted from its 80th and 90th percentiles so rare events are extrapolated
rather than read off a handful of samples, and so near-duplicate originals inside the catalog do
not inflate it. No benchmark data is involved, so the meaning carries over to any brand's
catalog. (A catalog re-calibrated without pixels counts raw inliers from stored features: an
upper bound, since structure only ever lowers the evidence.)

What "not in the catalog" means here: images that share no artwork with it. A redrawn variant of
a catalog item shares most of its keypoints; the structure check lowers its evidence by how much
of the drawing differs, but a variant that differs only locally (another letter on the same
dreidel) looks like a copy under a sticker and scores like one. On the dev benchmark about 6 % of
the distractors are such variants (docs/benchmarks.md).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

ROOT = 4.0
# The tail is fitted between these quantiles: the top of the leave-one-out null holds pairs of
# *related* originals (colourways, re-drawn variants of one product), which are not chance.
TAIL_QUANTILE = 0.8
SCALE_QUANTILE = 0.9


@dataclass(frozen=True)
class Calibration:
    """Null model of the best inlier count of a not-in-catalog image."""

    sorted_null: tuple[float, ...]  # leave-one-out inlier counts, ascending
    tail_start: float  # the TAIL_QUANTILE quantile of the null
    tail_scale: float  # mean excess above tail_start (exponential tail)

    @classmethod
    def fit(cls, null_inliers: Sequence[float]) -> Calibration:
        """Fit from leave-one-out inlier counts (at least a few dozen are needed for a stable tail)."""
        values = np.sort(np.asarray(null_inliers, dtype=np.float64))
        if values.size == 0:
            return cls.default()
        start = float(np.quantile(values, TAIL_QUANTILE))
        spread = float(np.quantile(values, SCALE_QUANTILE)) - start
        # P(X > q90) / P(X > q80) = 1/2 under an exponential tail, so scale = spread / ln 2.
        # Floor on the scale: a tiny catalog must not claim a razor-thin tail it never observed.
        scale = max(spread / math.log(2.0), 2.0)
        return cls(tuple(float(v) for v in values), start, scale)

    @classmethod
    def default(cls) -> Calibration:
        """A conservative prior for catalogs too small to measure (inliers of chance ≈ 4–8)."""
        return cls(tuple(float(v) for v in range(0, 9)), 6.0, 3.0)

    def false_alarm_rate(self, inliers: float) -> float:
        """Estimated probability that a not-in-catalog image reaches ``inliers``."""
        if inliers <= 0:
            return 1.0
        if inliers <= self.tail_start:
            # A binary search of the sorted tuple itself (an array of it cost more than the search).
            count = len(self.sorted_null)
            at_or_above = count - bisect.bisect_left(self.sorted_null, inliers)
            return max(float(at_or_above) / count, 1.0 - TAIL_QUANTILE)
        return (1.0 - TAIL_QUANTILE) * math.exp(-(inliers - self.tail_start) / self.tail_scale)

    def score(self, inliers: float) -> float:
        """Calibrated score in [0, 1]; monotone non-decreasing in ``inliers``."""
        return float(1.0 - self.false_alarm_rate(inliers) ** (1.0 / ROOT))

    @staticmethod
    def threshold_for_rate(rate: float) -> float:
        """The score threshold that corresponds to a false-alarm rate (e.g. 0.01 → 0.684)."""
        if not 0 < rate <= 1:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        return 1.0 - rate ** (1.0 / ROOT)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            tuple(float(v) for v in data["sorted_null"]),
            float(data["tail_start"]),
            float(data["tail_scale"]),
        )
