"""The whole pipeline: a real crawl of a served test shop, run as the ``crawl_marketplace`` task
by a real worker, queues images that the worker scores with the real matcher; the detections'
alert digest arrives at a real SMTP server."""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
from sqlalchemy import select

from db.marketplaces import upsert_marketplace
from db.models import Detection, Listing, ListingImage
from tests.crawler.shop import Shop, page, product_jsonld, serve
from tests.support.images import draw_original, steal, unrelated
from tests.workers.conftest import ALERT_TO, Inbox, World
from workers.enqueue import producer


def _jpeg(image: object) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(data)


def test_a_crawled_shop_is_scored_by_a_worker_and_alerted(
    world: World, start_worker: Callable, smtp: tuple[Inbox, int]
) -> None:
    shop = Shop()
    products = {"copy-2": steal(draw_original(2)), "copy-7": steal(draw_original(7)), "own": unrelated(5)}
    links = " ".join(f'<a href="/p/{name}">{name}</a>' for name in products)
    shop.add("/robots.txt", b"User-agent: *\n", "text/plain")
    shop.add("/", page("Shop", links))
    for name, image in products.items():
        shop.add(f"/p/{name}", page(name, f"<h1>{name}</h1>", product_jsonld(name, [f"/img/{name}.jpg"])))
        shop.add(f"/img/{name}.jpg", _jpeg(image), "image/jpeg")
    inbox, smtp_port = smtp
    env = {**world.env, "CRAWL_DELAY_S": "0", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
    start_worker(env, world.queue)

    with serve(shop):
        with world.sessions()() as session, session.begin():
            marketplace_id = upsert_marketplace(
                session, "served shop", [shop.base + "/"], settings={"local": True}
            )
        producer(world.settings).send_task(
            "workers.crawl_marketplace", args=[marketplace_id], queue=world.queue
        )
        with world.sessions()() as session:
            deadline = time.monotonic() + 120
            while True:
                ids = list(
                    session.execute(
                        select(ListingImage.id)
                        .join(Listing, Listing.id == ListingImage.listing_id)
                        .where(Listing.marketplace_id == marketplace_id)
                    ).scalars()
                )
                session.rollback()
                if len(ids) == len(products) or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
    assert len(ids) == len(products), "every product image was crawled and queued"
    statuses = world.wait_done(ids)
    assert all(s == ("scored", None) for s in statuses.values())

    with world.sessions()() as session:
        found = {
            (url.rsplit("/", 1)[1], original_id)
            for url, original_id in session.execute(
                select(Listing.url, Detection.original_id)
                .join(ListingImage, ListingImage.id == Detection.listing_image_id)
                .join(Listing, Listing.id == ListingImage.listing_id)
            )
        }
    assert {("copy-2", 2), ("copy-7", 7)} <= found

    producer(world.settings).send_task("workers.send_alerts", queue=world.queue)
    deadline = time.monotonic() + 60
    while not inbox.messages:
        assert time.monotonic() < deadline, "no alert digest arrived"
        time.sleep(0.2)
    [digest] = inbox.messages
    assert digest["To"] == ALERT_TO
    text = digest.get_body(("plain",)).get_content()
    assert f"{shop.base}/p/copy-2" in text and f"{shop.base}/p/copy-7" in text
