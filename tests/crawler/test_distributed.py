"""``--distributed``: two crawl processes on one marketplace share its pages through the real Redis."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import redis
from sqlalchemy import select

from copywatch.settings import Settings
from crawler.distributed import key_prefix
from crawler.run import CrawlSummary, crawl, resolve_marketplace
from db.engine import make_engine, session_factory
from db.models import Listing
from tests.crawler.shop import Shop, jpeg, page, product_jsonld, serve

PRODUCTS = 30
PAGE_DELAY_S = 0.2  # slow enough that both processes are still crawling when the other starts


def slow_shop() -> Shop:
    """One category of ``PRODUCTS`` product pages, each taking ``PAGE_DELAY_S`` to answer."""
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    shop.add("/", page("Home", '<a href="/c">All</a>'))
    shop.add("/c", page("All", " ".join(f'<a href="/p/{n}">{n}</a>' for n in range(PRODUCTS))))
    for n in range(PRODUCTS):
        html = page(f"Item {n}", "", product_jsonld(f"Item {n}", [f"/img/{n}.jpg"]))
        shop.add(f"/p/{n}", _slow(html))
        shop.add(f"/img/{n}.jpg", jpeg(300 + n), "image/jpeg")
    return shop


def _slow(body: bytes):  # noqa: ANN202 - a route body
    def answer() -> bytes:
        time.sleep(PAGE_DELAY_S)
        return body

    return answer


def _listing_paths(settings: Settings) -> list[str]:
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        urls = [listing.url for listing in session.execute(select(Listing)).scalars()]
    engine.dispose()
    return sorted("/" + url.split("/", 3)[3] for url in urls)


def _crawl_twice_at_once(settings: Settings, marketplace: str) -> list[CrawlSummary]:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda _: crawl(settings, marketplace, distributed=True), range(2)))


def test_two_distributed_crawls_split_a_marketplace_and_leave_no_keys(crawl_settings: Settings) -> None:
    client = redis.Redis.from_url(crawl_settings.redis_url)
    with serve(slow_shop()) as shop:
        marketplace_id = resolve_marketplace(crawl_settings, shop.base + "/", allow_local=True)
        name = shop.base.split("//", 1)[1]
        runs = _crawl_twice_at_once(crawl_settings, name)
        fetched = Counter(shop.requests)
        prefix = key_prefix(crawl_settings, marketplace_id)
        leftovers = list(client.scan_iter(f"{prefix}:*"))
        again = crawl(crawl_settings, name, distributed=True)  # a later session starts afresh
    client.close()

    assert [run.status for run in runs] == ["finished", "finished"], [run.error for run in runs]
    products = sorted(f"/p/{n}" for n in range(PRODUCTS))
    assert _listing_paths(crawl_settings) == products
    assert all(fetched[path] == 1 for path in products), fetched  # split between them, never twice
    assert sum(run.listings for run in runs) == PRODUCTS  # each listing stored by one process only
    assert sum(run.images_stored for run in runs) == PRODUCTS
    assert leftovers == []
    assert again.status == "finished" and again.listings == PRODUCTS and again.images_stored == 0
