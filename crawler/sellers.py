"""Who sells a listing, and what a seller's profile page says about them.

A listing names its seller in one of three ways, read in this order:

1. structured data: schema.org ``offers.seller`` (or ``offeredBy``, or the product's ``seller``) as an
   ``Organization``/``Person`` with ``name``, ``url``, ``@id`` or ``identifier``;
2. platform JSON: Shopify's ``vendor``, a WooCommerce Store API ``store``/``vendor`` object;
3. the page's seller link: an ``<a>`` marked as the seller's (``itemprop="seller"``, ``rel="author"``,
   a class or id with "seller", "vendor", "store" or "shop-name") or whose path looks like a seller
   profile (``/seller/<id>``, ``/shop/<id>``, ``/store/<id>``, ``/vendor/<id>``, ``/users/<id>``).

The result is a plain dict (``name``, ``external_id``, ``profile_url``) carried on the listing item as
``seller_info``. Profile URLs are kept only on the marketplace's own hosts: the spider follows them
(politely, once each) and :func:`read_seller_page` reads the seller's name and contact keys there.

Pure: HTML and URLs in, dicts out.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse

from parsel import Selector

from crawler.contacts import Contact, extract_contacts

_PROFILE_PATH = re.compile(
    r"^/(?:[a-z]{2}(?:-[a-z]{2})?/)?(?:seller|sellers|shop|shops|store|stores|vendor|vendors|merchant|"
    r"merchants|users?|profile|storefront|str)/([^/?#]{1,200})/?$",
    re.I,
)
_SELLER_HINT = re.compile(r"seller|vendor|merchant|store-?name|shop-?name|storefront|sold-?by", re.I)
_SELLER_TYPES = {"Organization", "Person", "Store", "OnlineStore", "LocalBusiness", "Corporation"}
MAX_NAME = 300


def _clean(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = " ".join(str(value).split())
    return text[:MAX_NAME] or None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def seller_from_schema(node: Any, base_url: str) -> dict[str, Any] | None:
    """A seller dict from a schema.org ``seller`` value (a name string or an Organization/Person node)."""
    node = _first(node)
    if isinstance(node, str):
        name = _clean(node)
        if name and re.match(r"https?://", name):
            return {"name": None, "external_id": None, "profile_url": urljoin(base_url, name)}
        return {"name": name, "external_id": None, "profile_url": None} if name else None
    if not isinstance(node, dict):
        return None
    name = _clean(
        _first(node.get("name")) or _first(node.get("legalName")) or _first(node.get("alternateName"))
    )
    identifier = _first(node.get("identifier"))
    if isinstance(identifier, dict):
        identifier = identifier.get("value") or identifier.get("@value")
    url = _first(node.get("url")) or _first(node.get("@id"))
    profile = urljoin(base_url, url) if isinstance(url, str) and not url.startswith("_:") else None
    info = {"name": name, "external_id": _clean(identifier), "profile_url": profile}
    return info if any(info.values()) else None


def seller_from_platform(product: dict[str, Any], root: str) -> dict[str, Any] | None:
    """A seller dict from a platform JSON product: Shopify ``vendor``, a WooCommerce marketplace's
    ``store`` (Dokan, WCFM) or ``vendor`` object with ``id``/``name``/``url``/``shop_url``."""
    for key in ("store", "vendor", "seller"):
        value = product.get(key)
        if isinstance(value, dict):
            name = _clean(value.get("name") or value.get("shop_name") or value.get("store_name"))
            url = value.get("url") or value.get("shop_url") or value.get("store_url")
            external = value.get("id") or value.get("vendor_id")
            info = {
                "name": name,
                "external_id": _clean(external),
                "profile_url": urljoin(root + "/", url) if isinstance(url, str) and url else None,
            }
            if any(info.values()):
                return info
        elif isinstance(value, str) and _clean(value):
            return {"name": _clean(value), "external_id": None, "profile_url": None}
    return None


def _is_profile_link(href: str, page_url: str, own_hosts: frozenset[str]) -> bool:
    parsed = urlparse(urljoin(page_url, href))
    return (parsed.hostname or "") in own_hosts and bool(_PROFILE_PATH.match(parsed.path))


def seller_link(
    selector: Selector, page_url: str, own_hosts: frozenset[str]
) -> tuple[str, str | None] | None:
    """The listing page's link to its seller's profile: (absolute URL, link text), or None.

    A link marked as the seller's wins over one that only has a profile-like path; a page that
    links to several different profiles by path alone (a "more sellers" box) names none.
    """
    marked, by_path = [], []
    for link in selector.xpath("//a[@href]"):
        href = (link.attrib.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        attrs = " ".join(
            link.xpath(
                "@class|@id|@itemprop|@rel|@data-seller|ancestor::*[position()<=2]/@class"
                "|ancestor::*[position()<=2]/@id|ancestor::*[position()<=2]/@itemprop"
            ).getall()
        )
        url = urldefrag(urljoin(page_url, href))[0]
        if (parsed := urlparse(url)).hostname not in own_hosts:
            continue
        text = _clean(" ".join(link.xpath(".//text()").getall()))
        if _SELLER_HINT.search(attrs) or "author" in (link.attrib.get("rel") or ""):
            marked.append((url, text))
        elif _PROFILE_PATH.match(parsed.path):
            by_path.append((url, text))
    if marked:
        return marked[0]
    if len({u for u, _ in by_path}) == 1:
        return by_path[0]
    return None


def seller_of_listing(
    schema_seller: Any, selector: Selector | None, page_url: str, own_hosts: frozenset[str]
) -> dict[str, Any] | None:
    """Everything a listing page says about its seller, merged: structured data first, then the link.

    Args:
        schema_seller: the product's schema.org ``seller`` value (``offers.seller``), if any.
        selector: the parsed page (for the seller link); None for platform JSON.
        page_url: the listing's URL, to resolve relative links.
        own_hosts: the marketplace's hosts; a profile URL elsewhere is not followed.

    Returns:
        ``{"name", "external_id", "profile_url"}`` (values may be None), or None when the page names
        no seller.
    """
    info = seller_from_schema(schema_seller, page_url) if schema_seller else None
    link = seller_link(selector, page_url, own_hosts) if selector is not None else None
    if link is not None:
        url, text = link
        info = info or {"name": None, "external_id": None, "profile_url": None}
        info["profile_url"] = info.get("profile_url") or url
        info["name"] = info.get("name") or _name_from_link_text(text)
    if info is None:
        return None
    profile = info.get("profile_url")
    if profile and (urlparse(profile).hostname or "") not in own_hosts:
        info["profile_url"] = None  # an off-site "url" is the seller's own shop, read as a contact
    return info if (info.get("name") or info.get("external_id") or info.get("profile_url")) else None


def _name_from_link_text(text: str | None) -> str | None:
    if not text:
        return None
    text = re.sub(
        r"^(?:sold|shipped|offered)\s+by\s*:?\s*|^(?:seller|vendor|store|shop)\s*:\s*", "", text, flags=re.I
    )
    return _clean(text)


def read_seller_page(
    html: str, url: str, own_hosts: frozenset[str], region: str | None, selector: Selector | None = None
) -> tuple[str | None, list[Contact]]:
    """A seller profile page's display name and contact keys.

    The name comes from a schema.org ``Organization``/``Person``/``Store`` in JSON-LD, else
    ``og:title``, else the first ``h1``. Contacts come from the page's main content (``<main>``, else
    ``<body>``, scripts and styles left out) and its links.
    """
    selector = selector if selector is not None else Selector(text=html)
    name = _schema_name(selector) or _clean(selector.xpath("//meta[@property='og:title']/@content").get())
    if not name:
        name = _clean(" ".join(selector.xpath("(//h1)[1]//text()").getall()))
    main = selector.xpath("//main") or selector.xpath("//body") or [selector]
    region_node = main[0]
    text = " \n".join(region_node.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall())
    links = [urljoin(url, h) for h in region_node.xpath(".//a/@href").getall()]
    return name, extract_contacts(text, links, own_hosts=own_hosts, region=region)


def _schema_name(selector: Selector) -> str | None:
    import json

    for raw in selector.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for node in data if isinstance(data, list) else [data]:
            if isinstance(node, dict):
                kinds = node.get("@type")
                kinds = set(kinds) if isinstance(kinds, list) else {kinds}
                if kinds & _SELLER_TYPES and (name := _clean(_first(node.get("name")))):
                    return name
    return None


def listing_contacts(
    selector: Selector, page_url: str, own_hosts: frozenset[str], region: str | None
) -> list[Contact]:
    """Contact keys a listing page shows in its seller block or description (not header or footer)."""
    blocks = selector.xpath(
        "//*[@itemprop='seller' or @itemprop='description' or contains(@class,'seller') "
        "or contains(@class,'vendor') or contains(@class,'description') or contains(@id,'seller') "
        "or contains(@id,'description')]"
    )
    if not blocks:
        return []
    text = " \n".join(" ".join(b.xpath(".//text()[not(ancestor::script)]").getall()) for b in blocks)
    links = [urljoin(page_url, h) for b in blocks for h in b.xpath(".//a/@href").getall()]
    return extract_contacts(text, links, own_hosts=own_hosts, region=region)
