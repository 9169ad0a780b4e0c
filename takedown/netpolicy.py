"""Which URLs the evidence fetcher and the browser may reach — the crawler's rules.

Only http and https; never a loopback, private, link-local, multicast or reserved address (after
DNS resolution) unless the marketplace is marked local. Which addresses are not public is
:func:`copywatch.addresses.non_public_kind`, the crawler's rule.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from copywatch.addresses import non_public_kind

ALLOWED_SCHEMES = frozenset({"http", "https"})


class FetchRefused(ValueError):
    """The URL may not be fetched (scheme, host or address); the message says why."""


def marketplace_is_local(marketplace_settings: Mapping[str, Any] | None) -> bool:
    """A marketplace served on this machine or a private network: the demo's (``demo``) and those
    marked ``local`` (or ``allow_private``) in their settings."""
    values = marketplace_settings or {}
    return any(bool(values.get(key)) for key in ("local", "allow_private", "demo"))


def _public(address: str) -> bool:
    return non_public_kind(ipaddress.ip_address(address.split("%", 1)[0])) is None


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse ``url`` unless it is http(s) and (unless ``allow_private``) every address its host
    resolves to is public.

    Raises:
        FetchRefused: naming the scheme, the missing host, an unresolvable host or the address.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise FetchRefused(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}")
    host = parts.hostname
    if not host:
        raise FetchRefused(f"no host in {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise FetchRefused(f"cannot resolve {host!r}: {exc}") from None
    for info in infos:
        address = str(info[4][0])
        if not _public(address):
            raise FetchRefused(f"{host!r} resolves to a non-public address ({address})")
