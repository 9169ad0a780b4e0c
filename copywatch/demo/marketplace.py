"""The demo marketplace: generated listings served on 127.0.0.1 in the page styles real shops use.

:func:`build_marketplace` draws every listing photo into a folder and writes the ground truth
(``manifest.json``, which the server never serves); :class:`DemoMarketplace` serves the shop
from a threaded ``http.server`` in a background thread. Page styles, so the crawler meets each:

- ``jsonld``: a schema.org ``Product`` in JSON-LD;
- ``microdata``: the same in ``itemscope``/``itemprop`` attributes;
- ``opengraph``: only ``og:*`` and ``product:price:*`` meta tags;
- ``lazy``: JSON-LD naming the first photo, the rest of the gallery lazy-loaded (``data-src``,
  ``data-srcset``, with a smaller ``?w=400`` rendition next to the full one).

Listings are reached from paginated category pages and from ``/sitemap.xml`` (announced in
``robots.txt``, which also disallows ``/cart/``).
"""

from __future__ import annotations

import html
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import cv2
import numpy as np

from copywatch.demo.catalog import PRODUCT_KINDS, DemoCatalog, ProductSpec, product_specs, render_product
from copywatch.demo.edits import STOLEN_EDITS, apply_edit
from copywatch.demo.sellers import FOOTER, plant_networks, profile_page, seller_path
from detection.imageio import decode_bgr, read_bgr

log = logging.getLogger(__name__)

PAGE_STYLES = ("jsonld", "microdata", "opengraph", "lazy")
PER_PAGE = 8
SELLERS = (
    "brightbazaar",
    "urbanloft",
    "dealhive",
    "kitchenkind",
    "trailmark",
    "cozycorner",
    "bestdeals",
    "quickship",
)
_ADJECTIVES = ("Classic", "Urban", "Everyday", "Premium", "Retro", "Summer", "Travel", "Studio")
_NOUNS = {
    "bottle": "Bottle",
    "sneaker": "Sneaker",
    "bag": "Tote Bag",
    "mug": "Mug",
    "box": "Gift Box",
    "shirt": "T-Shirt",
}


@dataclass
class DemoListing:
    """One listing of the demo shop and its ground truth.

    Attributes:
        slug: the listing's path is ``/p/<slug>``.
        truth: ``stolen`` (carries an edited copy of an original), ``counterfeit`` (the brand's
            product re-shot with its logo moved) or ``innocent``.
        edit: for stolen listings, which edit; for counterfeits, the logo offset's side.
        original_sku: the brand original the listing copies (None for innocent ones).
        images: file names under the shop's ``img/`` folder, in gallery order.
    """

    slug: str
    title: str
    kind: str
    price: float
    seller: str
    style: str
    truth: str
    edit: str | None = None
    original_sku: str | None = None
    images: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"/p/{self.slug}"


@dataclass
class DemoShop:
    """The generated shop on disk: its listings and where their photos are."""

    directory: Path
    listings: list[DemoListing]
    networks: list[list[str]] = field(default_factory=list)  # planted seller networks (demo.sellers)

    @property
    def image_dir(self) -> Path:
        return self.directory / "img"

    def by_kind(self) -> dict[str, list[DemoListing]]:
        kinds: dict[str, list[DemoListing]] = {k: [] for k in PRODUCT_KINDS}
        for listing in self.listings:
            kinds[listing.kind].append(listing)
        return kinds


def _plan_counts(listings: int) -> tuple[int, int]:
    """(stolen, counterfeit) for a shop of ``listings``: a quarter stolen, a twelfth counterfeit."""
    stolen = max(len(STOLEN_EDITS), round(listings * 0.25))
    counterfeit = max(2, round(listings / 12))
    if stolen + counterfeit > listings - 4:
        raise ValueError(f"a demo shop needs at least {stolen + counterfeit + 4} listings, got {listings}")
    return stolen, counterfeit


def _write_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"could not encode {path.name}")
    path.write_bytes(data.tobytes())


