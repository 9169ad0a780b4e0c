"""Shop-engine JSON adapters, from their documented public formats.

- Shopify storefront: ``GET /products.json?limit=250&page=N`` → ``{"products": [{"handle",
  "title", "vendor", "variants": [{"price"}], "images": [{"src"}]}]}``.
- WooCommerce Store API: ``GET /wp-json/wc/store/v1/products?per_page=100&page=N`` →
  ``[{"permalink", "name", "prices": {"price", "currency_code", "currency_minor_unit"},
  "images": [{"src"}]}]``.

A site that does not answer them (404, HTML) is simply crawled through its pages.

The JSON is the shop's word, not ours: a product's permalink is taken only when it is an http(s)
URL on the shop's own host (a hostile shop must not name another marketplace's listing), and a
product with a malformed field is skipped on its own (counted in ``copywatch/products/failed``)
while the rest of the page is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response

from crawler.items import ListingItem, ListingLoader, sanitize_listing
from crawler.sellers import seller_from_platform
from crawler.spiders import seller_pages

SHOPIFY, WOOCOMMERCE = "shopify", "woocommerce"
_PAGE_SIZE = {SHOPIFY: 250, WOOCOMMERCE: 100}
MAX_PAGES = 400


def _url(root: str, kind: str, page: int) -> str:
    if kind == SHOPIFY:
        return f"{root}/products.json?limit={_PAGE_SIZE[kind]}&page={page}"
    return f"{root}/wp-json/wc/store/v1/products?per_page={_PAGE_SIZE[kind]}&page={page}"


def discovery_requests(root: str, callback: Any) -> Iterator[scrapy.Request]:
    for kind in (SHOPIFY, WOOCOMMERCE):
        yield scrapy.Request(
            _url(root, kind, 1),
            callback=callback,
            cb_kwargs={"kind": kind, "page": 1},
            meta={"handle_httpstatus_list": [404, 403, 401], "root": root},
            dont_filter=True,
        )


def parse(spider: Any, response: Response, kind: str, page: int) -> Iterator[ListingItem | scrapy.Request]:
    if response.status != 200:
        return
    try:
        payload = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return
    products = payload.get("products") if kind == SHOPIFY and isinstance(payload, dict) else payload
    if not isinstance(products, list) or not products:
        return
    spider.crawler.stats.inc_value(f"copywatch/platform/{kind}/pages")
    root = response.meta["root"]
    stats = spider.crawler.stats
    for product in products:
        try:
            item = _item(product, kind, root) if isinstance(product, dict) else None
        except (ArithmeticError, TypeError, ValueError, AttributeError) as exc:
            stats.inc_value("copywatch/products/failed")
            stats.inc_value(f"copywatch/products/failed/{kind}: {type(exc).__name__}")
            continue
        if item is None:
            stats.inc_value("copywatch/products/failed")
            stats.inc_value(f"copywatch/products/failed/{kind}: no usable permalink")
            continue
        problems = sanitize_listing(item)
        for problem in problems:
            stats.inc_value(f"copywatch/fields/{problem}")
        if "url_too_long" in problems:
            stats.inc_value("copywatch/products/failed")
            continue
        stats.inc_value(f"copywatch/products/{kind}")
        yield item
        yield from seller_pages.seller_requests(spider, item)
    if len(products) >= _PAGE_SIZE[kind] and page < MAX_PAGES:
        yield scrapy.Request(
            _url(root, kind, page + 1),
            callback=spider.parse_platform,
            cb_kwargs={"kind": kind, "page": page + 1},
            meta={"handle_httpstatus_list": [404], "root": root},
            dont_filter=True,
        )


def own_url(root: str, link: Any) -> str | None:
    """``link`` resolved against the shop's ``root`` when it is an http(s) URL of that same host."""
    if not isinstance(link, str) or not link.strip():
        return None
    url = urljoin(root + "/", link.strip())
    parts, own = urlsplit(url), urlsplit(root)
    if parts.scheme not in {"http", "https"} or parts.hostname != own.hostname:
        return None
    if parts.port != own.port:  # another port of the host is another site
        return None
    return url


def _item(product: dict[str, Any], kind: str, root: str) -> ListingItem | None:
    loader = ListingLoader()
    if kind == SHOPIFY:
        handle = product.get("handle")
        if not handle:
            return None
        loader.add_value("url", f"{root}/products/{handle}")
        loader.add_value("title", product.get("title"))
        variants = product.get("variants") or [{}]
        loader.add_value("price", (variants[0] or {}).get("price"))
        loader.add_value("seller", product.get("vendor"))
        images = [i.get("src") for i in product.get("images") or [] if isinstance(i, dict)]
    else:
        permalink = own_url(root, product.get("permalink"))
        if permalink is None:
            return None
        loader.add_value("url", permalink)
        loader.add_value("title", product.get("name"))
        prices = product.get("prices") or {}
        if prices.get("price") is not None:
            minor = int(prices.get("currency_minor_unit", 2) or 0)
            loader.add_value("price", Decimal(str(prices["price"])) / (Decimal(10) ** minor))
            loader.add_value("currency", prices.get("currency_code"))
        images = [i.get("src") for i in product.get("images") or [] if isinstance(i, dict)]
    loader.add_images([i for i in images if i], root + "/")
    item = loader.load_item()
    if (seller := seller_from_platform(product, root)) is not None:
        item["seller_info"] = seller
        if not item.get("seller") and seller.get("name"):
            item["seller"] = seller["name"]
    return item
