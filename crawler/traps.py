"""A guard against link traps: endless chains of pages of one URL pattern.

A calendar's "next day", a session id added to every link, a filter that combines itself with
itself — each page links to one more page *of the same shape*, for ever. A shop's real pages do
not chain like that for long: categories link to products (another shape), pagination runs a
few hundred pages at most. So each request carries how many links in a row led from a page of
its pattern to a page of the same pattern, and links beyond ``max_chain`` are dropped (counted
as ``copywatch/traps/links_dropped``, with the last pattern in ``copywatch/traps/pattern``).

A URL's pattern is its host and path with every run of digits (and every long hex/uuid-like
segment) replaced by ``#``, plus its query's parameter names without their values.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

_DIGITS = re.compile(r"\d+")
_OPAQUE = re.compile(r"^[0-9a-f-]{16,}$", re.I)


class TrapGuard:
    DEFAULT_CHAIN = 200

    def __init__(self, max_chain: int = DEFAULT_CHAIN) -> None:
        self.max_chain = max_chain
        self._source, self._source_pattern = "", ""  # the page whose links are being followed

    @staticmethod
    def pattern(url: str) -> str:
        parts = urlsplit(url)
        segments = ["#" if _OPAQUE.match(s) else _DIGITS.sub("#", s) for s in parts.path.split("/")]
        names = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
        return parts.netloc + "/".join(segments) + ("?" + "&".join(names) if names else "")

    def follow(self, source: str, target: str, chain: int | None) -> int | None:
        """The chain length of ``target`` reached from ``source`` (at ``chain``), or None to drop it."""
        if self.max_chain <= 0:
            return 0
        if self._source != source:
            self._source, self._source_pattern = source, self.pattern(source)
        if self._source_pattern != self.pattern(target):
            return 0
        length = (chain or 0) + 1
        return None if length > self.max_chain else length