def build_marketplace(
    directory: Path, catalog: DemoCatalog, *, listings: int = 120, seed: int = 7
) -> DemoShop:
    """Draw the shop's listings and photos into ``directory`` and write its ``manifest.json``.

    Args:
        directory: the shop's folder (photos go to ``directory/img``).
        catalog: the brand's originals, some of which the dishonest sellers copy.
        listings: how many listings; a quarter carry stolen photos, a twelfth logo-shifted
            counterfeits, the rest are innocent products (a third of them look-alikes: the same
            product type and print as an original, drawn from another seed).
        seed: the shop's seed; the same seed and catalog give the same shop.

    Returns:
        The shop, listings in a shuffled (but seeded) order.
    """
    rng = np.random.default_rng(seed)
    image_dir = directory / "img"
    image_dir.mkdir(parents=True, exist_ok=True)
    n_stolen, n_counterfeit = _plan_counts(listings)
    n_innocent = listings - n_stolen - n_counterfeit

    plain = [s for s in catalog.specs if s.logo_shape is None]
    logo = [s for s in catalog.specs if s.logo_shape is not None]
    innocent_specs = product_specs(n_innocent, seed=seed * 1000 + 1, prefix="shop")
    # A third of the innocent products copy an original's product type and print (look-alikes).
    for i in range(0, n_innocent, 3):
        model = catalog.specs[int(rng.integers(len(catalog.specs)))]
        innocent_specs[i] = ProductSpec(
            sku=innocent_specs[i].sku,
            kind=model.kind,
            seed=innocent_specs[i].seed,
            pattern=model.pattern,
            mark=innocent_specs[i].mark,
        )
    innocent_photos = [render_product(s).image for s in innocent_specs]

    shop: list[DemoListing] = []
    # Slugs in a shuffled order, so a listing's number says nothing about what it carries.
    numbers = rng.permutation(listings)

    def add(truth: str, kind: str, images: list[np.ndarray], edit: str | None, sku: str | None) -> None:
        slug = f"item-{int(numbers[len(shop)]):04d}"
        names = []
        for j, image in enumerate(images):
            name = f"{slug}-{j}.jpg"
            _write_jpeg(image_dir / name, image, int(rng.integers(78, 93)))
            names.append(name)
        shop.append(
            DemoListing(
                slug=slug,
                title=f"{_ADJECTIVES[int(rng.integers(len(_ADJECTIVES)))]} {_NOUNS[kind]}",
                kind=kind,
                price=round(float(rng.uniform(6, 120)), 2),
                seller=SELLERS[int(rng.integers(len(SELLERS)))],
                style="",
                truth=truth,
                edit=edit,
                original_sku=sku,
                images=names,
            )
        )

    originals = {s.sku: read_bgr(p) for s, p in zip(catalog.specs, catalog.paths, strict=True)}
    for i in range(n_stolen):
        edit = STOLEN_EDITS[i % len(STOLEN_EDITS)]
        spec = plain[int(rng.integers(len(plain)))]
        others = [innocent_photos[int(k)] for k in rng.choice(n_innocent, 2, replace=False)]
        images = [apply_edit(edit, originals[spec.sku], rng, others)]
        if rng.random() < 0.5:  # a second, innocent gallery photo: the thief's own detail shot
            images.append(_detail_shot(innocent_photos[int(rng.integers(n_innocent))], rng))
        add("stolen", spec.kind, images, edit, spec.sku)
    for i in range(n_counterfeit):
        spec = logo[i % len(logo)]
        side = "left" if i % 2 == 0 else "right"
        offset = rng.uniform(0.24, 0.3) * (-1 if side == "left" else 1)
        fake = render_product(spec, logo_offset=offset).image
        add("counterfeit", spec.kind, [_reshoot(fake, rng)], f"logo_{side}", spec.sku)
    for spec, photo in zip(innocent_specs, innocent_photos, strict=True):
        images = [photo] if rng.random() < 0.6 else [photo, _detail_shot(photo, rng)]
        add("innocent", spec.kind, images, None, None)

    shop.sort(key=lambda x: x.slug)
    for i, listing in enumerate(shop):
        listing.style = PAGE_STYLES[i % len(PAGE_STYLES)]
    result = DemoShop(directory=directory, listings=shop, networks=plant_networks(shop, image_dir, seed))
    write_manifest(result)
    return result


