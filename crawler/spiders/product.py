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
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import SitemapSpider

from crawler.extract import IMAGE_EXTENSIONS, ProductData, extract_product, product_by_template
from crawler.html_product import page_template_key
from crawler.items import ListingItem, make_listing_item, sanitize_listing
from crawler.spiders import platforms, seller_pages
from crawler.traps import TrapGuard

#: Pages parsed per crawl before it stops (``COPYWATCH_MAX_PAGES``; 0 = no budget).
DEFAULT_MAX_PAGES = 50_000

SKIP_EXTENSIONS = [ext.lstrip(".") for ext in IMAGE_EXTENSIONS] + [
    "css", "js", "pdf", "zip", "svg", "ico", "mp4", "webm", "woff", "woff2", "ttf", "json", "xml",
]  # fmt: skip


class ProductSpider(SitemapSpider):
    name = "product"
    max_pages: int = DEFAULT_MAX_PAGES
    traps: TrapGuard | None = None

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
        # Product identity on the site (a purchase control's target) -> the listing URL that took it.
        self._identities: dict[str, str] = {}
        # Learnt product templates (URL shape + title position) -> levels from the title to the block,
        # and pages of a template not learnt yet, fetched again once it is (see html_product).
        self._templates: dict[str, int] = {}
        self._pending: dict[str, list[str]] = {}
        super().__init__(**kwargs)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ProductSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.max_pages = settings.getint("COPYWATCH_MAX_PAGES", DEFAULT_MAX_PAGES)
        spider.traps = TrapGuard(
            settings.getint("COPYWATCH_TRAP_CHAIN", TrapGuard.DEFAULT_CHAIN),
            settings.getint("COPYWATCH_TRAP_DRY", TrapGuard.DEFAULT_DRY),
        )
        return spider

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
        stats = self.crawler.stats
        max_pages = self.max_pages
        pages = (stats.get_value("copywatch/pages") or 0) + 1
        if max_pages and pages > max_pages:
            return  # a response that was in flight when the budget closed the crawl
        stats.set_value("copywatch/pages", pages)
        product = extract_product(response.text, response.url, response.selector)
        if product is None:
            product = self.by_template(response)
        if product is not None:
            item = self.listing_item(response, product)
            if item is not None:
                yield item
                yield from seller_pages.seller_requests(self, item)
                if product.template is not None:  # never from a page that repeats a product (a review form)
                    yield from self.learn_template(response, *product.template)
        if max_pages and pages >= max_pages:
            stats.set_value("copywatch/budget/pages_reached", max_pages)
            raise CloseSpider("page_budget")
        urls = [urldefrag(link.url)[0] for link in self._links.extract_links(response)]
        traps = self.traps
        if traps is None:
            yield from (response.follow(url, callback=self.parse_page) for url in urls)
            return
        meta = response.meta
        for step in traps.follow(response.url, urls, meta.get("trap_chain"), meta.get("trap_dry")):
            if step is None:
                stats.inc_value("copywatch/traps/links_dropped")
                stats.set_value("copywatch/traps/pattern", traps.dropped_pattern)
                continue
            step_meta = {"trap_chain": step.chain, "trap_dry": step.dry}
            yield response.follow(step.url, callback=self.parse_page, meta=step_meta)

    def by_template(self, response: TextResponse) -> ProductData | None:
        """A page without a purchase control read by its site's learnt product template; a page of a
        template not learnt yet is remembered, to be fetched again if one is."""
        key = page_template_key(response.selector, response.url)
        if key is None:
            return None
        if key in self._templates:
            product = product_by_template(
                response.text, response.url, response.selector, self._templates[key]
            )
            if product is not None:
                self.crawler.stats.inc_value("copywatch/products/by_template")
            return product
        pending = self._pending.setdefault(key, [])
        if len(pending) < 10_000:
            pending.append(response.url)
        return None

    def learn_template(self, response: Response, key: str, levels_up: int) -> Iterator[scrapy.Request]:
        if key in self._templates:
            return
        self._templates[key] = levels_up
        for url in self._pending.pop(key, []):
            yield scrapy.Request(url, callback=self.parse_page, dont_filter=True)

    def listing_item(self, response: Response, product: ProductData) -> ListingItem | None:
        """The listing of a product page, or None when another page already gave this product."""
        url = self.listing_url(response, product)
        if product.identity:
            first = self._identities.setdefault(product.identity, url)
            if first != url:
                self.crawler.stats.inc_value("copywatch/products/duplicate_pages")
                return None
        item = make_listing_item(
            url=url,
            title=product.title,
            price=product.price,
            currency=product.currency,
            seller=product.seller,
            images=product.images,
            base=response.url,
        )
        problems = sanitize_listing(item)
        for problem in problems:
            self.crawler.stats.inc_value(f"copywatch/fields/{problem}")
        if "url_too_long" in problems:
            self.crawler.stats.inc_value("copywatch/products/failed")
            return None
        seller_pages.attach_seller(self, item, getattr(product, "seller_node", None), response)
        self.crawler.stats.inc_value(f"copywatch/products/{product.source or 'html'}")
        return item

    def listing_url(self, response: Response, product: ProductData) -> str:
        """The page's canonical URL when it is an http(s) page of this shop, else the page's URL."""
        canonical = product.canonical_url
        url = (
            response.urljoin(canonical) if isinstance(canonical, str) and canonical.strip() else response.url
        )
        parts = urlparse(url)
        if parts.scheme not in {"http", "https"} or parts.hostname not in self.allowed_domains:
            url = response.url  # a canonical pointing off-site (or not a web page) is not this listing
        return urldefrag(url)[0]

    def parse_seller(self, response: Response, seller: dict[str, Any]) -> Iterator[Any]:
        yield from seller_pages.parse_seller(self, response, seller)

    def seller_failed(self, failure: Any) -> Iterator[Any]:
        yield from seller_pages.seller_failed(self, failure)

    # Platform JSON responses are handled in platforms.py and come back here as items.
    def parse_platform(self, response: Response, kind: str, page: int) -> Iterator[Any]:
        yield from platforms.parse(self, response, kind, page)
