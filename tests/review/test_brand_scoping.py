"""Brands kept apart: a reviewer granted one brand tries every route, API, export and media URL with
the other brand's ids, and is refused; the same requests with the own brand's ids succeed.

The seeded database has two brands (Acme Outdoor, Borealis) whose originals alternate; Acme's hits
are listed on shopA, Borealis' on shopB. ``ROUTE_CASES`` names how each route of the app is tried;
a route missing from it fails :func:`test_every_route_is_tried_across_brands`, so a new route cannot
skip the check.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import pytest
from flask import Flask

from db.engine import make_engine, session_factory
from db.models import Detection, DetectionStatus, Original, Seller
from db.networks import refresh_sellers
from db.reporting import REPORTS
from db.sellers import add_contacts
from tests.review.conftest import ACME_REVIEWER, Seeded, listing_copy, login

ACME, BOREALIS = "Acme Outdoor", "Borealis"


@dataclass
class Ids:
    """One brand's ids of every kind a URL can name."""

    detection: int
    original: int
    listing_image: int
    seller: int
    network: int


@dataclass
class World:
    acme: Ids
    borealis: Ids
    borealis_detections: list[int]
    borealis_sellers: list[str]


def _ids_of(s, brand_name: str) -> tuple[Ids, list[int], list[str]]:
    rows = (
        s.query(Detection)
        .join(Original, Original.id == Detection.original_id)
        .filter(Original.brand.has(name=brand_name))
        .order_by(Detection.id)
        .all()
    )
    first = rows[0]
    seller_id = first.listing_image.listing.seller_id
    seller = s.get(Seller, seller_id)
    names = sorted({d.listing_image.listing.seller for d in rows})
    return (
        Ids(first.id, first.original_id, first.listing_image_id, seller_id, seller.network_id),
        [d.id for d in rows],
        names,
    )


@pytest.fixture
def world(seeded: Seeded) -> World:
    """Sellers from the seeded listings; on each marketplace two sellers share a phone (a network)."""
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s, s.begin():
        refresh_sellers(s)
        for marketplace_id, phone in ((1, "+442079460001"), (2, "+442079460002")):
            sellers = s.query(Seller).filter_by(marketplace_id=marketplace_id).order_by(Seller.id).all()
            for seller in sellers[:2]:
                add_contacts(s, seller.id, [{"kind": "phone", "value": phone}], None)
        refresh_sellers(s)
    with session_factory(engine)() as s:
        acme, _, _ = _ids_of(s, ACME)
        borealis, borealis_detections, borealis_sellers = _ids_of(s, BOREALIS)
        for ids in (acme, borealis):
            members = s.query(Seller).filter_by(network_id=ids.network).count()
            assert members >= 2, "each brand's first seller is in a network"
    engine.dispose()
    return World(acme, borealis, borealis_detections, borealis_sellers)


# How each route is tried: (method, URL template, body kind). {detection}, {original}, … are
# filled with one brand's ids; ``None`` marks routes that name no brand's object (tried for leaks
# in their content instead, below).
ROUTE_CASES: dict[str, list[tuple[str, str, str]] | None] = {
    "queue.detail": [("GET", "/detections/{detection}", "")],
    "queue.review": [("POST", "/detections/{detection}/review", "form")],
    "queue.review_api": [("POST", "/api/detections/{detection}/review", "json")],
    "queue.bulk": [("POST", "/queue/bulk", "bulk")],
    "media.listing_image": [("GET", "/media/listing-image/{listing_image}", "")],
    "media.original": [("GET", "/media/original/{original}", "")],
    "sellers.detail": [("GET", "/sellers/{seller}", "")],
    "sellers.network": [("GET", "/networks/{network}", "")],
    "sellers.network_api": [("GET", "/api/networks/{network}", "")],
    "reports.export": None,
    "queue.index": None,
    "queue.home": None,
    "reports.index": None,
    "sellers.index": None,
    "sellers.networks": None,
    "search.page": None,
    "search.upload": None,
    "auth.login": None,
    "auth.logout": None,
    "auth.users": None,
    "static": None,
    # The takedown pages are tried across brands in test_brand_scoping_takedown.py (they need a
    # notice and an evidence file of each brand); their list and draft pages name no object.
    "takedown.bundle": None,
    "takedown.capture": None,
    "takedown.download": None,
    "takedown.draft": None,
    "takedown.edit": None,
    "takedown.evidence_file": None,
    "takedown.holder": None,
    "takedown.index": None,
    "takedown.notice": None,
    "takedown.send": None,
    "takedown.status": None,
}


def _fill(template: str, ids: Ids) -> str:
    return template.format(**ids.__dict__)


def _request(client, token: str, method: str, url: str, body: str, ids: Ids):
    if method == "GET":
        return client.get(url)
    if body == "json":
        return client.post(url, json={"action": "confirm"}, headers={"X-CSRFToken": token})
    if body == "bulk":
        return client.post(url, data={"action": "confirm", "ids": [str(ids.detection)], "csrf_token": token})
    return client.post(url, data={"action": "confirm", "csrf_token": token})


