"""A notice's life verified by the crawler: a real Scrapy re-crawl of a served shop, the re-check on
a real evidence worker (PostgreSQL, Redis, Debian chromium), one noticed listing removed, one not."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from crawler.run import crawl
from db.models import (
    Evidence,
    EvidenceKind,
    EvidencePurpose,
    EvidenceStatus,
    Marketplace,
    Notice,
    NoticeItem,
    NoticeItemStatus,
    NoticeStatus,
)
from db.notices import notice_events
from db.reporting import run_report
from takedown.lifecycle import draft_notices, send_notice
from takedown.store import sha256_file
from tests.takedown.conftest import EvidenceShop, TakedownWorld
from tests.workers.conftest import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait(check: Callable[[], bool], what: str, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not seen in {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


def _items(world: TakedownWorld) -> dict[str, NoticeItem]:
    with world.sessions() as session:
        items = session.execute(select(NoticeItem)).scalars().all()
        session.expunge_all()
    return {i.listing_url.rsplit("/", 1)[1]: i for i in items}


def test_a_recrawl_marks_the_removed_listing_removed_and_leaves_the_other(
    evidence_worker: tuple[TakedownWorld, WorkerProcess], shop: EvidenceShop
) -> None:
    world, worker = evidence_worker
    world.add_hit(shop, "keep", original=0)
    world.add_hit(shop, "gone", original=1)
    shop.pages["/"] = (
        200,
        "text/html",
        b"<html><body><a href='/p/keep'>keep</a> <a href='/p/gone'>gone</a></body></html>",
    )
    with world.sessions() as session, session.begin():
        session.get(Marketplace, world.marketplace_id).start_urls = [shop.url("/")]
        [notice_id] = draft_notices(session, actor="reviewer@acme.example")
        send_notice(world.settings, session, notice_id, actor="reviewer@acme.example", via_smtp=False)
    with world.sessions() as session:
        sent_at = session.get(Notice, notice_id).sent_at

    shop.remove("/p/gone")  # the marketplace takes one listing down
    summary = crawl(world.settings, "served shop")
    assert summary.status == "finished", summary.error
    assert summary.listings == 1  # the crawler found the listing still up
    _wait(
        lambda: all(i.checked_at is not None for i in _items(world).values()), "the re-check", worker.log_path
    )

    items = _items(world)
    assert items["keep"].status == NoticeItemStatus.PENDING and items["keep"].check_error is None
    gone = items["gone"]
    assert gone.status == NoticeItemStatus.REMOVED and gone.removal_reason == "the listing page answered 404"
    assert gone.removed_at >= sent_at
    with world.sessions() as session:
        evidence = session.get(Evidence, gone.absence_evidence_id)
        assert evidence.purpose == EvidencePurpose.RECHECK and evidence.status == EvidenceStatus.GONE
        assert evidence.http_status == 404 and evidence.sha256 == sha256_file(
            world.settings.media_root / evidence.path
        )
        with (world.settings.media_root / evidence.path).open("rb") as handle:
            responses = [
                (r.rec_headers.get_header("WARC-Target-URI"), r.http_headers.get_statuscode())
                for r in ArchiveIterator(handle)
                if r.rec_type == "response"
            ]
        assert responses == [(shop.url("/p/gone"), "404")]
        assert session.get(Notice, notice_id).status == NoticeStatus.SENT  # one listing is still up
        rows = run_report(session, "time_to_takedown")
        assert [(r["seller"], r["listings_noticed"], r["listings_removed"]) for r in rows] == [
            ("copycat", 2, 1)
        ]
        assert rows[0]["avg_hours_to_takedown"] >= 0

    # The same crawl's evidence sweep captured the listing still up (WARC and screenshot) on the worker.
    def keep_captured() -> bool:
        with world.sessions() as session:
            rows = session.execute(
                select(Evidence.kind, Evidence.status).where(
                    Evidence.listing_id == world.listings["keep"],
                    Evidence.purpose == EvidencePurpose.DETECTION,
                )
            ).all()
        return set(rows) == {
            (EvidenceKind.WARC, EvidenceStatus.CAPTURED),
            (EvidenceKind.SCREENSHOT, EvidenceStatus.CAPTURED),
        }

    _wait(keep_captured, "the detection-time evidence", worker.log_path)

    # Next, the seller keeps the page but the copied image is taken down: removed too, notice resolved.
    shop.remove("/img/keep.jpg")
    assert crawl(world.settings, "served shop").status in {"finished", "failed"}
    _wait(
        lambda: _items(world)["keep"].status == NoticeItemStatus.REMOVED,
        "the second removal",
        worker.log_path,
    )
    assert _items(world)["keep"].removal_reason == "the copied image answered 404"
    with world.sessions() as session:
        notice = session.get(Notice, notice_id)
        assert notice.status == NoticeStatus.REMOVED and notice.resolved_at is not None
        events = [(e.to_status, e.actor) for e in notice_events(session, notice_id)]
    assert events == [
        ("draft", "reviewer@acme.example"),
        ("sent", "reviewer@acme.example"),
        ("removed", "crawler"),
    ]
