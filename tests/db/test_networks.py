"""Seller networks on PostgreSQL and SQLite: links with their reasons, transitive closure, the
stolen-image links, idempotent recomputation, risk scores and the seller reporting views."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.catalog import add_original, upsert_brand
from db.detections import review_detection
from db.engine import make_engine, session_factory
from db.listings import upsert_listing, upsert_listing_image
from db.marketplaces import upsert_marketplace
from db.models import DetectionStatus, Seller, SellerLink
from db.networks import box_iou, recompute_networks, refresh_sellers
from db.reporting import run_report
from db.risk import recompute_risk, risk_score
from db.sellers import add_contacts, link_listing_to_seller, seller_identity, upsert_seller
from tests.support.detections import upsert_detection


@pytest.fixture(params=["postgresql", "sqlite"])
def session(request: pytest.FixtureRequest, fresh_pg_url: str, sqlite_url: str) -> Iterator[Session]:
    engine = make_engine(fresh_pg_url if request.param == "postgresql" else sqlite_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def _seller(s: Session, marketplace: int, name: str, *contacts: tuple[str, str]) -> int:
    seller_id = upsert_seller(s, marketplace, name=name)
    assert seller_id is not None
    add_contacts(s, seller_id, [{"kind": k, "value": v} for k, v in contacts], None)
    return seller_id


def _links(s: Session) -> set[tuple[int, int, str, str]]:
    return {(x.seller_a, x.seller_b, x.reason, x.key) for x in s.execute(select(SellerLink)).scalars()}


def _network(s: Session, seller_id: int) -> int | None:
    s.expire_all()
    return s.get(Seller, seller_id).network_id


def test_shared_contacts_link_sellers_transitively_across_marketplaces(session: Session) -> None:
    s = session
    m1, m2 = (
        upsert_marketplace(s, "m1", ["http://m1.invalid/"]),
        upsert_marketplace(s, "m2", ["http://m2.invalid/"]),
    )
    a = _seller(s, m1, "A", ("phone", "+442079460321"))
    b = _seller(s, m1, "B", ("phone", "+442079460321"), ("email", "ops@copies.example"))
    c = _seller(s, m2, "C", ("email", "ops@copies.example"))
    d = _seller(s, m2, "D", ("handle", "telegram:d"))
    summary = recompute_networks(s)
    assert _links(s) == {
        (a, b, "shared_phone", "+442079460321"),
        (b, c, "shared_email", "ops@copies.example"),
    }
    assert _network(s, a) == _network(s, b) == _network(s, c) == a
    assert _network(s, d) == d
    assert summary.networks == 1 and summary.sellers_in_networks == 3 and summary.links_added == 2
    # Nothing new: a second run changes nothing.
    again = recompute_networks(s)
    assert (again.links_added, again.links_removed) == (0, 0)
    # Evidence gone, link gone: the network splits.
    s.execute(SellerLink.__table__.delete())
    from db.models import SellerContact

    s.execute(SellerContact.__table__.delete().where(SellerContact.seller_id == c))
    recompute_networks(s)
    assert _links(s) == {(a, b, "shared_phone", "+442079460321")}
    assert _network(s, c) == c and _network(s, b) == a


def test_a_key_shown_by_too_many_sellers_links_nobody(session: Session) -> None:
    s = session
    m = upsert_marketplace(s, "m", ["http://m.invalid/"])
    ids = [_seller(s, m, f"S{i}", ("email", "support@market-help.example")) for i in range(6)]
    summary = recompute_networks(s, max_sellers_per_key=5)
    assert _links(s) == set() and all(_network(s, i) == i for i in ids)
    assert summary.skipped_keys == ["email:support@market-help.example (6 sellers)"]


def _hit(
    s: Session,
    marketplace: int,
    seller: str,
    n: int,
    original: int,
    *,
    sha: str,
    region_q,
    region_o,
    status: DetectionStatus = DetectionStatus.NEW,
    size: int = 600,
) -> int:
    listing = upsert_listing(
        s, marketplace_id=marketplace, url=f"http://m.invalid/{seller}/{n}", seller=seller
    )
    link_listing_to_seller(s, marketplace, listing, None, seller)
    image, _ = upsert_listing_image(
        s,
        listing_id=listing,
        url=f"http://m.invalid/i/{n}",
        sha256=sha,
        path="x.jpg",
        width=size,
        height=size,
    )
    detection, _ = upsert_detection(
        s,
        listing_image_id=image,
        original_id=original,
        score=0.9,
        region_query=region_q,
        region_original=region_o,
    )
    if status != DetectionStatus.NEW:
        review_detection(s, detection, status, reviewer_id=None)
    return detection


def _box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_same_stolen_image_and_same_copy_links(session: Session) -> None:
    s = session
    m = upsert_marketplace(s, "m", ["http://m.invalid/"])
    brand = upsert_brand(s, "B")
    o1, _ = add_original(s, brand, image_path="o1.png", sha256="1" * 64)
    o2, _ = add_original(s, brand, image_path="o2.png", sha256="2" * 64, width=640, height=640)
    o3, _ = add_original(s, brand, image_path="o3.png", sha256="3" * 64, width=640, height=640)
    full_q, full_o = _box(0, 0, 600, 600), _box(0, 0, 640, 640)
    # The same bytes served by two sellers: linked while the hit is not dismissed.
    _hit(s, m, "same1", 1, o1, sha="a" * 64, region_q=full_q, region_o=full_o)
    _hit(s, m, "same2", 2, o1, sha="a" * 64, region_q=full_q, region_o=full_o)
    # The same crop of o2, resized (other bytes, other size), both confirmed: linked.
    _hit(
        s,
        m,
        "crop1",
        3,
        o2,
        sha="b" * 64,
        region_q=full_q,
        region_o=_box(0, 0, 640, 320),
        status=DetectionStatus.CONFIRMED,
    )
    _hit(
        s,
        m,
        "crop2",
        4,
        o2,
        sha="c" * 64,
        region_q=_box(0, 0, 300, 300),
        region_o=_box(5, 0, 640, 322),
        status=DetectionStatus.CONFIRMED,
        size=300,
    )
    # Another part of o2 (the bottom half), confirmed: no link; the same crop unconfirmed: no link.
    _hit(
        s,
        m,
        "other",
        5,
        o2,
        sha="d" * 64,
        region_q=full_q,
        region_o=_box(0, 320, 640, 640),
        status=DetectionStatus.CONFIRMED,
    )
    _hit(s, m, "pending", 6, o2, sha="e" * 64, region_q=full_q, region_o=_box(0, 0, 640, 320))
    # Two unrelated sellers each copying all of o3 (other bytes), both confirmed: no link, since
    # every copyist takes the whole photo.
    for n, seller in ((7, "whole1"), (8, "whole2")):
        _hit(
            s,
            m,
            seller,
            n,
            o3,
            sha=str(n) * 64,
            region_q=full_q,
            region_o=_box(2, 0, 640, 638),
            status=DetectionStatus.CONFIRMED,
        )
    recompute_networks(s)
    ids = {x.name: x.id for x in s.execute(select(Seller)).scalars()}
    pair = lambda x, y: tuple(sorted((ids[x], ids[y])))  # noqa: E731
    assert _links(s) == {
        (*pair("same1", "same2"), "same_image", "a" * 64),
        (*pair("crop1", "crop2"), "same_copy", f"original:{o2}"),
    }
    # Dismissing one copy of the shared image removes that link.
    from db.models import Detection

    shared = s.execute(select(Detection).where(Detection.listing_image_id == 2)).scalar_one()
    review_detection(s, shared.id, DetectionStatus.DISMISSED, reviewer_id=None)
    recompute_networks(s)
    assert {x[2] for x in _links(s)} == {"same_copy"}


def test_box_iou() -> None:
    assert box_iou((0, 0, 1, 1), (0, 0, 1, 1)) == 1.0
    assert box_iou((0, 0, 1, 1), (1, 1, 2, 2)) == 0.0
    assert round(box_iou((0, 0, 2, 1), (0, 0, 1, 1)), 3) == 0.5


def test_seller_identity_prefers_the_marketplace_id_then_the_name() -> None:
    assert seller_identity("S-42", "Shop", "http://m/s") == "id:S-42"
    assert seller_identity(None, "  Copy   Shop ", "http://m/s") == "name:copy shop"
    assert seller_identity(None, None, "http://m/s") == "url:http://m/s"
    assert seller_identity(None, " ", None) is None


def test_risk_score_grows_with_confirmations_listings_recency_and_network() -> None:
    assert risk_score(0, 0, 0, None, 1) == 0.0
    fresh, old = risk_score(1, 1, 1, 0, 1), risk_score(1, 1, 1, 120, 1)
    assert 0 < old < fresh < risk_score(2, 2, 1, 0, 1) < risk_score(2, 4, 3, 0, 3) <= 100


def test_risk_scores_and_reporting_views(session: Session) -> None:
    s = session
    m = upsert_marketplace(s, "m", ["http://m.invalid/"])
    brand = upsert_brand(s, "B")
    other_brand = upsert_brand(s, "Other")
    o1, _ = add_original(s, brand, image_path="o1.png", sha256="1" * 64)
    o3, _ = add_original(s, other_brand, image_path="o3.png", sha256="3" * 64)
    box = _box(0, 0, 600, 600)
    for n in range(3):  # a repeat offender: three confirmed listings
        _hit(
            s,
            m,
            "repeat",
            n,
            o1,
            sha=f"{n:064x}",
            region_q=box,
            region_o=box,
            status=DetectionStatus.CONFIRMED,
        )
    _hit(s, m, "once", 10, o1, sha="f" * 64, region_q=box, region_o=box)
    _hit(s, m, "rival", 11, o3, sha="9" * 64, region_q=box, region_o=box, status=DetectionStatus.CONFIRMED)
    ids = {x.name: x.id for x in s.execute(select(Seller)).scalars()}
    add_contacts(s, ids["repeat"], [{"kind": "phone", "value": "+442079460321"}], None)
    add_contacts(s, ids["once"], [{"kind": "phone", "value": "+442079460321"}], None)
    refresh_sellers(s)
    s.commit()
    risks = {x.name: x.risk_score for x in s.execute(select(Seller)).scalars()}
    assert risks["repeat"] > risks["rival"] > 0 and risks["repeat"] > risks["once"] > 0

    offenders = run_report(s, "repeat_offenders")
    assert [(r["seller"], int(r["confirmed_hits"]), int(r["listings_hit"])) for r in offenders] == [
        ("repeat", 3, 3)
    ]
    networks = run_report(s, "networks")
    assert len(networks) == 1 and int(networks[0]["members"]) == 2
    assert int(networks[0]["confirmed_hits"]) == 3 and int(networks[0]["hits"]) == 4
    assert "shared_phone: +442079460321" in networks[0]["shared_keys"]
    assert {x.strip() for x in networks[0]["member_names"].split(",")} == {"once", "repeat"}
    hits = run_report(s, "seller_hits")
    assert [r["seller"] for r in hits][0] == "repeat"
    top = run_report(s, "top_sellers")
    assert [(r["seller"], int(r["confirmed_hits"])) for r in top][:2] == [("repeat", 3), ("rival", 1)]
    # A reviewer of brand B sees none of the other brand's rows.
    for name in (
        "top_sellers",
        "seller_hits",
        "networks",
        "repeat_offenders",
        "detections_per_day",
        "brand_summary",
    ):
        assert all(r["brand_id"] == brand for r in run_report(s, name, brand_ids=[brand])), name
    assert run_report(s, "seller_hits", brand_ids=[]) == []
    # ``since`` applies to the hits' dates.
    assert run_report(s, "networks", since=datetime.now(UTC) + timedelta(days=2)) == []
    assert recompute_risk(s) == 0  # unchanged evidence, unchanged scores


def test_a_profile_url_that_is_no_web_address_is_not_kept(session: Session) -> None:
    m = upsert_marketplace(session, "m", ["http://m.invalid/"])
    seller_id = upsert_seller(session, m, name="X", profile_url="javascript:alert(1)")
    assert seller_id is not None and session.get(Seller, seller_id).profile_url is None
    assert upsert_seller(session, m, profile_url="data:text/html,hi") is None
