"""The scoring queue: the claims the workers make, their leases, retries, and concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from db.engine import make_engine, session_factory
from db.listings import upsert_listing, upsert_listing_image
from db.marketplaces import upsert_marketplace
from db.models import ImageStatus, ListingImage
from db.scoring_queue import claim_images, record_scoring_failure, release_claims


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest, fresh_pg_url: str, sqlite_url: str) -> str:
    return fresh_pg_url if request.param == "postgresql" else sqlite_url


@pytest.fixture
def session(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def _images(session: Session, count: int) -> list[int]:
    market = upsert_marketplace(session, "Shop", ["http://127.0.0.1/"])
    listing = upsert_listing(session, marketplace_id=market, url="http://127.0.0.1/p/1", title="P1")
    return [
        upsert_listing_image(
            session,
            listing_id=listing,
            url=f"http://127.0.0.1/i/{n}.jpg",
            sha256=f"{n:064d}",
            path=f"{n}.jpg",
        )[0]
        for n in range(count)
    ]


def test_claim_moves_queued_to_scoring_once(session: Session) -> None:
    ids = _images(session, 3)
    session.commit()
    assert list(claim_images(session, ids[:2], max_attempts=5)) == ids[:2]
    session.commit()
    assert list(claim_images(session, ids, max_attempts=5)) == ids[2:]
    assert list(claim_images(session, ids, max_attempts=5)) == []
    session.commit()
    rows = [session.get(ListingImage, i) for i in ids]
    assert all(r is not None and (r.status, r.attempts) == (ImageStatus.SCORING, 1) for r in rows)


def test_released_claims_are_queued_again_with_the_attempt_counted(session: Session) -> None:
    ids = _images(session, 2)
    assert list(claim_images(session, ids, max_attempts=5)) == ids
    release_claims(session, ids)
    session.commit()
    assert list(claim_images(session, ids, max_attempts=5)) == ids
    session.commit()
    assert [session.get(ListingImage, i).attempts for i in ids] == [2, 2]  # type: ignore[union-attr]


def test_scoring_failure_retries_then_gives_up(session: Session) -> None:
    (image,) = _images(session, 1)
    session.commit()
    statuses = []
    for _ in range(3):
        assert list(claim_images(session, [image], max_attempts=3)) == [image]
        statuses.append(
            record_scoring_failure(session, image, "database timeout", permanent=False, max_attempts=3)
        )
        session.commit()
    assert statuses == [ImageStatus.QUEUED, ImageStatus.QUEUED, ImageStatus.FAILED]
    assert "gave up after 3 attempts" in (session.get(ListingImage, image).error or "")  # type: ignore[union-attr]


def test_permanent_scoring_failure_fails_at_once(session: Session) -> None:
    (image,) = _images(session, 1)
    claim_images(session, [image], max_attempts=5)
    status = record_scoring_failure(session, image, "not an image", permanent=True, max_attempts=5)
    session.commit()
    assert status == ImageStatus.FAILED
    assert session.get(ListingImage, image).error == "not an image"  # type: ignore[union-attr]


def test_a_claim_skips_rows_another_claimer_holds(fresh_pg_url: str) -> None:
    """While one worker's transaction holds a claimed row, a second claim of the same ids takes
    the others at once (SKIP LOCKED) instead of waiting for that transaction to end."""
    # Waiting for a row lock at all fails this test within a second instead of hanging it.
    engine = make_engine(fresh_pg_url, connect_args={"options": "-c lock_timeout=1000"})
    factory = session_factory(engine)
    with factory() as s, s.begin():
        held, free = _images(s, 2)
    try:
        with factory() as first, first.begin():
            assert list(claim_images(first, [held], max_attempts=5)) == [held]
            with factory() as second, second.begin():
                try:
                    got = list(claim_images(second, [held, free], max_attempts=5))
                except OperationalError as exc:
                    pytest.fail(f"the claim waited for another claimer's row lock: {exc}")
            assert got == [free]
    finally:
        engine.dispose()


def test_concurrent_claims_never_share_an_image(fresh_pg_url: str) -> None:
    engine = make_engine(fresh_pg_url, pool_size=8)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        ids = _images(s, 40)
    claimed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            for start in range(0, len(ids), 5):
                with factory() as s, s.begin():
                    got = list(claim_images(s, ids[start : start + 5], max_attempts=5))
                with lock:
                    claimed.extend(got)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    engine.dispose()
    assert errors == []
    assert sorted(claimed) == sorted(set(claimed)) and sorted(claimed) == sorted(ids)
