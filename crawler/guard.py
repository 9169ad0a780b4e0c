"""Scrapy glue for :mod:`crawler.netguard`: every request of a crawl is checked before it is sent.

- :class:`GuardMiddleware` (downloader middleware, first in line) checks each request —
  pages, robots.txt, sitemaps, images, and every hop of a redirect, since a redirect is a new
  request — for its scheme and port, resolves its host through the crawl's DNS resolver and
  refuses non-public addresses (``IgnoreRequest`` with the reason, counted under
  ``copywatch/refused/<kind>``).
- :class:`GuardedResolver` is the reactor's resolver for the crawl: the address a connection is
  made to is the one it returns, so it refuses non-public answers too (a name that changes its
  answer between the check and the connection gains nothing). Scrapy's DNS cache keeps the
  answer the middleware checked for the connection that follows.

Both read the policy from the crawl's settings: ``COPYWATCH_ALLOW_LOCAL`` (the marketplace is
marked local), ``COPYWATCH_OWN_PORTS`` (``["host:port", …]`` of the start URLs) and
``COPYWATCH_ALLOWED_PORTS``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from crawler.netguard import FetchPolicy, address_refusal, url_refusal

log = logging.getLogger(__name__)


class AddressRefused(DNSLookupError):
    """A host name resolved to an address the crawl may not reach."""


def policy_from_settings(settings: Any) -> FetchPolicy:
    own = set()
    for entry in settings.getlist("COPYWATCH_OWN_PORTS"):
        host, _, port = str(entry).rpartition(":")
        if host and port.isdigit():
            own.add((host.lower(), int(port)))
    return FetchPolicy(
        allow_local=settings.getbool("COPYWATCH_ALLOW_LOCAL"),
        own_ports=frozenset(own),
        allowed_ports=frozenset(int(p) for p in settings.getlist("COPYWATCH_ALLOWED_PORTS")),
    )


def _kind(reason: str) -> str:
    """The stats key of a refusal: ``scheme``, ``port`` or ``address``."""
    for kind in ("scheme", "port"):
        if reason.startswith(kind):
            return kind
    return "address"


class GuardMiddleware:
    """Refuse requests the fetch policy does not allow (before any byte is sent)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.policy = policy_from_settings(crawler.settings)
        self._verdicts: dict[str, str | None] = {}  # host -> reason (resolved once per crawl)
        self._origins: dict[str, str | None] = {}  # "scheme://netloc" -> reason

    @classmethod
    def from_crawler(cls, crawler: Any) -> GuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> Any:
        """None (go on) for an origin already allowed, else the check as a coroutine."""
        # Scheme, host and port decide: the verdict of an origin is kept for the crawl.
        origin = request.url.split("/", 3)[:3]
        key = "/".join(origin) if len(origin) == 3 and origin[0].endswith(":") and not origin[1] else None
        if key is not None and key in self._origins:
            reason = self._origins[key]
            if reason is None:
                return None
            self.crawler.stats.inc_value(f"copywatch/refused/{_kind(reason)}")
            raise IgnoreRequest(f"refused: {reason}")
        return self._check(request, key)

    async def _check(self, request: Request, key: str | None) -> None:
        reason = url_refusal(request.url, self.policy)
        if reason is None:
            reason = await self._host_refusal(request)
        if key is not None and len(self._origins) < 10_000:
            self._origins[key] = reason
        if reason is not None:
            log.info("refusing %s: %s", key or request.url[:200], reason)
            self.crawler.stats.inc_value(f"copywatch/refused/{_kind(reason)}")
            raise IgnoreRequest(f"refused: {reason}")

    async def _host_refusal(self, request: Request) -> str | None:
        from urllib.parse import urlsplit

        host = (urlsplit(request.url).hostname or "").lower()
        if self.policy.local_allowed(host):
            return None
        try:
            ipaddress.ip_address(host.strip("[]"))
            return None  # a literal address: checked by url_refusal
        except ValueError:
            pass
        if host in self._verdicts:
            return self._verdicts[host]
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import reactor

        try:
            address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]
        except AddressRefused as exc:
            verdict: str | None = str(exc.args[0]) if exc.args else "address refused"
        except Exception:  # noqa: BLE001 - an unresolvable name fails later, as a download error
            return None
        else:
            verdict = address_refusal(address, self.policy, host)
            if verdict:
                verdict = f"{host} resolves to a {verdict}"
        self._verdicts[host] = verdict
        return verdict


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing answers that are not public addresses."""

    policy: FetchPolicy = FetchPolicy()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.policy = policy_from_settings(crawler.settings)
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:  # noqa: N802 - Twisted's name
        deferred = super().getHostByName(name, timeout)
        deferred.addCallback(self._check, name)
        return deferred

    def _check(self, address: str, name: str) -> str:
        reason = address_refusal(address, self.policy, name)
        if reason is not None:
            raise AddressRefused(f"{name} resolves to a {reason}")
        return address
