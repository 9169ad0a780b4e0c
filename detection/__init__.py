"""Image science for Copywatch, as a pure library (no database, no queue).

Main verbs: :class:`detection.catalog.Catalog` (add/save/load; :func:`detection.matching.build_catalog`), :class:`detection.matching.Matcher`
(``match``), :func:`detection.logo.check`, and the benchmark protocols in :mod:`detection.evaluate`.
"""
