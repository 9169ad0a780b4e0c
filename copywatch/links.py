"""Which URLs from crawled pages may become links: only http(s), whoever shows them (page or mail)."""

from __future__ import annotations

from urllib.parse import urlsplit

LINK_SCHEMES = frozenset({"http", "https"})


def http_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host, else None.

    A listing's URL comes from a marketplace page a seller controls: ``javascript:``,
    ``data:``, ``vbscript:`` or a URL hiding its scheme behind control characters must stay text.
    """
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname:
        return None
    return text
