"""Every constraint that keeps data clean rejects a bad row, on PostgreSQL and on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from db.catalog import add_original, upsert_brand
from db.engine import make_engine, session_factory
from db.listings import upsert_listing
from db.marketplaces import upsert_marketplace
from db.models import Detection, Listing, ListingImage


@pytest.fixture(params=["postgresql", "sqlite"])
def session(request: pytest.FixtureRequest, pg_url: str, sqlite_url: str) -> Iterator[Session]:
    engine = make_engine(pg_url if request.param == "postgresql" else sqlite_url)
    with session_factory(engine)() as s:
        s.begin()
        yield s
        s.rollback()
    engine.dispose()


@pytest.fixture
def seeded(session: Session) -> dict[str, int]:
    brand = upsert_brand(session, "Acme")
    original, _ = add_original(session, brand, image_path="o.jpg", sha256="a" * 64)
    market = upsert_marketplace(session, "Shop", ["http://127.0.0.1/"])
    listing = upsert_listing(session, marketplace_id=market, url="http://127.0.0.1/p/1")
    session.execute(
        text(
            "INSERT INTO listing_images (listing_id, url, sha256, status, attempts) "
            "VALUES (:l, 'http://127.0.0.1/i/1.jpg', :h, 'queued', 0)"
        ),
        {"l": listing, "h": "b" * 64},
    )
    image = session.execute(text("SELECT id FROM listing_images")).scalar_one()
    return {"brand": brand, "original": original, "market": market, "listing": listing, "image": image}


def _rejects(session: Session, sql: str, params: dict[str, object]) -> None:
    with pytest.raises((IntegrityError, StatementError)), session.begin_nested():
        session.execute(text(sql), params)


def test_listing_url_is_unique(session: Session, seeded: dict[str, int]) -> None:
    _rejects(
        session,
        "INSERT INTO listings (marketplace_id, url) VALUES (:m, 'http://127.0.0.1/p/1')",
        {"m": seeded["market"]},
    )


def test_listing_price_cannot_be_negative(session: Session, seeded: dict[str, int]) -> None:
    _rejects(
        session,
        "INSERT INTO listings (marketplace_id, url, price) VALUES (:m, 'http://x/neg', -1)",
        {"m": seeded["market"]},
    )


def test_listing_needs_an_existing_marketplace(session: Session, seeded: dict[str, int]) -> None:
    _rejects(session, "INSERT INTO listings (marketplace_id, url) VALUES (999999, 'http://x/orphan')", {})


def test_image_hash_is_unique_per_listing(session: Session, seeded: dict[str, int]) -> None:
    _rejects(
        session,
        "INSERT INTO listing_images (listing_id, url, sha256, status, attempts) "
        "VALUES (:l, 'http://127.0.0.1/other-url.jpg', :h, 'queued', 0)",
        {"l": seeded["listing"], "h": "b" * 64},
    )


def test_image_status_must_be_known(session: Session, seeded: dict[str, int]) -> None:
    _rejects(
        session,
        "INSERT INTO listing_images (listing_id, url, sha256, status, attempts) "
        "VALUES (:l, 'http://x/2.jpg', :h, 'lost', 0)",
        {"l": seeded["listing"], "h": "c" * 64},
    )


def test_stored_image_must_have_a_hash(session: Session, seeded: dict[str, int]) -> None:
    _rejects(
        session,
        "INSERT INTO listing_images (listing_id, url, status, attempts) VALUES (:l, 'http://x/3.jpg', 'queued', 0)",
        {"l": seeded["listing"]},
    )


def test_attempts_cannot_be_negative(session: Session, seeded: dict[str, int]) -> None:
    _rejects(
        session,
        "INSERT INTO listing_images (listing_id, url, sha256, status, attempts) "
        "VALUES (:l, 'http://x/4.jpg', :h, 'queued', -1)",
        {"l": seeded["listing"], "h": "d" * 64},
    )


def test_original_hash_is_unique_per_brand(session: Session, seeded: dict[str, int]) -> None:
    _rejects(
        session,
        "INSERT INTO originals (brand_id, image_path, sha256) VALUES (:b, 'dup.jpg', :h)",
        {"b": seeded["brand"], "h": "a" * 64},
    )


def _detection_sql(**overrides: object) -> tuple[str, dict[str, object]]:
    values: dict[str, object] = {
        "kind": "stolen_image",
        "score": 0.9,
        "status": "new",
        "reviewed_at": None,
    }
    values.update(overrides)
    sql = (
        "INSERT INTO detections (listing_image_id, original_id, kind, score, components, status, reviewed_at) "
        "VALUES (:image, :original, :kind, :score, '{}', :status, :reviewed_at)"
    )
    return sql, values


def test_detection_is_unique_per_image_and_original(session: Session, seeded: dict[str, int]) -> None:
    sql, values = _detection_sql(image=seeded["image"], original=seeded["original"])
    session.execute(text(sql), values)
    _rejects(session, sql, values)


def test_logo_only_detection_is_unique_per_image(session: Session, seeded: dict[str, int]) -> None:
    sql, values = _detection_sql(image=seeded["image"], original=None, kind="counterfeit_logo")
    session.execute(text(sql), values)
    _rejects(session, sql, values)


@pytest.mark.parametrize(
    "overrides",
    [
        {"score": 1.5},
        {"score": -0.1},
        {"status": "maybe"},
        {"kind": "other"},
        {"status": "confirmed", "reviewed_at": None},
    ],
    ids=["score-above-1", "score-below-0", "unknown-status", "unknown-kind", "confirmed-without-review-time"],
)
def test_detection_rejects_bad_values(
    session: Session, seeded: dict[str, int], overrides: dict[str, object]
) -> None:
    sql, values = _detection_sql(image=seeded["image"], original=seeded["original"], **overrides)
    _rejects(session, sql, values)


def test_deleting_a_listing_cascades_to_images_and_detections(
    session: Session, seeded: dict[str, int]
) -> None:
    sql, values = _detection_sql(image=seeded["image"], original=seeded["original"])
    session.execute(text(sql), values)
    session.execute(text("DELETE FROM listings WHERE id = :l"), {"l": seeded["listing"]})
    assert session.query(ListingImage).count() == 0
    assert session.query(Detection).count() == 0
    assert session.query(Listing).count() == 0


def test_deleting_a_reviewer_keeps_the_review(session: Session, seeded: dict[str, int]) -> None:
    session.execute(text("INSERT INTO users (email, password_hash, role) VALUES ('r@x', 'h', 'reviewer')"))
    user = session.execute(text("SELECT id FROM users")).scalar_one()
    sql, values = _detection_sql(image=seeded["image"], original=seeded["original"], status="confirmed")
    values["reviewed_at"] = "2026-01-01 00:00:00"
    session.execute(text(sql), values)
    session.execute(text("UPDATE detections SET reviewer_id = :u"), {"u": user})
    session.execute(text("DELETE FROM users WHERE id = :u"), {"u": user})
    row = session.execute(text("SELECT status, reviewer_id FROM detections")).one()
    assert row == ("confirmed", None)


def test_role_must_be_known(session: Session, seeded: dict[str, int]) -> None:
    _rejects(session, "INSERT INTO users (email, password_hash, role) VALUES ('x@y', 'h', 'root')", {})
