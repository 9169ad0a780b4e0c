"""The review queue through the test client: filters, keyset pages, detail evidence, review and bulk actions."""

from __future__ import annotations

import re
from datetime import datetime

from db.engine import make_engine, session_factory
from db.listings import upsert_listing, upsert_listing_image
from db.models import Detection, DetectionStatus
from db.review_queries import queue_count
from db.review_queue import QueueFilters, review_queue
from db.scoping import BrandScope
from review.queue import COUNT_CAP, PAGE_SIZE
from tests.review.conftest import Seeded, login
from tests.support.detections import upsert_detection


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="queue-row" data-id="(\d+)"', html)]


def _scores(seeded: Seeded, ids: list[int]) -> list[float]:
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s:
        by_id = {d.id: d.score for d in s.query(Detection).filter(Detection.id.in_(ids))}
    engine.dispose()
    return [by_id[i] for i in ids]


def _add_many(seeded: Seeded, count: int) -> None:
    engine = make_engine(seeded.settings.database_url)
    original_id = next(iter(seeded.originals))
    with session_factory(engine)() as s, s.begin():
        for n in range(count):
            listing = upsert_listing(s, marketplace_id=1, url=f"http://a.invalid/bulk/{n}", seller="bulk")
            image, _ = upsert_listing_image(
                s, listing_id=listing, url=f"http://img/{n}", sha256=f"{n:064x}", path="x.png"
            )
            # Ties on purpose: keyset pagination must order them by id and lose none.
            upsert_detection(s, listing_image_id=image, original_id=original_id, score=0.5 + (n % 7) / 100)
    engine.dispose()


def test_keyset_pages_cover_the_queue_once_in_score_order(client, seeded: Seeded) -> None:
    _add_many(seeded, PAGE_SIZE + 20)
    login(client, seeded.admin_email)  # admins also see the logo-only detection (no brand)
    seen: list[int] = []
    url = "/queue"
    for _ in range(5):
        html = client.get(url).get_data(as_text=True)
        seen.extend(_ids(html))
        match = re.search(r'href="([^"]+)" id="next-page"', html)
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
    total = len(seeded.detection_ids) + PAGE_SIZE + 20
    assert len(seen) == total and len(set(seen)) == total
    scores = _scores(seeded, seen)
    keys = list(zip(scores, seen, strict=True))
    assert keys == sorted(keys, key=lambda k: (-k[0], -k[1]))
    assert f">{total:,}<".encode() in client.get("/queue").data


def test_queue_count_agrees_with_the_queue_and_stops_at_the_cap(seeded: Seeded) -> None:
    _add_many(seeded, 30)
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s:
        combos = [
            QueueFilters(),
            QueueFilters(status=None),
            QueueFilters(brand_id=1),
            QueueFilters(marketplace_id=2, min_score=0.6),
            QueueFilters(brand_id=2, marketplace_id=1, max_score=0.9, since=datetime(2000, 1, 1)),
            QueueFilters(status=DetectionStatus.CONFIRMED),
            QueueFilters(until=datetime(2000, 1, 1)),
        ]
        for filters in combos:
            expected = len(review_queue(s, filters, limit=10_000))
            assert queue_count(s, filters, BrandScope.everything(), COUNT_CAP) == expected, filters
        assert queue_count(s, QueueFilters(), BrandScope.everything(), cap=5) == 6
    engine.dispose()


def test_filters_narrow_the_queue(client, seeded: Seeded) -> None:
    login(client, seeded.reviewer_email)
    all_ids = _ids(client.get("/queue").get_data(as_text=True))
    # The logo-only detection (the last) names no original, so no brand: it is for admins.
    assert sorted(all_ids) == sorted(seeded.detection_ids[:-1])
    high = _ids(client.get("/queue?min=80").get_data(as_text=True))
    assert high and all(s >= 0.8 for s in _scores(seeded, high)) and len(high) < len(all_ids)
    band = _ids(client.get("/queue?min=70&max=85").get_data(as_text=True))
    assert all(0.7 <= s <= 0.85 for s in _scores(seeded, band)) and band
    shop_a = _ids(client.get("/queue?marketplace=1").get_data(as_text=True))
    shop_b = _ids(client.get("/queue?marketplace=2").get_data(as_text=True))
    assert shop_a and shop_b and set(shop_a).isdisjoint(shop_b) and len(shop_a) + len(shop_b) == len(all_ids)
    brand_1 = _ids(client.get("/queue?brand=1").get_data(as_text=True))
    assert brand_1 and len(brand_1) < len(all_ids)
    assert _ids(client.get("/queue?since=2999-01-01").get_data(as_text=True)) == []
    assert _ids(client.get("/queue?until=2000-01-01").get_data(as_text=True)) == []
    assert _ids(client.get("/queue?status=confirmed").get_data(as_text=True)) == []
    # Junk in the query string is a 400 that names the value, never a 500 (issue 25).
    junk = client.get("/queue?min=abc&brand=x&after=zz&status=evil")
    assert junk.status_code == 400 and "is not" in junk.get_data(as_text=True)


