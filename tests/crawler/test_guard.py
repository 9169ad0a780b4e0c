"""A crawler that cannot be turned against its user: real crawls of hostile shops on 127.0.0.1.

Each shop is a marketplace marked local, so its *own* host (127.0.0.1 and its port) may be crawled;
every other local address — ``localhost`` (found only by DNS), 10.x, another port — stays refused,
on every redirect hop.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from sqlalchemy import select

from copywatch.settings import Settings
from crawler.run import crawl
from db.engine import make_engine, session_factory
from db.models import CrawlRun, ImageStatus, Listing, ListingImage
from db.reporting import run_report
from tests.crawler.shop import Shop, jpeg, page, product_jsonld, serve


def _rows(settings: Settings) -> tuple[list[Listing], list[ListingImage]]:
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        listings = list(session.execute(select(Listing).order_by(Listing.id)).scalars())
        images = list(session.execute(select(ListingImage).order_by(ListingImage.id)).scalars())
    engine.dispose()
    return listings, images


def _product_shop(images: list[str], name: str = "Guarded thing") -> Shop:
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    shop.add("/", page("Home", '<a href="/p/1">one</a>'))
    shop.add("/p/1", page(name, f"<h1>{name}</h1>", product_jsonld(name, images)))
    shop.add("/img/ok.jpg", jpeg(1), "image/jpeg")
    return shop


def test_a_hostile_permalink_cannot_overwrite_another_marketplace_listing(crawl_settings: Settings) -> None:
    victim = _product_shop(["/img/ok.jpg"], name="Genuine bag")
    with serve(victim) as real:
        crawl(crawl_settings, real.base + "/", allow_local=True)
        hostile = Shop()
        hostile.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
        hostile.add("/", page("Woo", "<p>hi</p>"))
        items = [
            {
                "permalink": real.base + "/p/1",
                "name": "Hijacked",
                "prices": {"price": "1", "currency_code": "EUR"},
            },
            {
                "permalink": "javascript:alert(1)",
                "name": "Script",
                "prices": {"price": "1", "currency_code": "EUR"},
            },
            {"permalink": "/product/own/", "name": "Own", "prices": {"price": "100", "currency_code": "EUR"}},
        ]
        hostile.add(
            "/wp-json/wc/store/v1/products?per_page=100&page=1",
            json.dumps(items).encode(),
            "application/json",
        )
        with serve(hostile) as evil:
            summary = crawl(crawl_settings, evil.base + "/", allow_local=True)
    listings, _ = _rows(crawl_settings)
    by_url = {(listing.marketplace_id, listing.url): listing for listing in listings}
    genuine = [listing for listing in listings if listing.url == real.base + "/p/1"]
    assert [listing.title for listing in genuine] == ["Genuine bag"]  # untouched
    assert not any(listing.url.startswith("javascript:") for listing in listings)
    assert {listing.url for listing in listings if listing.marketplace_id == summary.marketplace_id} == {
        evil.base + "/product/own/"
    }
    assert summary.stats["copywatch/products/failed"] == 2 and len(by_url) == 2


def test_ftp_and_private_address_images_are_refused_with_their_reason(crawl_settings: Settings) -> None:
    with serve(_product_shop([])) as shop:
        port = shop.base.rsplit(":", 1)[1]
        bad = {
            f"ftp://127.0.0.1:{port}/img/ok.jpg": "scheme 'ftp' not allowed",
            f"http://localhost:{port}/img/ok.jpg": "localhost resolves to a loopback address",
            "http://10.20.30.40/img/x.jpg": "private address 10.20.30.40 refused",
            "http://169.254.169.254/latest/meta-data/x.jpg": "link-local address",
            "http://127.0.0.1:6379/x.jpg": "port 6379 not allowed",
        }
        shop.add("/p/1", page("Thing", "<h1>Thing</h1>", product_jsonld("Thing", ["/img/ok.jpg", *bad])))
        # The port is allowed here, so that localhost is refused for its address (found by DNS).
        overrides = {"DOWNLOAD_TIMEOUT": 20, "COPYWATCH_ALLOWED_PORTS": [int(port)]}
        summary = crawl(crawl_settings, shop.base + "/", allow_local=True, overrides=overrides)
    listings, images = _rows(crawl_settings)
    assert summary.status == "finished" and [listing.title for listing in listings] == ["Thing"]
    errors = {i.url: i.error or "" for i in images if i.status == ImageStatus.FAILED}
    assert set(errors) == set(bad)
    for url, reason in bad.items():
        assert reason in errors[url], (url, errors[url])
    assert [i.url for i in images if i.status != ImageStatus.FAILED] == [shop.base + "/img/ok.jpg"]


def test_a_redirect_chain_to_a_real_image_is_followed(crawl_settings: Settings) -> None:
    shop = _product_shop(["/img/moved.jpg"])
    shop.redirects["/img/moved.jpg"] = "/img/elsewhere.jpg"
    shop.redirects["/img/elsewhere.jpg"] = "/img/ok.jpg"
    with serve(shop) as served:
        summary = crawl(crawl_settings, served.base + "/", allow_local=True)
    _, images = _rows(crawl_settings)
    assert summary.status == "finished"
    [moved] = images
    assert moved.url == served.base + "/img/moved.jpg"  # the listing keeps the URL the page named
    assert moved.status != ImageStatus.FAILED, moved.error  # followed two hops to the real image
    assert moved.sha256 == hashlib.sha256(jpeg(1)).hexdigest()


def test_a_redirect_chain_to_a_private_address_is_refused_on_every_hop(crawl_settings: Settings) -> None:
    shop = _product_shop(["/img/hop1.jpg"])
    shop.add("/", page("Home", '<a href="/p/1">one</a> <a href="/go">go</a>'))
    shop.redirects["/img/hop1.jpg"] = "/img/hop2.jpg"
    shop.add("/secret", page("Secret", "<h1>internal</h1>"))
    with serve(shop) as served:
        port = served.base.rsplit(":", 1)[1]
        # The last hop names the same server by a name that resolves to a loopback address.
        served.redirects["/img/hop2.jpg"] = f"http://localhost:{port}/img/ok.jpg"
        served.redirects["/go"] = f"http://localhost:{port}/secret"
        overrides = {"COPYWATCH_ALLOWED_PORTS": [int(port)]}  # localhost is refused for its address
        summary = crawl(crawl_settings, served.base + "/", allow_local=True, overrides=overrides)
        requested = list(served.requests)
    _, images = _rows(crawl_settings)
    [private] = images
    assert private.url == served.base + "/img/hop1.jpg"
    assert private.status == ImageStatus.FAILED and "loopback" in (private.error or ""), private.error
    assert "/img/hop2.jpg" in requested  # the public hops were followed …
    assert "/img/ok.jpg" not in requested  # … the private one was never fetched
    assert "/secret" not in requested  # the page redirect to a private host was refused too
    assert summary.stats.get("copywatch/refused/address", 0) >= 1


def test_a_link_trap_is_stopped_by_the_page_budget_and_the_trap_guard(crawl_settings: Settings) -> None:
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    shop.add("/", page("Home", '<a href="/calendar/2026/1">calendar</a> <a href="/feed?day=1">feed</a>'))
    for n in range(1, 400):  # every page links to the next one: an endless calendar as far as we go
        shop.add(f"/calendar/2026/{n}", page(f"Month {n}", f'<a href="/calendar/2026/{n + 1}">next</a>'))
        shop.add(f"/feed?day={n}", page(f"Day {n}", f'<a href="/feed?day={n + 1}">next</a>'))
    with serve(shop) as served:
        budget = crawl(
            crawl_settings,
            served.base + "/",
            allow_local=True,
            overrides={"COPYWATCH_MAX_PAGES": 40, "CLOSESPIDER_TIMEOUT": 30, "COPYWATCH_TRAP_DRY": 0},
        )
        chained = crawl(
            crawl_settings,
            served.base + "/",
            overrides={"COPYWATCH_TRAP_CHAIN": 15, "CLOSESPIDER_TIMEOUT": 30, "COPYWATCH_TRAP_DRY": 0},
        )
    assert budget.stats["finish_reason"] == "page_budget"
    assert budget.stats["copywatch/budget/pages_reached"] == 40 and budget.pages == 40
    assert budget.error == "40 pages, no product pages recognised"  # stopped, and said why it is empty
    assert chained.stats["finish_reason"] == "finished"
    assert chained.stats["copywatch/traps/links_dropped"] == 2  # one per trap, at its 16th link
    assert chained.pages <= 2 * 16 + 1


def test_a_listing_whose_next_page_never_runs_out_is_left_after_a_few_empty_pages(
    crawl_settings: Settings,
) -> None:
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    shop.add("/", page("Home", '<a href="/c/1/page/1">lamps</a>'))
    for n in range(1, 400):  # two pages of products, then empty pages that still link to the next
        cards = "".join(f'<a href="/p/{n}-{k}">lamp {n}-{k}</a>' for k in range(3)) if n <= 2 else ""
        nav = f'<a href="/c/1/page/1">first</a> <a href="/c/1/page/{n + 1}">next</a>'
        shop.add(f"/c/1/page/{n}", page(f"Lamps {n}", cards + nav))
    with serve(shop) as served:
        summary = crawl(
            crawl_settings, served.base + "/", allow_local=True, overrides={"CLOSESPIDER_TIMEOUT": 30}
        )
        requested = list(served.requests)
    listing_pages = [p for p in requested if p.startswith("/c/1/page/")]
    assert {f"/p/{n}-{k}" for n in (1, 2) for k in range(3)} <= set(requested)  # every product reached
    assert len(listing_pages) <= 2 + 3 + 1  # the real pages, three empty ones, and the one they link to
    assert summary.stats["copywatch/traps/links_dropped"] >= 1


def test_a_bad_product_field_loses_only_that_product(crawl_settings: Settings) -> None:
    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    shop.add("/", page("Woo", "<p>hi</p>"))
    items = [
        {
            "permalink": f"/product/{i}/",
            "name": f"Thing {i}",
            "prices": {"price": "2500", "currency_code": "EUR", "currency_minor_unit": "x" if i == 1 else 2},
            "images": [{"src": f"/img/{i}.jpg"}],
        }
        for i in range(100)  # a full page: the next page is asked for too
    ]
    shop.add(
        "/wp-json/wc/store/v1/products?per_page=100&page=1", json.dumps(items).encode(), "application/json"
    )
    shop.add(
        "/wp-json/wc/store/v1/products?per_page=100&page=2",
        json.dumps([{"permalink": "/product/last/", "name": "Last", "prices": {"price": "100"}}]).encode(),
        "application/json",
    )
    for i in range(100):
        shop.add(f"/img/{i}.jpg", jpeg(300 + i, (80, 80)), "image/jpeg")
    with serve(shop) as served:
        summary = crawl(crawl_settings, served.base + "/", allow_local=True)
    listings, images = _rows(crawl_settings)
    urls = {listing.url.removeprefix(served.base) for listing in listings}
    assert urls == {f"/product/{i}/" for i in range(100) if i != 1} | {"/product/last/"}
    assert summary.stats["copywatch/products/failed"] == 1
    assert len([i for i in images if i.status != ImageStatus.FAILED]) == 99


def test_an_over_long_title_and_an_absurd_price_keep_the_listing_on_postgresql(
    crawl_settings: Settings,
) -> None:
    assert crawl_settings.database_url.startswith("postgresql")
    title = "Very long title " * 100  # 1,600 characters
    shop = _product_shop(["/img/ok.jpg"])
    data = json.loads(product_jsonld(title, ["/img/ok.jpg"]).split(">", 1)[1].rsplit("<", 1)[0])
    data["offers"]["price"] = "12345678901234567890"
    long_image = "/img/" + "x" * 2100 + ".jpg"
    data["image"].append(long_image)
    body = f'<h1>{title}</h1><script type="application/ld+json">{json.dumps(data)}</script>'
    shop.add("/p/1", page("Long", body))
    with serve(shop) as served:
        summary = crawl(crawl_settings, served.base + "/", allow_local=True)
    listings, images = _rows(crawl_settings)
    assert summary.status == "finished"
    [listing] = listings
    assert (
        listing.title is not None
        and len(listing.title) == 1000
        and listing.title.startswith("Very long title")
    )
    assert listing.price is None
    assert [i.url for i in images] == [served.base + "/img/ok.jpg"] and images[0].sha256
    stats = summary.stats
    assert stats["copywatch/fields/title_truncated"] == 1 and stats["copywatch/fields/price_absurd"] == 1
    assert stats["copywatch/fields/image_url_too_long"] == 1
    assert listing.price != Decimal("12345678901234567890")


def test_a_crawl_that_recognises_no_product_is_reported_as_such(crawl_settings: Settings, capsys) -> None:  # noqa: ANN001
    from copywatch.commands.crawl import run as crawl_command

    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    shop.add("/", page("Home", "".join(f'<a href="/info/{n}">page {n}</a>' for n in range(5))))
    for n in range(5):
        shop.add(f"/info/{n}", page(f"Info {n}", f"<h1>About us {n}</h1><img src='/img/ok.jpg'>"))
    with serve(shop) as served:
        import argparse

        args = argparse.Namespace(
            target=served.base + "/", limit=None, distributed=False, json=False, allow_local=True
        )
        code = crawl_command(args, crawl_settings)
    out = capsys.readouterr().out
    assert code == 1
    assert "failed" in out and "6 pages, no product pages recognised" in out
    engine = make_engine(crawl_settings.database_url)
    with session_factory(engine)() as session:
        [run] = session.execute(select(CrawlRun)).scalars()
        [health] = run_report(session, "crawl_health")  # the Reports page's crawl table
    engine.dispose()
    assert str(run.status.value) == "failed" and run.error == "6 pages, no product pages recognised"
    assert health["last_status"] == "failed" and health["last_error"] == run.error


def test_sold_out_pages_of_a_learnt_product_template_are_products_too(crawl_settings: Settings) -> None:
    def layout(title: str, body: str) -> bytes:
        return page(
            title,
            f"<header><a href='/'><img src='/img/logo.jpg'></a></header><article class='product'>"
            f"<div class='row'><div class='pics'><img src='/img/{title}.jpg'></div>"
            f"<div class='info'><h1>{title}</h1>{body}</div></div></article>",
        )

    shop = Shop()
    shop.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    names = ["soldout", "alpha", "beta", "gamma", "about"]
    shop.add("/", page("Home", "".join(f'<a href="/item/{n}-1/">{n}</a>' for n in names)))
    for n, name in enumerate(names):
        shop.add(f"/img/{name}.jpg", jpeg(500 + n), "image/jpeg")
    buy = "<p class='price'>€ 12,00</p><form action='/kosik/pridat' method='post'><button>Do košíku</button></form>"
    for name in ("alpha", "beta", "gamma"):
        shop.add(f"/item/{name}-1/", layout(name, buy))
    alert = "<p class='price'>€ 9,00</p><form action='/alert/' method='post'><input type='email' name='email'><button>Notify me</button></form>"
    shop.add("/item/soldout-1/", layout("soldout", alert))  # crawled first, before any template is known
    shop.add("/item/about-1/", layout("about", "<p>We are a small shop.</p>"))  # same layout, no price
    with serve(shop) as served:
        summary = crawl(crawl_settings, served.base + "/", allow_local=True)
    listings, _ = _rows(crawl_settings)
    assert summary.status == "finished"
    assert {listing.url.removeprefix(served.base) for listing in listings} == {
        "/item/alpha-1/",
        "/item/beta-1/",
        "/item/gamma-1/",
        "/item/soldout-1/",
    }


def test_the_operator_typing_a_local_url_marks_its_marketplace_local(
    crawl_settings: Settings,
    capsys,  # noqa: ANN001
) -> None:
    import argparse

    from copywatch.commands.crawl import run as crawl_command

    with serve(_product_shop(["/img/ok.jpg"])) as served:
        typed = argparse.Namespace(
            target=served.base + "/", limit=None, distributed=False, json=False, allow_local=False
        )
        assert crawl_command(typed, crawl_settings) == 0
        # The crawl() API (scheduled crawls, the demo) marks nothing by itself: a second shop on
        # another port is refused, and the run says how to mark it.
        with serve(_product_shop(["/img/ok.jpg"])) as other:
            refused = crawl(crawl_settings, other.base + "/")
    assert "marked local" in capsys.readouterr().err
    listings, _ = _rows(crawl_settings)
    assert [listing.title for listing in listings] == ["Guarded thing"]
    assert refused.status == "failed" and refused.pages == 0
    assert refused.error is not None and "--allow-local" in refused.error
