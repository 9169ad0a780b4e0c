"""Real crawls that meet sellers: every listing that names a seller is linked to one, profile pages
are followed once each and read for contacts, a missing or malformed profile page loses nothing
else, and sellers sharing a contact end up in one network after the crawl."""

from __future__ import annotations

import json

from sqlalchemy import select

from copywatch.settings import Settings
from crawler.run import crawl
from db.engine import make_engine, session_factory
from db.models import Listing, Marketplace, Seller, SellerContact, SellerLink
from tests.crawler.shop import Shop, jpeg, page, serve, shopify_shop, standard_shop


def _seller_shop() -> Shop:
    """Six listings of five sellers; profile pages good, missing (404), failing (500), malformed."""
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    sellers = {
        "alpha": ("Alpha Goods", 200, "<p>Tel. 020 7946 0321</p><p>alpha [at] alpha-mail [dot] example</p>"),
        "beta": (
            "Beta Outlet",
            200,
            "<p>WhatsApp +44 20 7946 0321</p><a href='https://beta-shop.example/'>shop</a>",
        ),
        "gamma": ("Gamma", 404, ""),
        "delta": ("Delta", 500, ""),
        "eps": ("Eps", 200, None),  # malformed
    }
    links = []
    for n, (slug, (name, status, contacts)) in enumerate([*sellers.items(), ("alpha", sellers["alpha"])]):
        product = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": f"Item {n}",
            "image": [f"/img/{n}.jpg"],
            "offers": {
                "@type": "Offer",
                "price": "9.99",
                "priceCurrency": "GBP",
                "seller": {"@type": "Organization", "name": name},
            },
        }
        head = f'<script type="application/ld+json">{json.dumps(product)}</script>'
        shop.add(
            f"/p/{n}",
            page(
                f"Item {n}",
                f'<h1>Item {n}</h1><p>sold by <a class="seller" href="/shop/{slug}">{name}</a></p>',
                head,
            ),
        )
        shop.add(f"/img/{n}.jpg", jpeg(300 + n), "image/jpeg")
        links.append(f'<a href="/p/{n}">{n}</a>')
        if status == 200 and contacts is not None:
            shop.add(f"/shop/{slug}", page(name, f"<main><h1>{name}</h1>{contacts}</main>"))
        elif status == 200:
            shop.add(
                f"/shop/{slug}",
                b"<html><body><main><h1>E\xff\xfeps<<p class='x\x00 ><a href=",
                "text/html; charset=utf-8",
            )
        elif status != 404:
            shop.add(f"/shop/{slug}", b"server error", "text/plain", status=status)
    # A listing that names no seller, and a seller link to another site (never followed).
    shop.add(
        "/p/anon",
        page(
            "Anon",
            "<h1>Anon</h1><a class='seller' href='https://elsewhere.invalid/shop/x'>x</a>",
            '<script type="application/ld+json">{"@type": "Product", "name": "Anon", "image": ["/img/9.jpg"]}</script>',
        ),
    )
    shop.add("/img/9.jpg", jpeg(399), "image/jpeg")
    links.append('<a href="/p/anon">anon</a>')
    shop.add("/", page("Shop", " ".join(links)))
    return shop


def _region(settings: Settings, base: str, region: str) -> None:
    from db.marketplaces import upsert_marketplace

    engine = make_engine(settings.database_url)
    with session_factory(engine)() as s, s.begin():
        upsert_marketplace(s, "sellers-shop", [base + "/"], settings={"region": region, "local": True})
    engine.dispose()


def test_sellers_are_linked_profiles_read_and_networks_built(crawl_settings: Settings) -> None:
    with serve(_seller_shop()) as shop:
        _region(crawl_settings, shop.base, "GB")
        summary = crawl(crawl_settings, "sellers-shop")
        requested = list(shop.requests)
    assert summary.status == "finished", summary.error
    assert summary.listings == 7
    # Each profile page once (alpha is named by two listings), never the off-site one.
    assert sorted(p for p in requested if p.startswith("/shop/")) == [
        "/shop/alpha",
        "/shop/beta",
        "/shop/delta",
        "/shop/delta",
        "/shop/delta",
        "/shop/eps",
        "/shop/gamma",
    ]  # fmt: skip  (delta: two retries of its 500)
    engine = make_engine(crawl_settings.database_url)
    with session_factory(engine)() as s:
        listings = s.execute(select(Listing)).scalars().all()
        sellers = {x.name: x for x in s.execute(select(Seller)).scalars()}
        contacts = {(c.seller_id, c.kind.value, c.value) for c in s.execute(select(SellerContact)).scalars()}
        links = [(x.seller_a, x.seller_b, x.reason, x.key) for x in s.execute(select(SellerLink)).scalars()]
        marketplace = s.execute(select(Marketplace)).scalar_one()
    engine.dispose()
    assert marketplace.settings["region"] == "GB"
    named = [x for x in listings if x.seller]
    assert len(named) == 6 and all(x.seller_id is not None for x in named)
    assert next(x for x in listings if x.url.endswith("/p/anon")).seller_id is None
    assert set(sellers) == {"Alpha Goods", "Beta Outlet", "Gamma", "Delta", "Eps"}
    alpha, beta = sellers["Alpha Goods"], sellers["Beta Outlet"]
    assert alpha.profile_url.endswith("/shop/alpha") and alpha.profile_error is None
    assert sellers["Gamma"].profile_error == "HTTP 404"
    assert sellers["Delta"].profile_error == "HTTP 500"
    assert sellers["Eps"].profile_error is None  # malformed, read for what it holds (nothing)
    assert (alpha.id, "phone", "+442079460321") in contacts
    assert (alpha.id, "email", "alpha@alpha-mail.example") in contacts
    assert (beta.id, "phone", "+442079460321") in contacts and (
        beta.id,
        "domain",
        "beta-shop.example",
    ) in contacts
    # The shared phone, written two ways, links Alpha and Beta; nobody else is linked.
    assert links == [(min(alpha.id, beta.id), max(alpha.id, beta.id), "shared_phone", "+442079460321")]
    assert alpha.network_id == beta.network_id == min(alpha.id, beta.id)
    assert len({x.network_id for x in sellers.values()}) == 4


def test_every_listing_of_the_fixture_shops_that_names_a_seller_is_linked(crawl_settings: Settings) -> None:
    with serve(standard_shop()) as shop, serve(shopify_shop(3)) as shopify:
        crawl(crawl_settings, shop.base + "/", allow_local=True)
        crawl(crawl_settings, shopify.base + "/", allow_local=True)
        second = crawl(crawl_settings, shop.base + "/", allow_local=True)  # a re-crawl adds no second seller
    assert second.status == "finished"
    engine = make_engine(crawl_settings.database_url)
    with session_factory(engine)() as s:
        listings = s.execute(select(Listing)).scalars().all()
        sellers = s.execute(select(Seller)).scalars().all()
    engine.dispose()
    named = [x for x in listings if x.seller]
    assert len(named) >= 5
    assert all(x.seller_id is not None for x in named), [x.url for x in named if x.seller_id is None]
    assert sorted((x.name, x.identity) for x in sellers) == [
        ("Store Co", "name:store co"),
        ("acme-outlet", "name:acme-outlet"),
    ]
