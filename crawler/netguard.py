"""Which URLs and addresses a crawl may fetch: a small pure policy, no Scrapy, no I/O.

A crawl is pointed at other people's sites, and those sites choose the links, redirects and
image URLs it follows. Without a policy, a hostile shop could make the crawler fetch the
crawler's own network (``http://169.254.169.254/``, ``http://localhost:6379/``, an intranet
host), a silent port or another scheme (``ftp://``). The policy:

- only ``http`` and ``https``;
- the address a host name resolves to must be public: loopback, private, link-local,
  multicast, reserved, unspecified and shared (CGNAT) addresses are refused — except for the
  shop's own hosts (those of its start URLs) when the marketplace is explicitly marked local
  (tests, the demo, a shop on one's own machine): even then its pages cannot send the crawler
  to *another* local host;
- a host of the shop's own is fetched on its default ports (80/443) and the ports the start
  URLs name; any other port only when configured (``allowed_ports``). Images and redirects to
  other hosts (CDNs) are allowed on the default ports only.

Use :func:`url_refusal` before a request is sent (scheme, port, literal IP addresses) and
:func:`address_refusal` on the address DNS gave, just before connecting; each returns the reason
for refusing or ``None`` when the fetch is allowed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from copywatch.addresses import non_public_kind

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FetchPolicy:
    """What one crawl may fetch.

    Attributes:
        allow_local: the marketplace is marked local: its own hosts may have non-public addresses.
        own_ports: ``(host, port)`` pairs of the shop's start URLs (any port they name).
        allowed_ports: further ports allowed on any host (configured per marketplace).
    """

    allow_local: bool = False
    own_ports: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    allowed_ports: frozenset[int] = field(default_factory=frozenset)

    @property
    def own_hosts(self) -> frozenset[str]:
        return frozenset(host for host, _ in self.own_ports)

    def local_allowed(self, host: str | None) -> bool:
        """Whether ``host`` may have a non-public address (an own host of a local marketplace)."""
        return (
            self.allow_local
            and host is not None
            and host.lower().strip("[]") in {h.strip("[]") for h in self.own_hosts}
        )

    @classmethod
    def for_start_urls(
        cls, start_urls: Collection[str], *, allow_local: bool = False, allowed_ports: Collection[int] = ()
    ) -> FetchPolicy:
        own = set()
        for url in start_urls:
            parts = urlsplit(url)
            if parts.hostname and parts.scheme in ALLOWED_SCHEMES:
                own.add((parts.hostname.lower(), _port(parts.scheme, parts.port)))
        return cls(allow_local, frozenset(own), frozenset(int(p) for p in allowed_ports))


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else DEFAULT_PORTS.get(scheme, 0)


def url_refusal(url: str, policy: FetchPolicy) -> str | None:
    """Why ``url`` must not be fetched (scheme, port, a literal non-public address), or None.

    Host names are checked again once resolved (:func:`address_refusal`).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"malformed URL: {exc}"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"scheme {scheme or '(none)'!r} not allowed (only http and https)"
    host = (parts.hostname or "").lower()
    if not host:
        return "no host"
    port = _port(scheme, port)
    allowed = port in DEFAULT_PORTS.values() or port in policy.allowed_ports
    if not allowed and (host, port) not in policy.own_ports:
        return f"port {port} not allowed on {host} (only 80, 443 and the start URLs' ports)"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None  # a name: checked once resolved
    return address_refusal(str(address), policy, host)


def address_refusal(address: str, policy: FetchPolicy, host: str | None = None) -> str | None:
    """Why connecting to the IP ``address`` (of the name ``host``) is refused, or None.

    Refused: any address that is not public, unless ``host`` is an own host of a local marketplace.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"not an IP address: {address!r}"
    if policy.local_allowed(host):
        return None
    kind = non_public_kind(ip)
    if kind is None:
        return None
    why = (
        "not one of a local marketplace's own hosts"
        if policy.allow_local
        else "the marketplace is not marked local"
    )
    return f"{kind} address {ip} refused ({why})"