def _detail_shot(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A close-up of the middle of a product photo."""
    h, w = photo.shape[:2]
    frac = rng.uniform(0.45, 0.6)
    ch, cw = int(h * frac), int(w * frac)
    y, x = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(photo[y : y + ch, x : x + cw], (600, 600), interpolation=cv2.INTER_CUBIC)


def _reshoot(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The counterfeiter's own photo: slightly other framing and exposure."""
    h, w = photo.shape[:2]
    m = int(rng.integers(0, 30))
    out = cv2.resize(photo[m : h - m, m : w - m], (600, 600), interpolation=cv2.INTER_AREA)
    return np.clip(out.astype(np.float32) * rng.uniform(0.92, 1.06), 0, 255).astype(np.uint8)


def write_manifest(shop: DemoShop) -> Path:
    """The ground truth, next to (never inside) what the server serves."""
    path = shop.directory / "manifest.json"
    path.write_text(
        json.dumps({"listings": [asdict(x) for x in shop.listings], "networks": shop.networks}, indent=1)
    )
    return path


def load_manifest(directory: Path) -> DemoShop:
    data = json.loads((directory / "manifest.json").read_text())
    return DemoShop(
        directory=directory,
        listings=[DemoListing(**x) for x in data["listings"]],
        networks=data.get("networks", []),
    )


# --- pages -------------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Demo Bazaar</title>
{head}</head>
<body><header><a href="/">Demo Bazaar</a> · <a href="/cart/">cart</a></header>
<main>{body}</main><footer>{footer}</footer></body></html>
"""


def _page(title: str, body: str, head: str = "") -> bytes:
    return _PAGE.format(title=html.escape(title), head=head, body=body, footer=FOOTER).encode()


def _listing_page(listing: DemoListing, base_url: str) -> bytes:
    title = html.escape(listing.title)
    urls = [f"{base_url}/img/{name}" for name in listing.images]
    price = f"{listing.price:.2f}"
    seller = f'<a class="seller" href="{seller_path(listing.seller)}">{html.escape(listing.seller)}</a>'
    cart = f'<p><a href="/cart/add?item={listing.slug}" rel="nofollow">Add to cart</a></p>'
    if listing.style in ("jsonld", "lazy"):
        product = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": listing.title,
            "sku": listing.slug,
            "image": urls if listing.style == "jsonld" else urls[:1],
            "offers": {
                "@type": "Offer",
                "price": price,
                "priceCurrency": "EUR",
                "url": base_url + listing.path,
                "seller": {
                    "@type": "Organization",
                    "name": listing.seller,
                    "url": base_url + seller_path(listing.seller),
                },
            },
        }
        head = f'<script type="application/ld+json">{json.dumps(product)}</script>'
        if listing.style == "jsonld":
            gallery = "".join(f'<img src="{u}" alt="{title}" width="600">' for u in urls)
        else:
            placeholder = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
            gallery = "".join(
                f'<img class="lazy" src="{placeholder}" data-src="{u}" '
                f'data-srcset="{u}?w=400 400w, {u} 800w" alt="{title}">'
                for u in urls
            )
        body = (
            f"<h1>{title}</h1><div class=gallery>{gallery}</div><p>{price} EUR · sold by {seller}</p>{cart}"
        )
        return _page(listing.title, body, head)
    if listing.style == "microdata":
        imgs = "".join(f'<img itemprop="image" src="{u}" alt="{title}">' for u in urls)
        body = (
            '<div itemscope itemtype="https://schema.org/Product">'
            f'<h1 itemprop="name">{title}</h1>{imgs}'
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            f'<span itemprop="price" content="{price}">{price}</span> '
            '<meta itemprop="priceCurrency" content="EUR">EUR'
            '<div itemprop="seller" itemscope itemtype="https://schema.org/Organization">'
            f'sold by <span itemprop="name">{seller}</span></div></div></div>{cart}'
        )
        return _page(listing.title, body)
    if listing.style == "opengraph":
        head = "".join(
            [
                '<meta property="og:type" content="product">',
                f'<meta property="og:title" content="{title}">',
                f'<meta property="og:url" content="{base_url}{listing.path}">',
                *(f'<meta property="og:image" content="{u}">' for u in urls),
                f'<meta property="product:price:amount" content="{price}">',
                '<meta property="product:price:currency" content="EUR">',
                f'<meta property="product:retailer_item_id" content="{listing.slug}">',
            ]
        )
        body = f"<h1>{title}</h1><p>{price} EUR · {seller}</p>{cart}"
        return _page(listing.title, body, head)
    raise ValueError(f"unknown page style {listing.style!r}")


def _category_page(kind: str, listings: list[DemoListing], page: int) -> bytes | None:
    pages = max(1, -(-len(listings) // PER_PAGE))
    if not 1 <= page <= pages:
        return None
    chunk = listings[(page - 1) * PER_PAGE : page * PER_PAGE]
    items = "".join(
        f'<li><a href="{x.path}">{html.escape(x.title)}</a> {x.price:.2f} EUR</li>' for x in chunk
    )
    nav = f'<a rel="next" href="/c/{kind}?page={page + 1}">next page</a>' if page < pages else ""
    return _page(f"{_NOUNS[kind]}s, page {page}", f"<h1>{_NOUNS[kind]}s</h1><ul>{items}</ul>{nav}")


class _Handler(BaseHTTPRequestHandler):
    server: _ShopServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        log.debug("demo shop: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        shop, base = self.server.shop, self.server.base_url
        url = urlparse(self.path)
        query = parse_qs(url.query)
        body: bytes | None = None
        ctype = "text/html; charset=utf-8"
        if url.path == "/":
            links = "".join(f'<li><a href="/c/{k}?page=1">{_NOUNS[k]}s</a></li>' for k in PRODUCT_KINDS)
            body = _page("Demo Bazaar", f"<h1>Demo Bazaar</h1><ul>{links}</ul>")
        elif url.path == "/robots.txt":
            body = f"User-agent: *\nDisallow: /cart/\nSitemap: {base}/sitemap.xml\n".encode()
            ctype = "text/plain"
        elif url.path == "/sitemap.xml":
            locs = "".join(f"<url><loc>{base}{x.path}</loc></url>" for x in shop.listings)
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
            ).encode()
            ctype = "application/xml"
        elif url.path.startswith("/c/"):
            kind = url.path[3:]
            if kind in PRODUCT_KINDS:
                page = int(query.get("page", ["1"])[0]) if query.get("page", ["1"])[0].isdigit() else 0
                body = _category_page(kind, self.server.kinds[kind], page)
        elif url.path.startswith("/p/"):
            listing = self.server.by_slug.get(url.path[3:])
            if listing is not None:
                body = _listing_page(listing, base)
        elif url.path.startswith("/seller/"):
            name = url.path[len("/seller/") :]
            if name in self.server.sellers:
                profile = profile_page(name, self.server.sellers[name])
                body = _page(name, profile.decode("utf-8", "replace")) if profile else None
        elif url.path.startswith("/img/"):
            name = url.path[5:]
            if name in self.server.images:
                body, ctype = self.server.images[name], "image/jpeg"
                if query.get("w") == ["400"]:
                    body = self.server.small_rendition(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ShopServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, shop: DemoShop, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.shop = shop
        self.base_url = f"http://{host}:{self.server_address[1]}"
        self.by_slug = {x.slug: x for x in shop.listings}
        self.kinds = shop.by_kind()
        self.sellers: dict[str, list[DemoListing]] = {}
        for listing in shop.listings:
            self.sellers.setdefault(listing.seller, []).append(listing)
        self.images = {p.name: p.read_bytes() for p in shop.image_dir.glob("*.jpg")}
        self._small: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def small_rendition(self, name: str) -> bytes:
        with self._lock:
            if name not in self._small:
                image = decode_bgr(self.images[name])
                scale = 400 / image.shape[1]
                small = cv2.resize(image, (400, int(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
                self._small[name] = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
            return self._small[name]


class DemoMarketplace:
    """The demo shop served from a background thread.

    Example:
        >>> with DemoMarketplace(shop).serving() as base_url:  # doctest: +SKIP
        ...     crawl(settings, base_url)
    """

    def __init__(self, shop: DemoShop, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _ShopServer(shop, host, port)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:<port>``)."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-shop", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @contextmanager
    def serving(self) -> Iterator[str]:
        self.start()
        try:
            yield self.base_url
        finally:
            self.stop()
