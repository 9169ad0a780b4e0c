"""Query modules: idempotent upserts, reviews that stick."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.catalog import add_original, upsert_brand
from db.detections import review_detection, write_detections
from db.engine import make_engine, session_factory
from db.listings import record_download_failure, upsert_listing, upsert_listing_image
from db.marketplaces import upsert_marketplace
from db.models import Detection, DetectionKind, DetectionStatus, ImageStatus, Listing, ListingImage, User
from db.review_queue import QueueFilters, review_queue
from db.scoring_queue import mark_scored
from tests.support.detections import upsert_detection


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest, fresh_pg_url: str, sqlite_url: str) -> str:
    return fresh_pg_url if request.param == "postgresql" else sqlite_url


@pytest.fixture
def session(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def _listing(session: Session, n: int = 1) -> int:
    market = upsert_marketplace(session, "Shop", ["http://127.0.0.1/"])
    return upsert_listing(session, marketplace_id=market, url=f"http://127.0.0.1/p/{n}", title=f"P{n}")


def _image(session: Session, listing: int, n: int) -> int:
    image_id, _ = upsert_listing_image(
        session, listing_id=listing, url=f"http://127.0.0.1/i/{n}.jpg", sha256=f"{n:064d}", path=f"{n}.jpg"
    )
    return image_id


def test_upsert_listing_refreshes_instead_of_duplicating(session: Session) -> None:
    first = _listing(session)
    market = session.execute(select(Listing.marketplace_id)).scalar_one()
    again = upsert_listing(session, marketplace_id=market, url="http://127.0.0.1/p/1", price=12.5, seller="S")
    session.commit()
    assert first == again
    row = session.execute(select(Listing)).scalar_one()
    assert (row.title, float(row.price), row.seller) == ("P1", 12.5, "S")
    assert row.last_seen >= row.first_seen


def test_upsert_listing_image_dedupes_by_hash_and_url(session: Session) -> None:
    listing = _listing(session)
    image, new = upsert_listing_image(
        session, listing_id=listing, url="http://a/1.jpg", sha256="f" * 64, path="p"
    )
    same_bytes_other_url = upsert_listing_image(
        session, listing_id=listing, url="http://a/copy.jpg", sha256="f" * 64, path="p"
    )
    session.commit()
    assert new is True
    assert same_bytes_other_url == (image, False)
    assert session.execute(select(func.count()).select_from(ListingImage)).scalar_one() == 1


def test_failed_download_is_recorded_and_revived_by_a_later_success(session: Session) -> None:
    listing = _listing(session)
    failed = record_download_failure(session, listing_id=listing, url="http://a/x.jpg", error="HTTP 404")
    again = record_download_failure(session, listing_id=listing, url="http://a/x.jpg", error="HTTP 500")
    session.commit()
    row = session.get(ListingImage, failed)
    assert again == failed
    assert (row.status, row.error, row.attempts) == (ImageStatus.FAILED, "HTTP 500", 2)

    revived, new = upsert_listing_image(
        session, listing_id=listing, url="http://a/x.jpg", sha256="e" * 64, path="x"
    )
    session.commit()
    session.refresh(row)
    assert (revived, new) == (failed, True)
    assert (row.status, row.error, row.attempts) == (ImageStatus.QUEUED, None, 0)


def test_upsert_detection_refreshes_evidence_but_keeps_the_review(session: Session) -> None:
    brand = upsert_brand(session, "Acme", ["brand@example.com"])
    original, created = add_original(session, brand, image_path="o.jpg", sha256="a" * 64)
    assert created and add_original(session, brand, image_path="o2.jpg", sha256="a" * 64) == (original, False)
    image = _image(session, _listing(session), 1)
    session.add(User(email="r@example.com", password_hash="x"))
    session.flush()
    reviewer = session.execute(select(User.id)).scalar_one()

    det, new = upsert_detection(session, listing_image_id=image, original_id=original, score=0.7)
    review_detection(session, det, DetectionStatus.CONFIRMED, reviewer_id=reviewer, note="same photo")
    again, new_again = upsert_detection(
        session, listing_image_id=image, original_id=original, score=0.9, components={"inliers": 40}
    )
    mark_scored(session, image)
    session.commit()

    row = session.get(Detection, det)
    assert (new, again, new_again) == (True, det, False)
    assert (row.status, row.score, row.components, row.note) == (
        DetectionStatus.CONFIRMED,
        0.9,
        {"inliers": 40},
        "same photo",
    )
    assert row.reviewer_id == reviewer and row.reviewed_at is not None
    with pytest.raises(ValueError, match="score must be in"):
        upsert_detection(session, listing_image_id=image, original_id=original, score=1.2)


def test_logo_only_detection_upserts_once(session: Session) -> None:
    image = _image(session, _listing(session), 1)
    a, _ = upsert_detection(
        session, listing_image_id=image, original_id=None, score=0.8, kind=DetectionKind.COUNTERFEIT_LOGO
    )
    b, created = upsert_detection(
        session, listing_image_id=image, original_id=None, score=0.85, kind=DetectionKind.COUNTERFEIT_LOGO
    )
    session.commit()
    assert (a, created) == (b, False)


def test_written_detections_refresh_evidence_keep_reviews_and_come_back_in_order(session: Session) -> None:
    brand = upsert_brand(session, "Acme")
    first, _ = add_original(session, brand, image_path="o1.jpg", sha256="a" * 64)
    second, _ = add_original(session, brand, image_path="o2.jpg", sha256="b" * 64)
    listing = _listing(session)
    one, two = _image(session, listing, 1), _image(session, listing, 2)
    reviewed, _ = upsert_detection(session, listing_image_id=one, original_id=second, score=0.6)
    review_detection(session, reviewed, DetectionStatus.DISMISSED, reviewer_id=None, note="a look-alike")

    rows = [
        {"listing_image_id": two, "original_id": None, "score": 0.9, "kind": DetectionKind.COUNTERFEIT_LOGO},
        {"listing_image_id": one, "original_id": second, "score": 0.95, "components": {"inliers": 50}},
        {"listing_image_id": one, "original_id": first, "score": 0.7},
    ]
    ids = write_detections(session, rows)
    again = write_detections(session, [{**rows[0], "score": 0.91}, rows[2]])
    session.commit()

    got = {d.id: d for d in session.scalars(select(Detection))}
    assert len(got) == 3 and len(set(ids)) == 3 and ids[1] == reviewed and again == [ids[0], ids[2]]
    assert [(got[i].listing_image_id, got[i].original_id) for i in ids] == [
        (two, None),
        (one, second),
        (one, first),
    ]
    assert (got[ids[0]].score, got[ids[0]].kind) == (0.91, DetectionKind.COUNTERFEIT_LOGO)
    assert (got[reviewed].status, got[reviewed].note, got[reviewed].score, got[reviewed].components) == (
        DetectionStatus.DISMISSED,
        "a look-alike",
        0.95,
        {"inliers": 50},
    )
    assert write_detections(session, []) == []
    with pytest.raises(ValueError, match="score must be in"):
        write_detections(session, [{**rows[2], "score": 1.5}])
    with pytest.raises(ValueError, match="twice"):
        write_detections(session, [rows[2], rows[2]])


def test_review_queue_filters_and_pages_by_score(session: Session) -> None:
    brand = upsert_brand(session, "Acme")
    original, _ = add_original(session, brand, image_path="o.jpg", sha256="a" * 64)
    listing = _listing(session)
    scores = [0.55, 0.95, 0.75, 0.85, 0.65]
    for n, score in enumerate(scores):
        upsert_detection(
            session, listing_image_id=_image(session, listing, n), original_id=original, score=score
        )
    session.commit()

    first = review_queue(session, QueueFilters(min_score=0.6), limit=2)
    rest = review_queue(session, QueueFilters(min_score=0.6), limit=10, after=(first[-1].score, first[-1].id))
    assert [d.score for d in first + rest] == [0.95, 0.85, 0.75, 0.65]
    assert review_queue(session, QueueFilters(brand_id=brand + 1)) == []
    assert len(review_queue(session, QueueFilters(status=DetectionStatus.CONFIRMED))) == 0


def test_concurrent_upserts_of_one_listing_make_one_row(fresh_pg_url: str) -> None:
    engine = make_engine(fresh_pg_url, pool_size=8)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        market = upsert_marketplace(s, "Shop", ["http://127.0.0.1/"])
    barrier = threading.Barrier(8)
    ids: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with factory() as s, s.begin():
                barrier.wait(timeout=10)
                ids.append(upsert_listing(s, marketplace_id=market, url="http://127.0.0.1/p/race"))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    with factory() as s:
        count = s.execute(select(func.count()).select_from(Listing)).scalar_one()
    engine.dispose()
    assert errors == []
    assert count == 1 and len(set(ids)) == 1 and len(ids) == 8
