"""The matcher in parts behind the :class:`Matcher` facade.

``search`` (catalog search and votes), ``geometry`` (RANSAC alignments), ``structure`` (the
structure check), ``looks`` (second looks and the strip fallback), ``ranking`` (ordering and
merging), ``evidence`` (:class:`Evidence`, :class:`Match`), ``calibrate`` (a catalog's score
calibration), ``tuning`` (the constants).
"""

from detection.matching.calibrate import build_catalog, calibrate
from detection.matching.evidence import Evidence, Match
from detection.matching.matcher import Matcher

__all__ = ["Evidence", "Match", "Matcher", "build_catalog", "calibrate"]
