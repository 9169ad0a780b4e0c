"""``make_listing_item`` (the product spider's fast path) loads what ``ListingLoader`` loads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crawler.items import ListingLoader, make_listing_item

BASE = "http://shop.test/p/1?colour=red"

CASES: list[dict[str, Any]] = [
    {"url": "http://shop.test/p/1", "title": "  A\n fine  thing ", "price": "1.299,00 €", "currency": "€"},
    {"url": "http://shop.test/p/2", "title": None, "price": None, "currency": None, "seller": None},
    {"url": "http://shop.test/p/3", "title": "", "price": "call us", "currency": "dollars", "seller": "  "},
    {
        "url": "http://shop.test/p/4",
        "title": ["", None, "Second"],
        "price": [None, 12.5],
        "seller": ["S", "T"],
    },
    {"url": "http://shop.test/p/5", "price": Decimal("-1"), "currency": ["usd", "EUR"], "seller": 42},
    {"url": "http://shop.test/p/6", "price": 0, "currency": "GBP"},
]
IMAGES: list[list[str]] = [
    [],
    ["/i/1.jpg", "/i/1.jpg#zoom", "i/2.jpg", "", "data:image/png;base64,xx", "  /i/3.png  "],
    ["http://cdn.test/a.webp", "http://cdn.test/a.webp", "//cdn.test/b.jpg"],
]


def _loaded(values: dict[str, Any], images: list[str]) -> dict[str, Any]:
    loader = ListingLoader()
    for name, value in values.items():
        loader.add_value(name, value)
    loader.add_images(images, BASE)
    return dict(loader.load_item())


@pytest.mark.parametrize("values", CASES)
@pytest.mark.parametrize("images", IMAGES)
def test_make_listing_item_matches_the_loader(values: dict[str, Any], images: list[str]) -> None:
    made = dict(make_listing_item(**values, images=images, base=BASE))
    assert made == _loaded(values, images)
