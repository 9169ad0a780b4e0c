"""Real shop engines' default storefronts, captured and replayed: every product, every image, once.

The captures come from engines installed and loaded by ``bench/engines/<engine>/run.sh`` (see
``bench/engines/capture.py``); ``copywatch bench crawl-engines`` measures the live engines.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from copywatch.settings import Settings
from crawler.run import crawl
from db.engine import make_engine, session_factory
from db.models import ImageStatus, Listing, ListingImage
from tests.crawler.engine_fixtures import FIXTURES, disallowed, is_product_path, replay

ENGINES = sorted(p.name.removesuffix(".truth.json") for p in FIXTURES.glob("*.truth.json"))


def _listings(settings: Settings) -> dict[str, list[ListingImage]]:
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        listings = {
            listing.url: [i for i in listing.images] for listing in session.execute(select(Listing)).scalars()
        }
    engine.dispose()
    return listings


@pytest.mark.parametrize("engine", ENGINES)
def test_every_product_and_its_own_images_once_twice_in_a_row(crawl_settings: Settings, engine: str) -> None:
    with replay(engine) as shop:
        first = crawl(crawl_settings, shop.base + "/", allow_local=True)
        after_first = _listings(crawl_settings)
        second = crawl(crawl_settings, shop.base + "/", allow_local=True)
        after_second = _listings(crawl_settings)
        truth = shop.truth

        assert first.status == "finished" and first.error is None, first.error
        paths = {url.removeprefix(shop.base) for url in after_first}
        assert all(is_product_path(shop, p) for p in paths), sorted(
            paths
        )  # no category, review or facet page
        assert len(paths) == truth["products"]
        for url, images in after_first.items():
            assert all(i.status != ImageStatus.FAILED for i in images), [(i.url, i.error) for i in images]
            product_id = re.search(truth["product_id"], url).group(1)  # type: ignore[union-attr]
            assert len(images) == truth["images_by_id"][product_id], url  # its gallery, no thumbnails
        assert sum(len(v) for v in after_first.values()) == truth["images"]
        assert disallowed(shop) == []

        assert second.status == "finished" and second.images_stored == 0 and second.images_failed == 0
        assert {u: len(v) for u, v in after_second.items()} == {u: len(v) for u, v in after_first.items()}


@pytest.mark.parametrize(
    "engine", [e for e in ENGINES if (FIXTURES / f"{e}.truth.json").read_text().count("not_for_sale")]
)
def test_products_that_cannot_be_bought_are_products_and_their_pages_are_not(
    crawl_settings: Settings, engine: str
) -> None:
    """Sold-out products (a "notify me" form instead of the basket form) and products without a
    price or stock record show no purchase control; read by the site's learnt product template
    they are products, with their photos, while the category, facet and review-form pages of the
    same shop (the review page of a sold-out product repeats its page) stay not-products."""
    with replay(engine) as shop:
        crawl(crawl_settings, shop.base + "/", allow_local=True)
        listings = _listings(crawl_settings)
        truth = shop.truth
    by_id = {
        re.search(truth["product_id"], url).group(1): images  # type: ignore[union-attr]
        for url, images in listings.items()
        if is_product_path(shop, url.removeprefix(shop.base))
    }
    for kind, ids in truth["not_for_sale"].items():
        for product_id in ids:
            assert product_id in by_id, f"{kind} product {product_id} missed"
            assert len(by_id[product_id]) == truth["images_by_id"][product_id], product_id
    others = [url for url in listings if not is_product_path(shop, url.removeprefix(shop.base))]
    assert others == []  # no category, facet, search or review page
    assert len(listings) == truth["products"]
    engine_ = make_engine(crawl_settings.database_url)
    with session_factory(engine_)() as session:
        prices = {
            re.search(truth["product_id"], listing.url).group(1): listing.price  # type: ignore[union-attr]
            for listing in session.execute(select(Listing)).scalars()
        }
    engine_.dispose()
    # A product that shows no price has none: not a mini-cart's "$0.00", not another product's.
    assert {i: prices[i] for i in truth.get("unpriced", [])} == {i: None for i in truth.get("unpriced", [])}
