"""The spider's seller step: name a listing's seller on its item, follow the seller's profile page.

Profile pages are followed only on the marketplace's own hosts, once each (Scrapy's duplicate
filter), through the same scheduler, politeness settings and page budget as every other page, and at
most ``COPYWATCH_MAX_SELLER_PAGES`` per crawl. A profile page that is missing (404, timeout) or
unreadable yields a :class:`~crawler.items.SellerItem` with the reason, so the seller keeps it and the
listing loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import scrapy
from scrapy.http import Response, TextResponse

from crawler.contacts import Contact
from crawler.items import ListingItem, SellerItem
from crawler.sellers import listing_contacts, read_seller_page, seller_of_listing

log = logging.getLogger(__name__)

DEFAULT_MAX_SELLER_PAGES = 500


def _contacts(found: list[Contact]) -> list[dict[str, str]]:
    return [{"kind": c.kind, "value": c.value, "raw": c.raw[:500]} for c in found]


def own_hosts(spider: Any) -> frozenset[str]:
    return frozenset(h.lower() for h in spider.allowed_domains)


def region(spider: Any) -> str | None:
    return spider.settings.get("COPYWATCH_REGION") or None


def attach_seller(spider: Any, item: ListingItem, schema_seller: Any, response: Response) -> None:
    """Put what the listing page says about its seller on ``item`` (``seller_info``, ``contacts``)."""
    try:
        selector = response.selector if isinstance(response, TextResponse) else None
        info = seller_of_listing(
            schema_seller or item.get("seller"), selector, response.url, own_hosts(spider)
        )
        contacts = (
            listing_contacts(selector, response.url, own_hosts(spider), region(spider)) if selector else []
        )
    except Exception as exc:  # noqa: BLE001 - the listing is kept without its seller details
        log.warning("seller details unreadable on %s: %s", response.url, exc)
        spider.crawler.stats.inc_value("copywatch/sellers/unreadable_listing_block")
        return
    if info is not None:
        item["seller_info"] = info
        if not item.get("seller") and info.get("name"):
            item["seller"] = info["name"]
    if contacts:
        item["contacts"] = _contacts(contacts)


def seller_requests(spider: Any, item: ListingItem) -> Iterator[scrapy.Request]:
    """The request for the item's seller profile page, once per profile and within the cap."""
    info = item.get("seller_info") or {}
    url = info.get("profile_url")
    if not url or (urlparse(url).hostname or "").lower() not in own_hosts(spider):
        return
    followed: set[str] = spider.__dict__.setdefault("_seller_pages", set())
    limit = spider.settings.getint("COPYWATCH_MAX_SELLER_PAGES", DEFAULT_MAX_SELLER_PAGES)
    if url in followed:
        return
    if len(followed) >= limit:
        spider.crawler.stats.inc_value("copywatch/sellers/pages_over_limit")
        return
    followed.add(url)
    yield scrapy.Request(
        url,
        callback=spider.parse_seller,
        errback=spider.seller_failed,
        cb_kwargs={"seller": dict(info)},
        meta={"seller": dict(info)},
    )


def parse_seller(spider: Any, response: Response, seller: dict[str, Any]) -> Iterator[SellerItem]:
    spider.crawler.stats.inc_value("copywatch/sellers/pages")
    if not isinstance(response, TextResponse):
        yield SellerItem(seller=seller, page_url=response.url, contacts=[], error="not an HTML page")
        return
    try:
        name, contacts = read_seller_page(
            response.text, response.url, own_hosts(spider), region(spider), response.selector
        )
    except Exception as exc:  # noqa: BLE001 - a malformed page is recorded on the seller, nothing else lost
        spider.crawler.stats.inc_value("copywatch/sellers/unreadable_pages")
        yield SellerItem(seller=seller, page_url=response.url, contacts=[], error=f"unreadable page: {exc}")
        return
    yield SellerItem(seller=seller, name=name, page_url=response.url, contacts=_contacts(contacts))


def seller_failed(spider: Any, failure: Any) -> Iterator[SellerItem]:
    request = failure.request
    response = getattr(failure.value, "response", None)
    reason = (
        f"HTTP {response.status}" if response is not None else f"{failure.type.__name__}: {failure.value}"
    )
    spider.crawler.stats.inc_value("copywatch/sellers/failed_pages")
    yield SellerItem(seller=request.meta.get("seller") or {}, page_url=request.url, contacts=[], error=reason)
