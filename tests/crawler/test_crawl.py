"""Real Scrapy crawls of shops served on 127.0.0.1, into real PostgreSQL (and SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from copywatch.settings import Settings
from crawler.run import crawl
from db.engine import make_engine, session_factory
from db.models import CrawlRun, ImageStatus, Listing, ListingImage
from tests.crawler.shop import serve, shopify_shop, standard_shop, woocommerce_shop

LISTINGS = {
    "/p/jsonld",
    "/p/microdata",
    "/p/opengraph",
    "/p/lazy",
    "/p/malformed",
    "/p/hostile",
    "/p/sitemap-only",
    "/p/no-structured-data",
}
STORED = 11  # a, b, e, c, first, d, d2, f, g (g-copy is the same bytes), h, k-500x500
FAILED = {
    "/img/missing.jpg": "HTTP 404",
    "/img/error.jpg": "HTTP 500",
    "/img/corrupt.jpg": "corrupt image",
    "/img/truncated.jpg": "corrupt image",
    "/img/huge.png": "too many pixels: 10000x5000",
    "/img/html.jpg": "not an image",
    "/img/loop1.jpg": "redirect",
}


def _rows(settings: Settings) -> tuple[list[Listing], list[ListingImage], list[CrawlRun]]:
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        listings = list(session.execute(select(Listing)).scalars())
        images = list(session.execute(select(ListingImage)).scalars())
        runs = list(session.execute(select(CrawlRun).order_by(CrawlRun.id)).scalars())
    engine.dispose()
    return listings, images, runs


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_crawl_stores_every_listing_and_image_and_records_failures(crawl_settings: Settings) -> None:
    with serve(standard_shop()) as shop:
        summary = crawl(crawl_settings, shop.base + "/", allow_local=True)
        requested = set(shop.requests)
    listings, images, runs = _rows(crawl_settings)

    assert summary.status == "finished" and summary.error is None
    assert {
        _path(listing.url) for listing in listings
    } == LISTINGS  # the ?color=red variant is the same listing
    stored = [i for i in images if i.status != ImageStatus.FAILED]
    assert len(stored) == STORED and all(i.status == ImageStatus.QUEUED for i in stored)
    assert all(
        (crawl_settings.media_root / i.path).read_bytes()[:2] in {b"\xff\xd8", b"\x89P"} for i in stored
    )
    failed = {_path(i.url): i.error for i in images if i.status == ImageStatus.FAILED}
    assert set(failed) == set(FAILED)
    for path, reason in FAILED.items():
        assert reason in failed[path], (path, failed[path])
    # Robots.txt disallows /private/: never asked for, not even once.
    assert not any(path.startswith("/private/") for path in requested)
    assert "/img/d2-150x150.jpg" not in {_path(i.url) for i in images}  # thumbnail of a named full image
    # Without structured data: the product's own full-size image, not the logo, thumb or related product.
    plain = next(x for x in listings if _path(x.url) == "/p/no-structured-data")
    assert (plain.title, float(plain.price), plain.currency) == ("Teapot", 18.5, "GBP")
    assert {_path(i.url) for i in images if i.listing_id == plain.id} == {"/img/k-500x500.jpg"}
    assert runs[-1].status == "finished" and runs[-1].stats["copywatch/images/stored"] == STORED

    by_path = {_path(listing.url): listing for listing in listings}
    assert (by_path["/p/microdata"].title, float(by_path["/p/microdata"].price)) == ("Mug", 1299.0)
    assert (by_path["/p/opengraph"].currency, by_path["/p/jsonld"].seller) == ("GBP", "acme-outlet")


def test_second_crawl_adds_nothing(crawl_settings: Settings) -> None:
    with serve(standard_shop()) as shop:
        crawl(crawl_settings, shop.base + "/", allow_local=True)
        first_listings, first_images, _ = _rows(crawl_settings)
        second = crawl(crawl_settings, shop.base + "/", allow_local=True)
    listings, images, runs = _rows(crawl_settings)
    assert second.status == "finished" and second.images_stored == 0
    assert len(listings) == len(first_listings) and len(images) == len(first_images)
    assert len(runs) == 2
    last_seen = {listing.url: listing.last_seen for listing in first_listings}
    assert all(listing.last_seen >= last_seen[listing.url] for listing in listings)


def test_platform_json_apis_are_read(crawl_settings: Settings) -> None:
    with serve(shopify_shop(3)) as shopify, serve(woocommerce_shop(2)) as woo:
        crawl(crawl_settings, shopify.base + "/", allow_local=True)
        crawl(crawl_settings, woo.base + "/", allow_local=True)
    listings, images, _ = _rows(crawl_settings)
    paths = sorted(_path(listing.url) for listing in listings)
    assert paths == [
        "/product/thing-0/",
        "/product/thing-1/",
        "/products/item-0",
        "/products/item-1",
        "/products/item-2",
    ]
    woo_listing = next(listing for listing in listings if listing.url.endswith("thing-1/"))
    assert (float(woo_listing.price), woo_listing.currency) == (25.01, "EUR")
    assert len([i for i in images if i.status == ImageStatus.QUEUED]) == 5


def test_a_dead_start_url_is_a_failed_run_with_its_reason(crawl_settings: Settings) -> None:
    summary = crawl(crawl_settings, "http://127.0.0.1:9/", allow_local=True)
    assert summary.status == "failed"
    assert "no page could be fetched" in summary.error


def test_unknown_marketplace_name_is_refused(crawl_settings: Settings) -> None:
    with pytest.raises(LookupError, match="no marketplace named"):
        crawl(crawl_settings, "nowhere")


def test_embedded_sqlite_crawl_with_a_listing_limit(settings: Settings) -> None:
    with serve(standard_shop()) as shop:
        summary = crawl(
            settings.with_overrides(crawl_delay_s=0.0), shop.base + "/", limit=2, allow_local=True
        )
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        count = session.execute(select(func.count()).select_from(Listing)).scalar_one()
    engine.dispose()
    assert summary.status == "finished"
    assert summary.stats["finish_reason"] == "closespider_itemcount"
    assert count >= 2  # requests already in flight when the limit is reached still complete