def test_detail_shows_the_evidence(client, seeded: Seeded) -> None:
    login(client, seeded.admin_email)  # the logo-only detection below belongs to no brand: admins see it
    html = client.get(f"/detections/{seeded.detection_ids[0]}").get_data(as_text=True)
    assert 'class="region region-query" points="40,30 260,30 260,267 40,267 "' in html
    assert 'class="region region-original"' in html
    assert "Cheap trail jacket 0" in html and "seller0" in html and "19.99 EUR" in html
    assert 'href="http://a.invalid/item/0"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "95.0%" in html and "inlier ratio" in html and "Shifted".lower() in html.lower()
    # Components read as people say them: counts whole, ratios to three places.
    assert '<th>inliers</th><td class="num">80</td>' in html
    assert '<th>inlier ratio</th><td class="num">0.700</td>' in html
    assert client.get("/detections/999999").status_code == 404
    logo_only = client.get(f"/detections/{seeded.detection_ids[-1]}").get_data(as_text=True)
    assert "A logo-only detection" in logo_only and "no logo where the brand puts it" in logo_only
    assert "counterfeit logo" in logo_only


def test_confirm_records_who_when_and_note_then_moves_on(client, seeded: Seeded) -> None:
    token = login(client, seeded.reviewer_email)
    first, second = seeded.detection_ids[:2]
    response = client.post(
        f"/detections/{first}/review",
        data={"csrf_token": token, "action": "confirm", "note": "  same photo  ", "q": "status=new"},
    )
    assert response.status_code == 302 and f"/detections/{second}" in response.headers["Location"]
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s:
        d = s.get(Detection, first)
        assert d.status == DetectionStatus.CONFIRMED and d.note == "same photo"
        assert d.reviewer.email == seeded.reviewer_email and d.reviewed_at is not None
    engine.dispose()
    assert first not in _ids(client.get("/queue").get_data(as_text=True))


def test_bulk_dismiss(client, seeded: Seeded) -> None:
    token = login(client, seeded.reviewer_email)
    chosen = seeded.detection_ids[2:5]
    response = client.post(
        "/queue/bulk",
        data={
            "csrf_token": token,
            "action": "dismiss",
            "ids": [str(i) for i in chosen],
            "note": "other brand",
        },
        follow_redirects=True,
    )
    assert b"3 detections dismissed" in response.data
    remaining = _ids(client.get("/queue").get_data(as_text=True))
    assert not set(chosen) & set(remaining)
    assert sorted(_ids(client.get("/queue?status=dismissed").get_data(as_text=True))) == sorted(chosen)
    assert (
        client.post("/queue/bulk", data={"csrf_token": token, "action": "delete", "ids": ["1"]}).status_code
        == 400
    )


def test_queue_ordered_by_seller_risk_pages_through_every_detection_once(client, seeded: Seeded) -> None:
    from db.models import Listing, ListingImage, Seller
    from db.sellers import carry_over_listing_sellers

    _add_many(seeded, PAGE_SIZE + 10)
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s, s.begin():
        carry_over_listing_sellers(s)
        for n, seller in enumerate(s.query(Seller).order_by(Seller.id)):
            seller.risk_score = float((n * 37) % 100)
    with session_factory(engine)() as s:
        rows = (
            s.query(Detection.id, Detection.score, Seller.risk_score)
            .join(ListingImage, ListingImage.id == Detection.listing_image_id)
            .join(Listing, Listing.id == ListingImage.listing_id)
            .outerjoin(Seller, Seller.id == Listing.seller_id)
            .filter(Detection.status == DetectionStatus.NEW)
            .all()
        )
    engine.dispose()
    expected = [i for i, _, _ in sorted(rows, key=lambda r: (-(r[2] or 0.0), -r[1], -r[0]))]
    login(client, seeded.admin_email)
    seen: list[int] = []
    url = "/queue?order=risk"
    for _ in range(5):
        html = client.get(url).get_data(as_text=True)
        seen.extend(_ids(html))
        match = re.search(r'href="([^"]+)" id="next-page"', html)
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
        assert "order=risk" in url
    assert seen == expected
    # The detail page's "next" follows the same order.
    html = client.get(f"/detections/{expected[0]}?q=order%3Drisk").get_data(as_text=True)
    assert f"/detections/{expected[1]}?" in html
