"""A guard against link traps: endless chains of pages of one URL pattern.

A calendar's "next day", a session id added to every link, a filter that combines itself with
itself, a listing whose "next page" link never runs out (page 50 of a 3-page category, empty, links
to page 51) — each page links to one more page *of the same shape*, for ever. A shop's real pages
do not chain like that for long: categories link to products (another shape), pagination runs a
few hundred pages at most, and every real page of a listing shows something not seen before. So
each request carries how many links in a row led from a page of its pattern to a page of the same
pattern, and how many of those pages in a row were **dry** (showed at most one link not seen
anywhere before: nothing but their own "next"). Links of the same pattern are dropped beyond
``max_chain`` pages or beyond ``max_dry`` dry pages (counted as ``copywatch/traps/links_dropped``,
with the last pattern in ``copywatch/traps/pattern``).

A URL's pattern is its host and path with every run of digits (and every long hex/uuid-like
segment) replaced by ``#``, plus its query's parameter names without their values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

_DIGITS = re.compile(r"\d+")
_OPAQUE = re.compile(r"^[0-9a-f-]{16,}$", re.I)


@dataclass(frozen=True)
class Step:
    """Where a followed link stands: its chain of same-pattern links and the dry pages in it."""

    url: str
    chain: int
    dry: int


class TrapGuard:
    DEFAULT_CHAIN = 200
    DEFAULT_DRY = 3

    def __init__(self, max_chain: int = DEFAULT_CHAIN, max_dry: int = DEFAULT_DRY) -> None:
        self.max_chain = max_chain
        self.max_dry = max_dry
        self._seen: set[int] = set()  # hashes of every link seen on a page so far
        self.dropped_pattern = ""  # the pattern of the last link dropped

    @staticmethod
    def pattern(url: str) -> str:
        parts = urlsplit(url)
        segments = ["#" if _OPAQUE.match(s) else _DIGITS.sub("#", s) for s in parts.path.split("/")]
        names = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
        return parts.netloc + "/".join(segments) + ("?" + "&".join(names) if names else "")

    def follow(
        self, source: str, targets: Iterable[str], chain: int | None, dry: int | None
    ) -> Iterator[Step | None]:
        """Each of ``source``'s links as the step to follow, or None where it is dropped.

        ``chain`` and ``dry`` are the source's own (None for a start page)."""
        targets = list(targets)
        seen = self._seen
        fresh = 0
        for target in targets:
            key = hash(target)
            if key not in seen:
                seen.add(key)
                fresh += 1
        if self.max_chain <= 0:
            yield from (Step(target, 0, 0) for target in targets)
            return
        page_dry = (dry or 0) + 1 if fresh <= 1 else 0
        source_pattern = self.pattern(source)
        for target in targets:
            target_pattern = self.pattern(target)
            if target_pattern != source_pattern:
                yield Step(target, 0, 0)
                continue
            length = (chain or 0) + 1
            if length > self.max_chain or (self.max_dry > 0 and page_dry > self.max_dry):
                self.dropped_pattern = target_pattern
                yield None
            else:
                yield Step(target, length, page_dry)
