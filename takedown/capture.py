"""Capture the evidence of one listing: the page's HTTP exchange as a WARC, then a screenshot.

Idempotent per (listing, crawl): what is stored already is not captured again. Every outcome is a
row: a stored file with its hash, a listing already gone (404/410, the WARC proves it), a body over
the cap (kept cut, marked truncated), or a failure with its reason and the number of tries.
``retry`` on the outcome tells the caller (the Celery task) that a transient failure is worth
another try.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from copywatch.settings import Settings
from db.evidence import ListingTarget, capture_key, evidence_rows, listing_target, record_evidence
from db.models import EvidenceKind, EvidencePurpose, EvidenceStatus
from takedown import tool_version
from takedown.fetch import TRANSIENT_CODES, FetchError, FetchResult, fetch_page
from takedown.netpolicy import FetchRefused, marketplace_is_local
from takedown.screenshot import ScreenshotError, Screenshotter
from takedown.store import store_evidence_file
from takedown.warc import warc_bytes

log = logging.getLogger(__name__)

Sessions = Callable[[], Session]


@dataclass
class CaptureOutcome:
    """What one capture call did. ``status``: captured, gone, truncated, failed, skipped, unknown."""

    listing_id: int
    status: str
    evidence_ids: list[int] = field(default_factory=list)
    error: str | None = None
    retry: bool = False


def fetch_listing(settings: Settings, target: ListingTarget) -> FetchResult:
    """The listing page, fetched under the crawler's rules (the marketplace's own local flag)."""
    return fetch_page(
        target.url,
        user_agent=settings.crawl_user_agent,
        timeout_s=settings.evidence_timeout_s,
        max_bytes=settings.evidence_max_page_bytes,
        allow_private=marketplace_is_local(target.marketplace_settings),
    )


def capture_listing(
    settings: Settings,
    sessions: Sessions,
    listing_id: int,
    *,
    detection_id: int | None = None,
    screenshotter: Screenshotter | None = None,
) -> CaptureOutcome:
    """Capture a listing's detection-time evidence (WARC, then screenshot), once per crawl.

    Args:
        settings: MEDIA_ROOT, user agent, timeouts, caps, tries.
        sessions: session factory of the database.
        listing_id: the listing.
        detection_id: the detection that asked for it (recorded on the rows).
        screenshotter: the process's browser; None skips the screenshot (recorded as failed).

    Returns:
        The outcome; ``retry`` when a transient failure has tries left.
    """
    with sessions() as session, session.begin():
        target = listing_target(session, listing_id)
        if target is None:
            return CaptureOutcome(listing_id, "unknown", error="no such listing")
        key = capture_key(session, target.marketplace_id)
        existing = evidence_rows(session, listing_id, key, EvidencePurpose.DETECTION)
        warc_row = existing.get(EvidenceKind.WARC)
        shot_row = existing.get(EvidenceKind.SCREENSHOT)
        warc_done = warc_row is not None and (
            warc_row.status != EvidenceStatus.FAILED or warc_row.attempts >= settings.evidence_max_attempts
        )
        warc_status = warc_row.status if warc_row is not None else None
        shot_done = shot_row is not None and (
            shot_row.status != EvidenceStatus.FAILED or shot_row.attempts >= settings.evidence_max_attempts
        )
    ids: list[int] = []
    common = {
        "listing_id": listing_id,
        "key": key,
        "purpose": EvidencePurpose.DETECTION,
        "url": target.url,
        "detection_id": detection_id,
        "user_agent": settings.crawl_user_agent,
        "tool_version": tool_version(),
    }
    if not warc_done:
        outcome = _capture_warc(settings, sessions, target, common)
        if outcome.status in {"failed", "gone", "truncated"}:
            return outcome
        ids += outcome.evidence_ids
        warc_status = EvidenceStatus.CAPTURED
    if warc_status != EvidenceStatus.CAPTURED:
        return CaptureOutcome(listing_id, "skipped")  # gone or cut: nothing more to render
    if shot_done:
        return CaptureOutcome(listing_id, "captured" if ids else "skipped", ids)
    return _capture_screenshot(settings, sessions, target, common, screenshotter, ids)


def _record(sessions: Sessions, kind: EvidenceKind, **values: object) -> tuple[int, int]:
    with sessions() as session, session.begin():
        row = record_evidence(session, kind=kind, **values)  # type: ignore[arg-type]
        return row.id, row.attempts


def _capture_warc(
    settings: Settings, sessions: Sessions, target: ListingTarget, common: dict[str, object]
) -> CaptureOutcome:
    listing_id = target.listing_id
    try:
        result = fetch_listing(settings, target)
    except FetchRefused as exc:
        error = f"refused: {exc}"
        for kind in (EvidenceKind.WARC, EvidenceKind.SCREENSHOT):
            _record(sessions, kind, status=EvidenceStatus.FAILED, error=error, **common)
        return CaptureOutcome(listing_id, "failed", error=error)
    except FetchError as exc:
        evidence_id, attempts = _record(
            sessions, EvidenceKind.WARC, status=EvidenceStatus.FAILED, error=f"fetch failed: {exc}", **common
        )
        retry = exc.transient and attempts < settings.evidence_max_attempts
        return CaptureOutcome(listing_id, "failed", [evidence_id], error=str(exc), retry=retry)
    status = result.status
    if status in TRANSIENT_CODES:
        error = f"the server answered {status}"
        evidence_id, attempts = _record(
            sessions,
            EvidenceKind.WARC,
            status=EvidenceStatus.FAILED,
            error=error,
            http_status=status,
            **common,
        )
        return CaptureOutcome(
            listing_id, "failed", [evidence_id], error=error, retry=attempts < settings.evidence_max_attempts
        )
    data = warc_bytes(result.exchanges, software=tool_version())
    sha256, path = store_evidence_file(settings.media_root, data, ".warc.gz")
    truncated = result.final.truncated
    row_status = (
        EvidenceStatus.GONE
        if result.gone
        else EvidenceStatus.TRUNCATED
        if truncated
        else EvidenceStatus.CAPTURED
    )
    cut_note = (
        f"the body passed the {settings.evidence_max_page_bytes} byte cap; the WARC keeps the first "
        "bytes (WARC-Truncated: length)"
        if truncated
        else None
    )
    evidence_id, _ = _record(
        sessions,
        EvidenceKind.WARC,
        status=row_status,
        sha256=sha256,
        path=path,
        size_bytes=len(data),
        captured_at=result.final.started_at,
        http_status=status,
        error=cut_note,
        **common,
    )
    if truncated:
        _record(
            sessions,
            EvidenceKind.SCREENSHOT,
            status=EvidenceStatus.FAILED,
            error="not rendered: the page body passed the size cap",
            **common,
        )
        return CaptureOutcome(listing_id, "truncated", [evidence_id], error=cut_note)
    if result.gone:
        return CaptureOutcome(listing_id, "gone", [evidence_id])
    return CaptureOutcome(listing_id, "captured", [evidence_id])


def _capture_screenshot(
    settings: Settings,
    sessions: Sessions,
    target: ListingTarget,
    common: dict[str, object],
    screenshotter: Screenshotter | None,
    ids: list[int],
) -> CaptureOutcome:
    listing_id = target.listing_id
    if screenshotter is None:
        evidence_id, _ = _record(
            sessions, EvidenceKind.SCREENSHOT, status=EvidenceStatus.FAILED, error="no browser", **common
        )
        return CaptureOutcome(listing_id, "failed", [*ids, evidence_id], error="no browser")
    captured_at = datetime.now(UTC)
    try:
        png = screenshotter.capture(
            target.url,
            timeout_s=settings.evidence_timeout_s,
            allow_private=marketplace_is_local(target.marketplace_settings),
        )
    except (ScreenshotError, FetchRefused) as exc:
        transient = getattr(exc, "transient", False)
        evidence_id, attempts = _record(
            sessions,
            EvidenceKind.SCREENSHOT,
            status=EvidenceStatus.FAILED,
            error=f"screenshot: {exc}",
            **common,
        )
        log.warning("screenshot of listing %s failed: %s", listing_id, exc)
        return CaptureOutcome(
            listing_id,
            "failed",
            [*ids, evidence_id],
            error=str(exc),
            retry=transient and attempts < settings.evidence_max_attempts,
        )
    sha256, path = store_evidence_file(settings.media_root, png, ".png")
    evidence_id, _ = _record(
        sessions,
        EvidenceKind.SCREENSHOT,
        status=EvidenceStatus.CAPTURED,
        sha256=sha256,
        path=path,
        size_bytes=len(png),
        captured_at=captured_at,
        user_agent=screenshotter.user_agent,
        **{k: v for k, v in common.items() if k != "user_agent"},
    )
    return CaptureOutcome(listing_id, "captured", [*ids, evidence_id])


def capture_pending(
    settings: Settings,
    sessions: Sessions,
    screenshotter: Screenshotter | None,
    *,
    marketplace_id: int | None = None,
    limit: int = 1000,
    rounds: int | None = None,
) -> list[CaptureOutcome]:
    """Capture every listing still missing its evidence, in this process (embedded mode, demo,
    ``copywatch evidence capture``); transient failures are tried again up to the tries allowed."""
    from db.evidence import pending_captures

    outcomes: dict[int, CaptureOutcome] = {}
    for _round in range(rounds or settings.evidence_max_attempts):
        with sessions() as session:
            todo = pending_captures(
                session,
                min_score=settings.review_threshold,
                max_attempts=settings.evidence_max_attempts,
                marketplace_id=marketplace_id,
                limit=limit,
            )
        todo = [(lid, did) for lid, did in todo if lid not in outcomes or outcomes[lid].retry]
        if not todo:
            break
        for listing_id, detection_id in todo:
            outcomes[listing_id] = capture_listing(
                settings, sessions, listing_id, detection_id=detection_id, screenshotter=screenshotter
            )
    return list(outcomes.values())