def _status(seeded: Seeded, detection_id: int) -> DetectionStatus:
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s:
        status = s.get(Detection, detection_id).status
    engine.dispose()
    return status


def test_every_route_is_tried_across_brands(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    untried = sorted(endpoints - set(ROUTE_CASES))
    assert not untried, (
        f"add these routes to ROUTE_CASES (how to try them with another brand's ids): {untried}"
    )


def _cases() -> Iterator[tuple[str, str, str, str]]:
    for endpoint, cases in ROUTE_CASES.items():
        for method, template, body in cases or []:
            yield endpoint, method, template, body


@pytest.mark.parametrize(("endpoint", "method", "template", "body"), list(_cases()))
def test_other_brands_ids_are_refused_own_brand_served(
    client, seeded: Seeded, world: World, endpoint: str, method: str, template: str, body: str
) -> None:
    token = login(client, ACME_REVIEWER)
    refused = _request(client, token, method, _fill(template, world.borealis), body, world.borealis)
    if body == "bulk":
        # The bulk form answers with a redirect either way; nothing of the other brand changed.
        assert refused.status_code == 302
    else:
        assert refused.status_code == 404, (endpoint, refused.status_code)
        assert BOREALIS not in refused.get_data(as_text=True)
    assert _status(seeded, world.borealis.detection) == DetectionStatus.NEW

    served = _request(client, token, method, _fill(template, world.acme), body, world.acme)
    assert served.status_code in {200, 302}, (endpoint, served.status_code)
    if method == "POST":
        assert _status(seeded, world.acme.detection) == DetectionStatus.CONFIRMED


def _no_borealis(text: str, world: World) -> None:
    # Seller names repeat across marketplaces here, so sellers are checked by id (data-id) above.
    assert BOREALIS not in text


def test_list_pages_show_only_the_granted_brand(client, world: World) -> None:
    login(client, ACME_REVIEWER)
    queue = client.get("/queue?status=all").get_data(as_text=True)
    assert f'data-id="{world.acme.detection}"' in queue
    for detection_id in world.borealis_detections:
        assert f'data-id="{detection_id}"' not in queue
    _no_borealis(queue, world)
    assert client.get(f"/queue?brand={2}").status_code == 200
    assert "queue-row" not in client.get("/queue?brand=2").get_data(as_text=True)

    sellers = client.get("/sellers").get_data(as_text=True)
    assert f'data-id="{world.acme.seller}"' in sellers and f'data-id="{world.borealis.seller}"' not in sellers
    networks = client.get("/networks").get_data(as_text=True)
    assert f'data-id="{world.acme.network}"' in networks
    assert f'data-id="{world.borealis.network}"' not in networks

    reports = client.get("/reports").get_data(as_text=True)
    assert ACME in reports
    _no_borealis(reports, world)


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_export_holds_only_the_granted_brand(client, world: World, name: str) -> None:
    login(client, ACME_REVIEWER)
    response = client.get(f"/reports/{name}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    for row in rows:
        if "brand_id" in row:
            assert row["brand_id"] == "1", (name, row)
        assert row.get("brand", ACME) in {ACME, ""}, (name, row)
        assert row.get("seller") not in world.borealis_sellers or row.get("marketplace") != "shopB"


def test_an_admin_sees_both_brands(client, seeded: Seeded, world: World) -> None:
    login(client, seeded.admin_email)
    for ids in (world.acme, world.borealis):
        assert client.get(f"/detections/{ids.detection}").status_code == 200
        assert client.get(f"/networks/{ids.network}").status_code == 200
        assert client.get(f"/media/original/{ids.original}").status_code == 200
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/brand_summary.csv").get_data(as_text=True))))
    assert {r["brand"] for r in rows} == {ACME, BOREALIS}


def test_a_reviewer_without_grants_sees_nothing(client, seeded: Seeded, world: World) -> None:
    from db.models import Role
    from review.auth import create_user
    from tests.review.conftest import PASSWORD

    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s, s.begin():
        create_user(s, "nobody@example.com", PASSWORD, Role.REVIEWER)
    engine.dispose()
    login(client, "nobody@example.com")
    assert "queue-row" not in client.get("/queue?status=all").get_data(as_text=True)
    for ids in (world.acme, world.borealis):
        assert client.get(f"/detections/{ids.detection}").status_code == 404
        assert client.get(f"/media/listing-image/{ids.listing_image}").status_code == 404
        assert client.get(f"/sellers/{ids.seller}").status_code == 404


def test_search_shows_only_the_granted_brands_originals(client, seeded: Seeded, world: World) -> None:
    token = login(client, ACME_REVIEWER)
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s:
        brand_of = {o.id: o.brand.name for o in s.query(Original).all()}
    engine.dispose()
    borealis_original = next(i for i, b in brand_of.items() if b == BOREALIS)
    ok, data = cv2.imencode(".jpg", listing_copy(seeded.originals[borealis_original]))
    assert ok
    response = client.post(
        "/api/search",
        data={"image": (io.BytesIO(data.tobytes()), "q.jpg")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert results, "the reviewer still searches their own brand's originals"
    assert {brand_of[int(r["original_id"])] for r in results} == {ACME}
    assert all(r["brand"] == ACME for r in results)
