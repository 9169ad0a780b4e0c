"""A small shop served on 127.0.0.1 for crawl tests: every page style and hostile case in one site.

The server logs every path it was asked for, so tests can prove what the crawler never fetched.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlparse

import numpy as np
from PIL import Image

from tests.support.files import png_header_only
from tests.support.http import serve_on_loopback


def jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 255, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    image = Image.fromarray(array).resize(size, Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png(seed: int, size: tuple[int, int] = (200, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg(seed, size))).save(buffer, "PNG")
    return buffer.getvalue()


def huge_png_header(width: int = 10_000, height: int = 5_000) -> bytes:
    """A small file whose header declares a 50-megapixel image."""
    return png_header_only(width, height)


def product_jsonld(
    name: str, images: list[str], price: str = "19.99", currency: str = "USD", seller: str = "acme-outlet"
) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "image": images,
        "offers": {
            "@type": "Offer",
            "price": price,
            "priceCurrency": currency,
            "seller": {"@type": "Organization", "name": seller},
        },
    }
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def page(title: str, body: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>".encode()
    )


@dataclass
class Shop:
    """Routes of the fixture shop; ``requests`` records every path asked for."""

    routes: dict[str, tuple[int, str, bytes | Callable[[], bytes]]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    base: str = ""

    def add(
        self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200
    ) -> None:
        self.routes[path] = (status, content_type, body)


def standard_shop() -> Shop:
    """The shop of the crawl tests (see ``EXPECTED`` in test_crawl.py for what it holds)."""
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nDisallow: /private/\nSitemap: /sitemap.xml\n", "text/plain")
    shop.add(
        "/sitemap.xml",
        b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>/p/sitemap-only</loc></url></urlset>""",
        "application/xml",
    )
    shop.add(
        "/",
        page(
            "Shop",
            '<a href="/c/all?page=1">All</a> <a href="/private/p/secret">VIP</a> <a href="/about">About</a>',
        ),
    )
    shop.add("/about", page("About", "<p>We sell things.</p><img src='/img/logo.png'>"))
    shop.add(
        "/c/all?page=1",
        page(
            "All",
            '<a href="/p/jsonld">1</a> <a href="/p/microdata">2</a> '
            '<a href="/p/jsonld?color=red#top">1 red</a> <a href="/c/all?page=2">next</a>',
        ),
    )
    shop.add(
        "/c/all?page=2",
        page(
            "All 2",
            '<a href="/p/opengraph">3</a> <a href="/p/lazy">4</a> '
            '<a href="/p/malformed">5</a> <a href="/p/hostile">6</a> <a href="/p/no-structured-data">7</a> '
            '<a href="/c/all?page=1">prev</a>',
        ),
    )
    shop.add(
        "/p/jsonld",
        page(
            "Sneaker",
            "<h1>Sneaker</h1>",
            product_jsonld("Sneaker", ["/img/a.jpg", "/img/b.png"])
            + '<link rel="canonical" href="/p/jsonld">',
        ),
    )
    shop.add(
        "/p/jsonld?color=red",
        page(
            "Sneaker red",
            "<h1>Sneaker</h1>",
            product_jsonld("Sneaker", ["/img/a.jpg", "/img/b.png"])
            + '<link rel="canonical" href="/p/jsonld">',
        ),
    )
    shop.add(
        "/p/microdata",
        page(
            "Mug",
            '<div itemscope itemtype="https://schema.org/Product">'
            '<h1 itemprop="name">Mug</h1><img itemprop="image" src="/img/e.jpg">'
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            '<span itemprop="price" content="1299.00">1.299,00 €</span><meta itemprop="priceCurrency" content="EUR"></div></div>',
        ),
    )
    shop.add(
        "/p/opengraph",
        page(
            "Bag",
            "<h1>Bag</h1>",
            '<meta property="og:type" content="product">'
            '<meta property="og:title" content="Tote bag"><meta property="og:image" content="/img/c.jpg">'
            '<meta property="product:price:amount" content="45.00"><meta property="product:price:currency" content="GBP">',
        ),
    )
    shop.add(
        "/p/lazy",
        page(
            "Lamp",
            '<div class="product-gallery"><img src="data:image/gif;base64,R0lGOD" '
            'data-srcset="/img/d.jpg?w=400 400w, /img/d.jpg 1200w"><a href="/img/d2.jpg"><img src="/img/d2-150x150.jpg"></a></div>',
            product_jsonld("Lamp", ["/img/first.jpg"]),
        ),
    )
    shop.add(
        "/p/malformed",
        page(
            "Cap",
            '<div itemscope itemtype="http://schema.org/Product"><span itemprop="name">Cap'
            '<img itemprop="image" src="/img/f.jpg"></div><p>unclosed <b>tags',
            '<script type="application/ld+json">{"@type": "Product", "name": "Cap", broken</script>',
        ),
    )
    shop.add(
        "/p/hostile",
        page(
            "Box",
            "<h1>Box</h1>",
            product_jsonld(
                "Box",
                [
                    "/img/g.jpg",
                    "/img/g-copy.jpg",
                    "/img/missing.jpg",
                    "/img/error.jpg",
                    "/img/corrupt.jpg",
                    "/img/truncated.jpg",
                    "/img/huge.png",
                    "/img/html.jpg",
                    "/img/loop1.jpg",
                ],
            ),
        ),
    )
    # An OpenCart-style product page: no structured data at all, one buy button, a related product.
    shop.add(
        "/p/no-structured-data",
        page(
            "Teapot",
            '<img src="/img/logo.png"><div class="row"><ul class="thumbnails"><li>'
            '<a class="thumbnail" href="/img/k-500x500.jpg"><img src="/img/k-228x228.jpg"></a></li></ul>'
            '<h1>Teapot</h1><h2>£18.50</h2><div class="form-group">'
            '<input type="hidden" name="product_id" value="7"><button id="button-cart">Add to Cart</button>'
            '</div></div><h3>Related</h3><a href="/p/jsonld"><img src="/img/related-200x200.jpg"></a>'
            "<button onclick=\"cart.add('1');\">Add to Cart</button>",
        ),
    )
    shop.add("/p/sitemap-only", page("Kite", "<h1>Kite</h1>", product_jsonld("Kite", ["/img/h.jpg"])))
    shop.add("/private/p/secret", page("Secret", "", product_jsonld("Secret", ["/img/secret.jpg"])))
    for name, seed in {
        "a": 1,
        "c": 3,
        "d": 4,
        "d2": 14,
        "e": 5,
        "f": 6,
        "g": 7,
        "h": 8,
        "first": 9,
        "secret": 10,
    }.items():
        shop.add(f"/img/{name}.jpg", jpeg(seed), "image/jpeg")
    shop.add("/img/k-500x500.jpg", jpeg(12, (500, 500)), "image/jpeg")
    shop.add("/img/k-228x228.jpg", jpeg(42, (228, 228)), "image/jpeg")
    shop.add("/img/related-200x200.jpg", jpeg(43, (200, 200)), "image/jpeg")
    shop.add("/img/d.jpg?w=400", jpeg(40, (100, 80)), "image/jpeg")
    shop.add("/img/d2-150x150.jpg", jpeg(41, (150, 150)), "image/jpeg")
    shop.add("/img/b.png", png(2), "image/png")
    shop.add("/img/logo.png", png(99, (64, 64)), "image/png")
    shop.add("/img/g-copy.jpg", jpeg(7), "image/jpeg")  # the same bytes as g.jpg
    shop.add("/img/missing.jpg", b"not found", "text/plain", status=404)
    shop.add("/img/error.jpg", b"oops", "text/plain", status=500)
    shop.add("/img/corrupt.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, "image/jpeg")
    shop.add("/img/truncated.jpg", jpeg(11, (640, 480))[:1500], "image/jpeg")
    shop.add("/img/huge.png", huge_png_header(), "image/png")
    shop.add("/img/html.jpg", page("Error", "<p>this is not a picture</p>"), "image/jpeg")
    shop.redirects["/img/loop1.jpg"] = "/img/loop2.jpg"
    shop.redirects["/img/loop2.jpg"] = "/img/loop1.jpg"
    return shop


def shopify_shop(products: int = 3) -> Shop:
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    shop.add("/", page("Shopify store", "<p>Welcome</p>"))
    items = [
        {
            "handle": f"item-{i}",
            "title": f"Item {i}",
            "vendor": "Store Co",
            "variants": [{"price": f"{10 + i}.00"}],
            "images": [{"src": f"/cdn/item-{i}.jpg"}],
        }
        for i in range(products)
    ]
    shop.add("/products.json?limit=250&page=1", json.dumps({"products": items}).encode(), "application/json")
    for i in range(products):
        shop.add(f"/cdn/item-{i}.jpg", jpeg(100 + i), "image/jpeg")
    return shop


def woocommerce_shop(products: int = 2) -> Shop:
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nDisallow:\n", "text/plain")
    shop.add("/", page("Woo store", "<p>Welcome</p>"))
    items = [
        {
            "permalink": f"/product/thing-{i}/",
            "name": f"Thing {i}",
            "prices": {"price": str(2500 + i), "currency_code": "EUR", "currency_minor_unit": 2},
            "images": [{"src": f"/wp-content/uploads/thing-{i}.jpg"}],
        }
        for i in range(products)
    ]
    shop.add(
        "/wp-json/wc/store/v1/products?per_page=100&page=1", json.dumps(items).encode(), "application/json"
    )
    for i in range(products):
        shop.add(f"/wp-content/uploads/thing-{i}.jpg", jpeg(200 + i), "image/jpeg")
    return shop


@contextmanager
def serve(shop: Shop) -> Iterator[Shop]:
    """Serve ``shop`` on 127.0.0.1 (a free port) until the block ends; ``shop.base`` is its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path
            shop.requests.append(path)
            bare = urlparse(path)
            key = path if path in shop.routes else bare.path
            if key in shop.redirects:
                self.send_response(302)
                self.send_header("Location", shop.redirects[key])
                self.end_headers()
                return
            status, content_type, body = shop.routes.get(key, (404, "text/plain", b"not found"))
            body = body() if callable(body) else body
            if content_type.startswith(("text/html", "application/xml", "text/plain")):
                body = body.replace(b'"/', f'"{shop.base}/'.encode()).replace(
                    b"'/", f"'{shop.base}/".encode()
                )
                body = body.replace(b"<loc>/", f"<loc>{shop.base}/".encode()).replace(
                    b"Sitemap: /", f"Sitemap: {shop.base}/".encode()
                )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serve_on_loopback(Handler) as base:
        shop.base = base
        yield shop
