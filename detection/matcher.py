"""The matcher's public names, kept where callers import them from (:mod:`detection.matching`)."""

from detection.matching import Evidence, Match, Matcher, build_catalog, calibrate

__all__ = ["Evidence", "Match", "Matcher", "build_catalog", "calibrate"]
