"""The item a spider yields: one product listing with its image URLs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urldefrag, urljoin

import scrapy
from itemloaders.processors import Identity, MapCompose, TakeFirst
from itemloaders.utils import arg_to_iter
from scrapy.loader import ItemLoader

CURRENCY_SYMBOLS = {
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "zł": "PLN",
    "kr": "SEK",
}
_NUMBER = re.compile(r"\d[\d.,\s\u00a0']*")


class ListingItem(scrapy.Item):
    url = scrapy.Field()
    title = scrapy.Field()
    price = scrapy.Field()
    currency = scrapy.Field()
    seller = scrapy.Field()
    seller_info = scrapy.Field()  # {"name", "external_id", "profile_url"} (crawler.sellers)
    contacts = scrapy.Field()  # contact keys on the listing page: [{"kind", "value", "raw"}]
    image_urls = scrapy.Field()
    images = scrapy.Field()  # filled by the media pipeline: one result per URL


class SellerItem(scrapy.Item):
    """What a seller's profile page said: the seller (as the listing named it), its page's name and
    contact keys, or the reason the page could not be read (``error``)."""

    seller = scrapy.Field()
    name = scrapy.Field()
    page_url = scrapy.Field()
    contacts = scrapy.Field()
    error = scrapy.Field()


def parse_price(text: object) -> Decimal | None:
    """A price from the common formats: ``19.99``, ``1,299.00``, ``1.299,00 €``, ``$ 5``, ``12,5``."""
    if text is None:
        return None
    if isinstance(text, int | float | Decimal):
        value = Decimal(str(text))
        return value if value.is_finite() and value >= 0 else None
    match = _NUMBER.search(str(text))
    if not match:
        return None
    number = re.sub(r"[\s\u00a0']", "", match.group(0)).rstrip(".,")
    if "," in number and "." in number:
        # The right-most separator is the decimal one.
        if number.rfind(",") > number.rfind("."):
            number = number.replace(".", "").replace(",", ".")
        else:
            number = number.replace(",", "")
    elif "," in number:
        whole, _, fraction = number.rpartition(",")
        number = (
            number.replace(",", "")
            if len(fraction) == 3 and whole
            else whole.replace(",", "") + "." + fraction
        )
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    return value.quantize(Decimal("0.01"))


def parse_currency(text: object) -> str | None:
    if not text:
        return None
    value = str(text).strip()
    if re.fullmatch(r"[A-Za-z]{3}", value):
        return value.upper()
    for symbol, code in CURRENCY_SYMBOLS.items():
        if symbol in value:
            return code
    found = re.search(r"\b([A-Z]{3})\b", value)
    return found.group(1) if found else None


def clean_text(value: object) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def absolute_url(base: str):  # noqa: ANN201 - returns a processor
    def make(url: object) -> str | None:
        if not url or not isinstance(url, str):
            return None
        url = url.strip()
        if url.startswith("data:"):
            return None
        return urldefrag(urljoin(base, url))[0]

    return make


def unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            unique.append(v)
    return unique


class ListingLoader(ItemLoader):
    default_item_class = ListingItem
    default_output_processor = TakeFirst()
    title_in = MapCompose(clean_text)
    seller_in = MapCompose(clean_text)
    price_in = MapCompose(parse_price)
    currency_in = MapCompose(parse_currency)
    image_urls_out = Identity()

    def add_images(self, urls: list[str], base: str) -> None:
        make = absolute_url(base)
        self.add_value("image_urls", [u for u in (make(x) for x in urls) if u])

    def load_item(self) -> ListingItem:
        item = super().load_item()
        item["image_urls"] = unique(item.get("image_urls", []))
        return item


def _first(value: object, processor: Any = None) -> Any:
    """What ``TakeFirst()`` keeps of ``MapCompose(processor)`` over ``value``: the first processed
    value that is neither ``None`` nor empty."""
    for each in arg_to_iter(value):
        if processor is not None:
            each = processor(each)
        if each is not None and each != "":
            return each
    return None


def make_listing_item(
    *,
    url: object,
    title: object = None,
    price: object = None,
    currency: object = None,
    seller: object = None,
    images: Sequence[str] = (),
    base: str,
) -> ListingItem:
    """The item :class:`ListingLoader` would load from these values, without its per-item machinery
    (the product spider builds one per product page)."""
    item = ListingItem()
    for name, value in (
        ("url", _first(url)),
        ("title", _first(title, clean_text)),
        ("price", _first(price, parse_price)),
        ("currency", _first(currency, parse_currency)),
        ("seller", _first(seller, clean_text)),
    ):
        if value is not None:
            item[name] = value
    make = absolute_url(base)
    item["image_urls"] = unique([u for u in (make(x) for x in images) if u])
    return item


#: The widest values the ``listings`` table holds (``db.models.Listing``); a longer title or seller
#: is cut, a longer URL cannot be a listing.
MAX_URL = 2000
MAX_TITLE = 1000
MAX_SELLER = 300
#: A price at or above this is a data error (the column holds 12 digits before the point).
MAX_PRICE = Decimal("1e10")


def sanitize_listing(item: ListingItem) -> list[str]:
    """Make ``item`` fit the database, field by field; returns what was wrong (stats keys).

    A bad field loses only itself: an over-long title or seller is truncated, an absurd or
    non-finite price or a malformed currency becomes unknown, an over-long image URL is skipped.
    ``url_too_long`` means the item itself cannot be stored.
    """
    problems: list[str] = []
    if len(str(item.get("url") or "")) > MAX_URL:
        problems.append("url_too_long")
    for name, limit in (("title", MAX_TITLE), ("seller", MAX_SELLER)):
        value = item.get(name)
        if isinstance(value, str) and len(value) > limit:
            item[name] = value[: limit - 1].rstrip() + "…"
            problems.append(f"{name}_truncated")
    price = item.get("price")
    if price is not None:
        try:
            usable = Decimal(price).is_finite() and Decimal(price) < MAX_PRICE
        except (InvalidOperation, TypeError, ValueError):
            usable = False
        if not usable:
            del item["price"]
            problems.append("price_absurd")
    currency = item.get("currency")
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", str(currency)):
        del item["currency"]
        problems.append("currency_invalid")
    urls = list(item.get("image_urls") or [])
    kept = [u for u in urls if len(u) <= MAX_URL]
    if len(kept) < len(urls):
        item["image_urls"] = kept
        problems.extend(["image_url_too_long"] * (len(urls) - len(kept)))
    return problems
