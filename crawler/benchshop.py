"""A generated shop of N product pages, served on 127.0.0.1, for the crawl benchmark.

Product pages come in the three structured-data styles the crawler reads (JSON-LD, microdata,
OpenGraph), reached only through paginated category pages, each with one or two small images.
Categories hold at most ``PAGES_PER_CATEGORY`` pages each, so the crawl fans out breadth-first
rather than down one long "next" chain.
Pages are rendered on request from their number, so a 100,000-page shop costs no memory up front.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
from PIL import Image

PRODUCTS_PER_CATEGORY_PAGE = 50
PAGES_PER_CATEGORY = 8  # "next" chains stay well inside the crawler's DEPTH_LIMIT
IMAGE_SIDE = 96  # small but valid: the benchmark measures crawling, not image decoding
STYLES = ("jsonld", "jsonld", "microdata", "opengraph")  # JSON-LD is the common case


@dataclass(frozen=True)
class BenchShop:
    """What a generated shop holds: ``products`` product pages and their images."""

    products: int

    @property
    def category_pages(self) -> int:
        """Listing pages over all categories (page ``n`` holds products ``50 (n - 1)`` on)."""
        return max(1, -(-self.products // PRODUCTS_PER_CATEGORY_PAGE))

    @property
    def categories(self) -> int:
        return -(-self.category_pages // PAGES_PER_CATEGORY)

    @property
    def pages(self) -> int:
        """HTML pages a full crawl parses: home, category pages, product pages."""
        return 1 + self.category_pages + self.products

    def images_of(self, product: int) -> list[str]:
        return [f"/img/{product}-{i}.jpg" for i in range(1 + product % 2)]

    @property
    def images(self) -> int:
        return sum(1 + p % 2 for p in range(self.products))

    def style_of(self, product: int) -> str:
        return STYLES[product % len(STYLES)]


def _page(title: str, body: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>".encode()
    )


def _product_page(shop: BenchShop, product: int, base: str) -> bytes:
    name = f"Product {product}"
    images = [base + path for path in shop.images_of(product)]
    price = f"{10 + product % 90}.99"
    style = shop.style_of(product)
    if style == "jsonld":
        data = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": name,
            "image": images,
            "offers": {"@type": "Offer", "price": price, "priceCurrency": "USD"},
        }
        head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
        return _page(name, f"<h1>{name}</h1><p>A fine thing.</p>", head)
    if style == "microdata":
        tags = "".join(f'<img itemprop="image" src="{url}">' for url in images)
        body = (
            '<div itemscope itemtype="https://schema.org/Product">'
            f'<h1 itemprop="name">{name}</h1>{tags}'
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            f'<span itemprop="price" content="{price}">{price} €</span>'
            '<meta itemprop="priceCurrency" content="EUR"></div></div>'
        )
        return _page(name, body)
    head = (
        '<meta property="og:type" content="product">'
        f'<meta property="og:title" content="{name}">'
        + "".join(f'<meta property="og:image" content="{url}">' for url in images)
        + f'<meta property="product:price:amount" content="{price}">'
        '<meta property="product:price:currency" content="GBP">'
    )
    return _page(name, f"<h1>{name}</h1>", head)


def _category_page(shop: BenchShop, category: int, page: int) -> bytes:
    number = category * PAGES_PER_CATEGORY + page  # the overall listing page, 1-based
    first = (number - 1) * PRODUCTS_PER_CATEGORY_PAGE
    last = min(shop.products, first + PRODUCTS_PER_CATEGORY_PAGE)
    links = " ".join(f'<a href="/p/{p}">Product {p}</a>' for p in range(first, last))
    if page < PAGES_PER_CATEGORY and number < shop.category_pages:
        links += f' <a href="/c/{category}?page={page + 1}">next</a>'
    if page > 1:
        links += f' <a href="/c/{category}?page={page - 1}">previous</a>'
    return _page(f"Category {category}, page {page}", links)


def _home_page(shop: BenchShop) -> bytes:
    links = " ".join(f'<a href="/c/{c}?page=1">Category {c}</a>' for c in range(shop.categories))
    return _page("Bench shop", links)


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 255, size=(IMAGE_SIDE // 8, IMAGE_SIDE // 8, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blocks).resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.NEAREST).save(
        buffer, "JPEG", quality=85
    )
    return buffer.getvalue()


def _route(shop: BenchShop, path: str, base: str) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` of one request path."""
    url = urlparse(path)
    html = "text/html; charset=utf-8"
    if url.path == "/robots.txt":
        return 200, "text/plain", b"User-agent: *\nAllow: /\n"
    if url.path == "/":
        return 200, html, _home_page(shop)
    if url.path.startswith("/c/") and url.path[3:].isdigit():
        category = int(url.path[3:])
        raw = parse_qs(url.query).get("page", ["1"])[0]
        page = int(raw) if raw.isdigit() else 0
        number = category * PAGES_PER_CATEGORY + page
        if 1 <= page <= PAGES_PER_CATEGORY and 1 <= number <= shop.category_pages:
            return 200, html, _category_page(shop, category, page)
    elif url.path.startswith("/p/"):
        product = int(url.path[3:]) if url.path[3:].isdigit() else -1
        if 0 <= product < shop.products:
            return 200, html, _product_page(shop, product, base)
    elif url.path.startswith("/img/"):
        stem = url.path[5:].removesuffix(".jpg")
        product_part, _, index = stem.partition("-")
        if product_part.isdigit() and index.isdigit() and int(product_part) < shop.products:
            # Distinct bytes per image, so the content-addressed store keeps every one.
            return 200, "image/jpeg", _jpeg(int(product_part) * 2 + int(index))
    return 404, "text/plain", b"not found"


@contextmanager
def serve_bench_shop(shop: BenchShop) -> Iterator[str]:
    """Serve ``shop`` on 127.0.0.1 (a free port) until the block ends; yields its base URL."""
    base = ""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real shops do

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            status, content_type, body = _route(shop, self.path, base)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
