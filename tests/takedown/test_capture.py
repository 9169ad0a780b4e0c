"""Evidence capture on real parts: a served shop, Debian chromium through Playwright, warcio."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from db.evidence import pending_captures
from db.models import Evidence, EvidenceKind, EvidenceStatus, Marketplace
from takedown import tool_version
from takedown.capture import capture_listing, capture_pending
from takedown.screenshot import Screenshotter
from takedown.store import sha256_file
from tests.takedown.conftest import EvidenceShop, TakedownWorld

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(chromium_path: str, tworld: TakedownWorld) -> Iterator[Screenshotter]:
    with Screenshotter(chromium_path, user_agent=tworld.settings.crawl_user_agent) as shots:
        yield shots


def _rows(world: TakedownWorld, slug: str) -> dict[str, Evidence]:
    with world.sessions() as session:
        rows = session.execute(select(Evidence).where(Evidence.listing_id == world.listings[slug])).scalars()
        return {row.kind.value: row for row in rows}


def test_chromium_screenshots_the_served_page_and_the_warc_reads_back(
    tworld: TakedownWorld, shop: EvidenceShop, browser: Screenshotter
) -> None:
    detection_id = tworld.add_hit(shop, "mug-1")
    before = datetime.now(UTC)
    outcome = capture_listing(
        tworld.settings,
        tworld.sessions,
        tworld.listings["mug-1"],
        detection_id=detection_id,
        screenshotter=browser,
    )
    assert outcome.status == "captured", outcome
    rows = _rows(tworld, "mug-1")
    assert set(rows) == {"warc", "screenshot"}
    media = tworld.settings.media_root
    for row in rows.values():
        assert row.status == EvidenceStatus.CAPTURED
        assert row.detection_id == detection_id
        assert row.sha256 == sha256_file(media / row.path)  # stored by content hash, hash recomputed
        assert row.path.endswith(row.sha256 + (".warc.gz" if row.kind == EvidenceKind.WARC else ".png"))
        assert row.user_agent == tworld.settings.crawl_user_agent
        assert row.tool_version == tool_version()
        captured = row.captured_at if row.captured_at.tzinfo else row.captured_at.replace(tzinfo=UTC)
        assert before.timestamp() - 1 <= captured.timestamp() <= datetime.now(UTC).timestamp()
    assert rows["warc"].http_status == 200

    listing_url = shop.url("/p/mug-1")
    with (media / rows["warc"].path).open("rb") as handle:
        records = [
            (
                r.rec_type,
                r.rec_headers.get_header("WARC-Target-URI"),
                r.http_headers,
                r.content_stream().read(),
            )
            for r in ArchiveIterator(handle)
        ]
    kinds = [r[0] for r in records]
    assert kinds == ["warcinfo", "response", "request"]
    response = next(r for r in records if r[0] == "response")
    request = next(r for r in records if r[0] == "request")
    assert response[1] == listing_url and request[1] == listing_url
    assert response[2].get_statuscode() == "200"
    assert response[3] == shop.pages["/p/mug-1"][2]  # the served bytes, not a re-rendering
    assert (request[2].protocol, request[2].statusline) == ("GET", "/p/mug-1 HTTP/1.1")
    assert request[2].get_header("User-Agent") == tworld.settings.crawl_user_agent

    screenshot = Image.open(io.BytesIO((media / rows["screenshot"].path).read_bytes()))
    assert screenshot.format == "PNG" and screenshot.width == 1280
    # The browser asked for the page and its image itself.
    assert shop.requests.count("/p/mug-1") == 2 and "/img/mug-1.jpg" in shop.requests

    again = capture_listing(tworld.settings, tworld.sessions, tworld.listings["mug-1"], screenshotter=browser)
    assert again.status == "skipped"  # once per listing and crawl
    assert shop.requests.count("/p/mug-1") == 2


def test_a_listing_already_gone_is_recorded_as_gone(
    tworld: TakedownWorld, shop: EvidenceShop, browser: Screenshotter
) -> None:
    tworld.add_hit(shop, "gone-1")
    shop.remove("/p/gone-1")
    outcome = capture_listing(
        tworld.settings, tworld.sessions, tworld.listings["gone-1"], screenshotter=browser
    )
    assert outcome.status == "gone" and not outcome.retry
    rows = _rows(tworld, "gone-1")
    assert set(rows) == {"warc"}
    assert rows["warc"].status == EvidenceStatus.GONE and rows["warc"].http_status == 404
    with (tworld.settings.media_root / rows["warc"].path).open("rb") as handle:
        statuses = [
            r.http_headers.get_statuscode() for r in ArchiveIterator(handle) if r.rec_type == "response"
        ]
    assert statuses == ["404"]


def test_a_listing_that_times_out_is_recorded_and_retried(
    tworld: TakedownWorld, shop: EvidenceShop, browser: Screenshotter
) -> None:
    settings = tworld.settings.with_overrides(evidence_timeout_s=1.0)
    tworld.add_hit(shop, "slow-1")
    shop.slow.add("/p/slow-1")
    shop.slow_s = 3.0
    outcome = capture_listing(settings, tworld.sessions, tworld.listings["slow-1"], screenshotter=browser)
    assert outcome.status == "failed" and outcome.retry, outcome
    row = _rows(tworld, "slow-1")["warc"]
    assert row.status == EvidenceStatus.FAILED and "timed out" in row.error and row.attempts == 1
    with tworld.sessions() as session:  # nothing lost: the listing is still pending
        assert (tworld.listings["slow-1"], tworld.detections["slow-1"]) in pending_captures(
            session, min_score=settings.review_threshold, max_attempts=settings.evidence_max_attempts
        )
    shop.slow.clear()
    outcome = capture_listing(settings, tworld.sessions, tworld.listings["slow-1"], screenshotter=browser)
    assert outcome.status == "captured"
    row = _rows(tworld, "slow-1")["warc"]
    assert row.status == EvidenceStatus.CAPTURED and row.attempts == 2 and row.error is None


def test_a_50_mb_page_is_cut_at_the_cap_and_not_rendered(
    tworld: TakedownWorld, shop: EvidenceShop, browser: Screenshotter
) -> None:
    settings = tworld.settings.with_overrides(evidence_max_page_bytes=1024 * 1024, evidence_timeout_s=10.0)
    tworld.add_hit(shop, "huge-1")
    shop.huge.add("/p/huge-1")
    outcome = capture_listing(settings, tworld.sessions, tworld.listings["huge-1"], screenshotter=browser)
    assert outcome.status == "truncated" and not outcome.retry
    rows = _rows(tworld, "huge-1")
    assert rows["warc"].status == EvidenceStatus.TRUNCATED and "byte cap" in rows["warc"].error
    assert rows["screenshot"].status == EvidenceStatus.FAILED and "size cap" in rows["screenshot"].error
    with (tworld.settings.media_root / rows["warc"].path).open("rb") as handle:
        response = next(
            (r.rec_headers.get_header("WARC-Truncated"), len(r.content_stream().read()))
            for r in ArchiveIterator(handle)
            if r.rec_type == "response"
        )
    assert response == ("length", 1024 * 1024)
    # Not tried again by the sweep: a cut page is a result, not a failure to retry.
    with tworld.sessions() as session:
        assert pending_captures(session, min_score=0.0, max_attempts=settings.evidence_max_attempts) == []


def _kill_instance(instance_id: str) -> int:
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if f"--copywatch-instance={instance_id}".encode() in cmdline:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def test_a_browser_crash_is_recorded_and_the_retry_succeeds(
    tworld: TakedownWorld, shop: EvidenceShop, browser: Screenshotter
) -> None:
    tworld.add_hit(shop, "crash-1")
    calls = {"n": 0, "killed": 0}

    def crash_the_browser_on_its_request() -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the first request is the WARC fetch, the second the browser's
            calls["killed"] = _kill_instance(browser.instance_id)

    shop.on_request["/p/crash-1"] = crash_the_browser_on_its_request
    outcome = capture_listing(
        tworld.settings, tworld.sessions, tworld.listings["crash-1"], screenshotter=browser
    )
    assert calls["killed"] >= 1
    assert outcome.status == "failed" and outcome.retry, outcome
    rows = _rows(tworld, "crash-1")
    assert rows["warc"].status == EvidenceStatus.CAPTURED  # the WARC is kept
    assert rows["screenshot"].status == EvidenceStatus.FAILED and "crashed" in rows["screenshot"].error
    outcome = capture_listing(
        tworld.settings, tworld.sessions, tworld.listings["crash-1"], screenshotter=browser
    )
    assert outcome.status == "captured"  # a new browser was started
    assert _rows(tworld, "crash-1")["screenshot"].status == EvidenceStatus.CAPTURED
    assert shop.requests.count("/p/crash-1") == 3  # the WARC was not fetched twice


def test_a_private_address_is_refused_unless_the_marketplace_is_local(
    tworld: TakedownWorld, shop: EvidenceShop, browser: Screenshotter
) -> None:
    tworld.add_hit(shop, "private-1")
    with tworld.sessions() as session, session.begin():
        session.get(Marketplace, tworld.marketplace_id).settings = {}
    outcome = capture_listing(
        tworld.settings, tworld.sessions, tworld.listings["private-1"], screenshotter=browser
    )
    assert outcome.status == "failed" and not outcome.retry
    assert "non-public address" in outcome.error
    assert "/p/private-1" not in shop.requests
    rows = _rows(tworld, "private-1")
    assert {r.status for r in rows.values()} == {EvidenceStatus.FAILED}


def test_capture_pending_takes_every_flagged_listing_once(
    tworld: TakedownWorld, shop: EvidenceShop, browser: Screenshotter
) -> None:
    for i in range(3):
        tworld.add_hit(shop, f"item-{i}", confirm=False)
    tworld.add_hit(shop, "below-threshold", score=0.3, confirm=False)
    outcomes = capture_pending(tworld.settings, tworld.sessions, browser)
    assert sorted(o.status for o in outcomes) == ["captured"] * 3
    assert "/p/below-threshold" not in shop.requests
    assert capture_pending(tworld.settings, tworld.sessions, browser) == []
