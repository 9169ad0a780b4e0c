"""Recognise a product page and read its listing data: structured data first, HTML second.

A page without any structured product data is still read when it shows one titled item with
its own purchase control (:mod:`crawler.html_product`, engine-independent).

Structured data (schema.org ``Product`` in JSON-LD, microdata or RDFa; OpenGraph
``og:type=product``) is read with extruct, on the page's one parsed tree, and only for the
syntaxes the page shows markers of (RDFa, which needs a DOM parse of its own, only when a node
declares ``typeof``). Images come from the structured data and from the page's gallery markup:
full-size links (``data-large_image``, ``data-zoom-image``, ``href`` to an image file), the
widest ``srcset`` candidate, lazy-loading attributes — never a thumbnail when the full image is
named.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import extruct
from parsel import Selector

from crawler.html_product import ProductBlock, block_price, price_text, product_block, title_of
from crawler.html_template import block_by_template

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".avif")
_GALLERY_HINT = re.compile(
    r"gallery|product[-_ ]?(image|photo|media)|woocommerce-product-gallery|zoom|slide", re.I
)
_FULL_SIZE_ATTRS = (
    "data-large_image",
    "data-zoom-image",
    "data-image-large-src",
    "data-full",
    "data-fullsize",
    "data-full-url",
    "data-large",
    "data-zoom",
    "data-original",
    "data-src-large",
)
# Galleries drawn by JavaScript from inline JSON (Magento's x-magento-init "full", zoom viewers):
# the full-size image under a key that names it so.
_JSON_FULL_IMAGE = re.compile(
    r'"(?:full|full_?image|full_?url|large_?image|zoom_?image|zoom|original_?src)"\s*:\s*'
    r'"((?:https?:)?(?:\\?/)[^"\s]+?\.(?:jpe?g|png|webp)(?:\?[^"\s]*)?)"',
    re.I,
)
_LAZY_ATTRS = ("data-src", "data-lazy-src", "data-original-src", "data-srcset", "data-lazy-srcset")
# Containers of a gallery's navigation strip: small copies of the pictures shown above them.
_STRIP_HINT = re.compile(
    r"indicator|thumbs\b|thumbnails|thumb[-_]?(nav|list|slider|strip|carousel|wrap)|pager|dots|swatch"
    r"|[-_]nav\b|\bnav[-_]|__nav",
    re.I,
)
_THUMB_HINT = re.compile(
    r"([?&](w|width|size)=\d{1,3}\b)|[-_](thumb|thumbnail|small|\d{2,3}x\d{2,3})(?=\.)", re.I
)
#: A resizer's copy named after its original: ``photo.jpg__300x300_q85_crop.jpg`` (what follows ``.jpg``).
_SIZED_COPY = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(__\d{2,4}x\d{2,4}[^/]*)$", re.I)


@dataclass
class ProductData:
    title: str | None = None
    price: Any = None
    currency: str | None = None
    seller: str | None = None
    seller_node: Any = None  # the schema.org seller value as found (name, url, id: crawler.sellers)
    canonical_url: str | None = None
    images: list[str] = field(default_factory=list)
    source: str = ""
    identity: str | None = None  # what the page's purchase control buys (HTML pages only)
    template: tuple[str, int] | None = None  # the page's product template (HTML pages only)


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type") or node.get("type") or []
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds}


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every dict in a JSON-LD / microdata tree (``@graph``, lists, nested items)."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            found.append(current)
            stack.extend(v for v in current.values() if isinstance(v, dict | list))
        elif isinstance(current, list):
            stack.extend(current)
    return found


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _image_urls(value: Any) -> list[str]:
    urls: list[str] = []
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(entry, str):
            urls.append(entry)
        elif isinstance(entry, dict):
            url = entry.get("contentUrl") or entry.get("url") or entry.get("@id")
            urls.extend(_image_urls(url) if url else [])
    return urls


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        return _name(value.get("name"))
    return str(value) if value else None


def _from_schema_product(node: dict[str, Any]) -> ProductData:
    data = ProductData(title=_name(node.get("name")), images=_image_urls(node.get("image")))
    offers = node.get("offers")
    for offer in offers if isinstance(offers, list) else [offers]:
        if not isinstance(offer, dict):
            continue
        price = offer.get("price", offer.get("lowPrice"))
        spec = offer.get("priceSpecification")
        if price is None and isinstance(spec, dict):
            price = spec.get("price")
        if price is not None and data.price is None:
            data.price = _first(price)
            data.currency = _first(offer.get("priceCurrency")) or (spec or {}).get("priceCurrency")
        seller = offer.get("seller") or offer.get("offeredBy")
        if seller and data.seller is None:
            data.seller, data.seller_node = _name(seller), seller
    if data.seller is None and node.get("seller"):
        data.seller, data.seller_node = _name(node.get("seller")), node.get("seller")
    url = _first(node.get("url"))
    data.canonical_url = url if isinstance(url, str) else None
    return data


def _from_opengraph(og: dict[str, Any]) -> ProductData | None:
    # extruct's uniform output moves og:type to @type.
    kind = str(_first(og.get("og:type") or og.get("@type")) or "").lower()
    if "product" not in kind:
        return None
    return ProductData(
        title=_first(og.get("og:title")),
        price=_first(og.get("product:price:amount") or og.get("og:price:amount")),
        currency=_first(og.get("product:price:currency") or og.get("og:price:currency")),
        canonical_url=_first(og.get("og:url")),
        images=_image_urls(og.get("og:image:secure_url") or og.get("og:image") or []),
        source="opengraph",
    )


def _present_syntaxes(html: str) -> list[str]:
    """The structured-data syntaxes a page can hold, by cheap markers (no parse).

    JSON-LD needs its ``<script>`` type, microdata ``itemscope``, OpenGraph an ``og:`` property;
    an RDFa node has a type (what makes it a product) only through ``typeof``.
    """
    lowered = html.lower()
    markers = {
        "json-ld": "application/ld+json",
        "microdata": "itemscope",
        "opengraph": "og:",
        "rdfa": "typeof",
    }
    return [syntax for syntax, marker in markers.items() if marker in lowered]


def _extract_syntaxes(html: str, root: Any, url: str, syntaxes: list[str]) -> dict[str, list[Any]]:
    """extruct's uniform output for ``syntaxes``, reusing the parsed tree ``root``.

    RDFa alone needs extruct's own DOM parse, so it runs only on pages that declare a type.
    """
    on_tree = [s for s in syntaxes if s != "rdfa"]
    data = (
        extruct.extract(root, base_url=url, syntaxes=on_tree, uniform=True, errors="ignore")
        if on_tree
        else {}
    )
    if "rdfa" in syntaxes:
        rdfa = extruct.extract(html, base_url=url, syntaxes=["rdfa"], errors="ignore")
        data["rdfa"] = _compact_rdfa(rdfa.get("rdfa", []))
    return data


def _compact_rdfa(nodes: list[Any]) -> list[dict[str, Any]]:
    """extruct's RDFa (expanded JSON-LD) with short property names, plain values, references resolved.

    ``{"https://schema.org/name": [{"@value": "Chair"}], "…/offers": [{"@id": "_:b1"}]}`` becomes
    ``{"name": "Chair", "offers": {…node _:b1…}}``; a reference to no node (an image) stays its IRI.
    """
    by_id = {node["@id"]: node for node in nodes if isinstance(node, dict) and "@id" in node}

    def plain(entry: Any, depth: int) -> Any:
        if not isinstance(entry, dict):
            return entry
        if "@value" in entry:
            return entry["@value"]
        node = by_id.get(entry.get("@id"))
        return compact(node, depth + 1) if node is not None and depth < 3 else entry.get("@id")

    def compact(node: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, entries in node.items():
            if key.startswith("@") or not isinstance(entries, list):
                out[key] = entries
                continue
            values = [plain(entry, depth) for entry in entries]
            out[re.split(r"[/#]", key.rstrip("/"))[-1]] = values[0] if len(values) == 1 else values
        return out

    return [compact(node) for node in nodes if isinstance(node, dict)]


def _structured(html: str, root: Any, url: str) -> ProductData | None:
    syntaxes = _present_syntaxes(html)
    if not syntaxes:
        return None
    try:
        data = _extract_syntaxes(html, root, url, syntaxes)
    except Exception as exc:  # noqa: BLE001 - a malformed page must not stop the crawl
        log.debug("structured data unreadable on %s: %s", url, exc)
        return None
    for syntax in ("json-ld", "microdata", "rdfa"):
        for node in _walk(data.get(syntax, [])):
            if "Product" in _types(node) or "ProductGroup" in _types(node):
                product = _from_schema_product(node)
                product.source = syntax
                if product.title or product.images:
                    og = next((o for o in data.get("opengraph", []) if isinstance(o, dict)), {})
                    if not product.images:
                        product.images = _image_urls(og.get("og:image") or [])
                    return product
    for og in data.get("opengraph", []):
        if isinstance(og, dict) and (from_opengraph := _from_opengraph(og)):
            return from_opengraph
    return None


def _widest(srcset: str) -> str | None:
    best, best_width = None, -1.0
    for part in srcset.split(","):
        pieces = part.strip().split()
        if not pieces:
            continue
        width = 0.0
        if len(pieces) > 1 and pieces[1][-1:] in {"w", "x"}:
            try:
                width = float(pieces[1][:-1])
            except ValueError:
                width = 0.0
        if width > best_width:
            best, best_width = pieces[0], width
    return best


def gallery_images(selector: Selector) -> list[str]:
    """Full-size image URLs from a product page's gallery markup (HTML fallback).

    A navigation strip's small copies (``carousel-indicators``, ``thumbs``…) are left out when
    the gallery also shows the pictures themselves, unless they link to (or name) a full size.
    """
    urls: list[str] = []
    strip: list[str] = []
    containers = [
        el
        for el in selector.xpath("descendant-or-self::*[@class or @id]")
        if _GALLERY_HINT.search(" ".join(el.xpath("@class|@id").getall()))
    ] or [selector]
    for container in containers:
        for link in container.xpath(".//a[@href]"):
            href = link.attrib.get("href", "")
            if _is_image_url(href):
                urls.append(href)
        for img in container.xpath(".//img"):
            if _is_image_url(img.xpath("ancestor::a[1]/@href").get() or ""):
                continue  # the link around it names the full-size image, taken above
            attrs = img.attrib
            full = next((attrs[a] for a in _FULL_SIZE_ATTRS if attrs.get(a)), None)
            if full:
                urls.append(full)
                continue
            srcset = attrs.get("data-srcset") or attrs.get("srcset") or attrs.get("data-lazy-srcset")
            if srcset and (widest := _widest(srcset)):
                urls.append(widest)
                continue
            lazy = next((attrs[a] for a in _LAZY_ATTRS if attrs.get(a) and "srcset" not in a), None)
            src = lazy or attrs.get("src")
            if src and not src.startswith("data:"):
                in_strip = any(
                    _STRIP_HINT.search(" ".join(a.xpath("@class|@id").getall()))
                    for a in img.xpath("ancestor::*[@class or @id][position() <= 4]")
                )
                (strip if in_strip else urls).append(src)
    return urls or strip


def script_gallery_images(html: str, selector: Selector) -> list[str]:
    """Full-size image URLs that inline scripts hand to a JavaScript gallery (JSON, ``\\/`` unescaped)."""
    if not _JSON_FULL_IMAGE.search(html):
        return []
    urls: list[str] = []
    for text in selector.xpath("//script[not(@src)]/text()").getall():
        urls.extend(match.replace("\\/", "/") for match in _JSON_FULL_IMAGE.findall(text))
    return urls


def _is_image_url(url: str) -> bool:
    return url.lower().split("?")[0].endswith(IMAGE_EXTENSIONS)


def _tail(path: str) -> str:
    """A path's folder and file name: what a sized copy's name keeps of its original's."""
    return "/".join(path.rsplit("/", 2)[-2:])


