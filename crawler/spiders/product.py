"""The generic product spider: works on most shops without per-site code.

It starts from the marketplace's start URLs and its sitemap, follows links inside the allowed
domains (categories, pagination), and recognises product pages by their structured data. When a
site answers the Shopify storefront ``/products.json`` or the WooCommerce Store API, listings
are read from those documented JSON formats as well (see :mod:`crawler.spiders.platforms`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urldefrag, urlparse

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import SitemapSpider

from crawler.extract import IMAGE_EXTENSIONS, extract_product
from crawler.items import ListingItem, make_listing_item
from crawler.spiders import platforms, seller_pages

SKIP_EXTENSIONS = [ext.lstrip(".") for ext in IMAGE_EXTENSIONS] + [
    "css", "js", "pdf", "zip", "svg", "ico", "mp4", "webm", "woff", "woff2", "ttf", "json", "xml",
]  # fmt: skip


class ProductSpider(SitemapSpider):
    name = "product"

    def __init__(
        self, start_urls: Sequence[str] | str = (), marketplace_id: int | None = None, **kwargs: Any
    ) -> None:
        urls = [start_urls] if isinstance(start_urls, str) else list(start_urls)
        if not urls:
            raise ValueError("the product spider needs at least one start URL")
        self.start_urls = urls
        self.marketplace_id = marketplace_id
        self.allowed_domains = sorted({urlparse(u).hostname or "" for u in urls} - {""})
        roots = sorted({f"{urlparse(u).scheme}://{urlparse(u).netloc}" for u in urls})
        self.sitemap_urls = [f"{root}/robots.txt" for root in roots] + [
            f"{root}/sitemap.xml" for root in roots
        ]
        self.sitemap_rules = [("", "parse_page")]
        self._roots = roots
        # Off-site links are dropped by Scrapy's OffsiteMiddleware (allowed_domains), which ignores ports.
        self._links = LinkExtractor(deny_extensions=SKIP_EXTENSIONS)
        super().__init__(**kwargs)

    async def start(self):  # noqa: ANN201 - Scrapy's async start
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_page)
        for root in self._roots:
            for request in platforms.discovery_requests(root, self.parse_platform):
                yield request
        async for request in super().start():
            yield request

    def _parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        # A missing sitemap is normal; robots.txt and sitemap.xml errors must not count as failures.
        if response.status != 200:
            return
        yield from super()._parse_sitemap(response)

    def parse_page(self, response: Response) -> Iterator[ListingItem | scrapy.Request]:
        if not isinstance(response, TextResponse):
            return
        self.crawler.stats.inc_value("copywatch/pages")
        product = extract_product(response.text, response.url, response.selector)
        if product is not None:
            item = self.listing_item(response, product)
            if item is not None:
                yield item
                yield from seller_pages.seller_requests(self, item)
        for link in self._links.extract_links(response):
            yield response.follow(urldefrag(link.url)[0], callback=self.parse_page)

    def listing_item(self, response: Response, product: Any) -> ListingItem | None:
        canonical = product.canonical_url
        url = response.urljoin(canonical) if canonical else response.url
        if urlparse(url).hostname not in self.allowed_domains:
            url = response.url  # a canonical pointing off-site is not this listing
        item = make_listing_item(
            url=urldefrag(url)[0],
            title=product.title,
            price=product.price,
            currency=product.currency,
            seller=product.seller,
            images=product.images,
            base=response.url,
        )
        seller_pages.attach_seller(self, item, getattr(product, "seller_node", None), response)
        self.crawler.stats.inc_value(f"copywatch/products/{product.source or 'html'}")
        return item

    def parse_seller(self, response: Response, seller: dict[str, Any]) -> Iterator[Any]:
        yield from seller_pages.parse_seller(self, response, seller)

    def seller_failed(self, failure: Any) -> Iterator[Any]:
        yield from seller_pages.seller_failed(self, failure)

    # Platform JSON responses are handled in platforms.py and come back here as items.
    def parse_platform(self, response: Response, kind: str, page: int) -> Iterator[Any]:
        yield from platforms.parse(self, response, kind, page)
