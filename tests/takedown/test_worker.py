"""The evidence task on a real Celery worker: retried on a transient failure; and queueing a capture
never breaks or holds up scoring."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from copywatch.settings import Settings
from db.evidence import pending_captures
from db.models import Evidence, EvidenceKind, EvidenceStatus
from tests.takedown.conftest import EvidenceShop, TakedownWorld
from tests.workers.conftest import WorkerProcess
from workers.evidence_enqueue import enqueue_captures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_transient_failure_is_retried_by_the_worker(
    evidence_worker: tuple[TakedownWorld, WorkerProcess], shop: EvidenceShop
) -> None:
    world, worker = evidence_worker
    detection_id = world.add_hit(shop, "busy-1")
    page = shop.pages["/p/busy-1"]
    shop.pages["/p/busy-1"] = (503, "text/html", b"busy")

    def recover() -> None:  # the second request finds the server well again
        shop.pages["/p/busy-1"] = page

    shop.on_request["/p/busy-1"] = lambda: shop.on_request.update({"/p/busy-1": recover})
    assert enqueue_captures(world.settings, [detection_id]) == 1

    def rows() -> dict[EvidenceKind, Evidence]:
        with world.sessions() as session:
            found = session.execute(
                select(Evidence).where(Evidence.listing_id == world.listings["busy-1"])
            ).scalars()
            return {row.kind: row for row in found}

    deadline = time.monotonic() + 90
    while True:
        found = rows()
        if len(found) == 2 and {r.status for r in found.values()} == {EvidenceStatus.CAPTURED}:
            break
        assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
        time.sleep(0.5)
    warc = found[EvidenceKind.WARC]
    assert warc.attempts == 2 and warc.http_status == 200 and warc.error is None
    assert shop.requests.count("/p/busy-1") == 3  # 503, then the WARC fetch and the browser's visit
    assert "Retry in" in worker.log_path.read_text()


def test_queueing_a_capture_with_no_broker_loses_nothing_and_raises_nothing(
    tworld: TakedownWorld, shop: EvidenceShop
) -> None:
    detection_id = tworld.add_hit(shop, "nobroker-1")
    dead: Settings = tworld.settings.with_overrides(redis_url="redis://127.0.0.1:1/0")
    started = time.monotonic()
    assert enqueue_captures(dead, [detection_id]) == 0  # logged, not raised: scoring goes on
    assert time.monotonic() - started < 30
    with tworld.sessions() as session:  # the sweep will find it
        assert pending_captures(session, min_score=0.5, max_attempts=3) == [
            (tworld.listings["nobroker-1"], detection_id)
        ]