def prefer_full_size(urls: list[str]) -> list[str]:
    """Drop a thumbnail when the same image is also named at full size (``?w=400``, ``-150x150.jpg``,
    or a resizer's copy that appends its size to the original's name and path, as
    ``thumbs/media/ab/photo.jpg__850x850_q85.jpg`` for ``media/ab/photo.jpg``)."""
    full = [u for u in urls if not _THUMB_HINT.search(u) and not _SIZED_COPY.search(u)]
    stems = {_THUMB_HINT.sub("", u.split("?")[0]) for u in full}
    tails = {_tail(urlsplit(u).path) for u in full}
    kept = []
    for url in urls:
        if _THUMB_HINT.search(url) and _THUMB_HINT.sub("", url.split("?")[0]) in stems:
            continue
        copy = _SIZED_COPY.search(urlsplit(url).path)
        if copy is not None and _tail(urlsplit(url).path[: copy.start(1)]) in tails:
            continue
        kept.append(url)
    return kept


def extract_product(html: str, url: str, selector: Selector | None = None) -> ProductData | None:
    """The listing data of a product page, or None when the page is not a product page.

    ``selector`` is the page already parsed (a Scrapy response's ``selector``), so the page is
    parsed once; without it the HTML is parsed here.
    """
    selector = selector if selector is not None else Selector(text=html)
    product = _structured(html, selector.root, url)
    if product is None:
        return _from_buy_block(html, selector, url)
    product.canonical_url = _canonical(selector) or product.canonical_url
    # extruct's uniform OpenGraph keeps one value per property; a gallery repeats og:image.
    og_images = selector.xpath("//meta[@property='og:image' or @name='og:image']/@content").getall()
    if product.source == "opengraph" and len(og_images) > len(product.images):
        product.images = og_images
    if len(product.images) <= 1:
        product.images = product.images + gallery_images(selector) + script_gallery_images(html, selector)
    product.images = prefer_full_size(product.images)
    return product


