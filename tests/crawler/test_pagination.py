"""A category reached only through a long chain of "next page" links is crawled to its end."""

from __future__ import annotations

from sqlalchemy import select

from copywatch.settings import Settings
from crawler.run import crawl
from db.engine import make_engine, session_factory
from db.models import Listing
from tests.crawler.shop import Shop, jpeg, page, product_jsonld, serve

CHAIN = 30  # category pages, each linked only from the one before it


def next_chain_shop() -> Shop:
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    shop.add("/", page("Home", '<a href="/c?page=1">Shop</a>'))
    for n in range(1, CHAIN + 1):
        nxt = f'<a href="/c?page={n + 1}">next</a>' if n < CHAIN else ""
        shop.add(f"/c?page={n}", page(f"Page {n}", f'<a href="/p/{n}">Item {n}</a>{nxt}'))
        shop.add(f"/p/{n}", page(f"Item {n}", "", product_jsonld(f"Item {n}", [f"/img/{n}.jpg"])))
        shop.add(f"/img/{n}.jpg", jpeg(n), "image/jpeg")
    return shop


def test_every_page_of_a_long_next_chain_is_crawled(settings: Settings) -> None:
    with serve(next_chain_shop()) as shop:
        summary = crawl(settings.with_overrides(crawl_delay_s=0.0), shop.base + "/", allow_local=True)
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        urls = {row.url.split("/", 3)[3] for row in session.execute(select(Listing)).scalars()}
    engine.dispose()
    assert summary.status == "finished"
    assert urls == {f"p/{n}" for n in range(1, CHAIN + 1)}
