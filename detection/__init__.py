"""Image science for Copywatch, as a pure library (no database, no queue).

Main verbs: :class:`detection.catalog.Catalog` (build/add/save/load), :class:`detection.matcher.Matcher`
(``match``), :func:`detection.logo.check`, and the benchmark protocols in :mod:`detection.evaluate`.
"""