def _canonical(selector: Selector) -> str | None:
    return selector.xpath("//link[@rel='canonical']/@href").get()


def _from_buy_block(html: str, selector: Selector, url: str = "") -> ProductData | None:
    """A product page without structured data, read from its product block (see html_product)."""
    found = product_block(selector, url)
    return _from_block(html, selector, found) if found is not None else None


def product_by_template(html: str, url: str, selector: Selector, levels_up: int) -> ProductData | None:
    """A page of a learnt product template that shows no purchase control (sold out, no price or
    stock record, "notify me"): its pictures and a price, a stock alert or an availability
    statement (an article page of the same layout shows none); see crawler.html_template."""
    read = block_by_template(selector, url, levels_up)
    if read is None:
        return None
    found, says_product = read
    product = _from_block(html, selector, found, block_only=True)
    if not product.images or not (product.price or says_product):
        return None
    if not product.identity:
        # Two pages of one product show one title and one gallery; two products may share a
        # gallery (the shop's "no image" placeholder), never their title as well.
        title = " ".join((product.title or "").split()).casefold()
        product.identity = f"gallery|{title}|" + "|".join(sorted(product.images))
    return product


def _from_block(html: str, selector: Selector, found: ProductBlock, block_only: bool = False) -> ProductData:
    """``block_only``: the price only from the block (a page read by its template)."""
    price = block_price(found.block) if block_only else price_text(selector, found.block)
    return ProductData(
        title=found.title or title_of(selector),
        price=price,
        currency=price,  # the symbol or code in the amount; parse_currency reads it
        canonical_url=_canonical(selector),
        images=prefer_full_size(gallery_images(found.block) + script_gallery_images(html, selector)),
        source="html",
        identity=found.identity or None,
        template=found.template,
    )
