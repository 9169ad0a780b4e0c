"""The crawler's re-check of noticed listings: is each still up, and does it still serve the copy?

Run after every crawl of a marketplace (``crawler.run.crawl`` queues it). A listing counts as
removed when its page answers 404/410, or when the copied image is no longer served (the image URL
answers 404/410, or the page no longer names it). The response that shows it is stored as a WARC
(purpose ``recheck``), the evidence of absence. A page that cannot be fetched now (timeout, 5xx,
refused) proves nothing: the listing stays pending, the error is noted, the next crawl tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from copywatch.settings import Settings
from db.evidence import ListingTarget, capture_key, listing_target, record_evidence
from db.models import EvidenceKind, EvidencePurpose, EvidenceStatus
from db.notices import items_to_recheck, mark_item_checked, mark_item_removed
from takedown import tool_version
from takedown.fetch import GONE_CODES, FetchError, FetchResult, HttpExchange, fetch_page
from takedown.netpolicy import FetchRefused, marketplace_is_local
from takedown.store import store_evidence_file
from takedown.warc import warc_bytes

log = logging.getLogger(__name__)

Sessions = Callable[[], Session]


@dataclass
class RecheckSummary:
    marketplace_id: int
    checked: int = 0
    removed: int = 0
    still_up: int = 0
    errors: int = 0
    notices_resolved: int = 0
    removed_urls: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "marketplace_id": self.marketplace_id,
            "checked": self.checked,
            "removed": self.removed,
            "still_up": self.still_up,
            "errors": self.errors,
            "notices_resolved": self.notices_resolved,
        }


def _fetch(settings: Settings, url: str, target: ListingTarget, accept: str) -> FetchResult:
    return fetch_page(
        url,
        user_agent=settings.crawl_user_agent,
        timeout_s=settings.evidence_timeout_s,
        max_bytes=settings.evidence_max_page_bytes,
        allow_private=marketplace_is_local(target.marketplace_settings),
        accept=accept,
    )


def _names_image(page: HttpExchange, image_url: str) -> bool:
    """The page's HTML still names the image (its full URL, or its path for relative links)."""
    text = page.body.decode("utf-8", errors="replace")
    parts = urlsplit(image_url)
    return image_url in text or (bool(parts.path) and parts.path in text)


def absence_reason(
    settings: Settings, target: ListingTarget, image_url: str | None
) -> tuple[str | None, list[HttpExchange], int]:
    """(why the listing counts as removed, or None when still up; the exchanges that show it; the
    HTTP status that decided).

    Raises:
        FetchError, FetchRefused: nothing could be concluded now.
    """
    page = _fetch(settings, target.url, target, "text/html,application/xhtml+xml,*/*;q=0.8")
    exchanges = list(page.exchanges)
    if page.status in GONE_CODES:
        return f"the listing page answered {page.status}", exchanges, page.status
    if page.status >= 400:
        raise FetchError(f"the listing page answered {page.status}", transient=True)
    if not image_url:
        return None, exchanges, page.status
    if not _names_image(page.final, image_url):
        return "the listing page no longer shows the copied image", exchanges, page.status
    image = _fetch(settings, image_url, target, "image/*,*/*;q=0.8")
    exchanges += image.exchanges
    if image.status in GONE_CODES:
        return f"the copied image answered {image.status}", exchanges, image.status
    return None, exchanges, image.status


def recheck_marketplace(settings: Settings, sessions: Sessions, marketplace_id: int) -> RecheckSummary:
    """Re-check every noticed listing of the marketplace that is not yet seen removed."""
    summary = RecheckSummary(marketplace_id)
    with sessions() as session:
        items = [
            (item.id, item.listing_id, item.image_url, item.listing_url)
            for item in items_to_recheck(session, marketplace_id)
        ]
        key = capture_key(session, marketplace_id)
    for item_id, listing_id, image_url, listing_url in items:
        summary.checked += 1
        with sessions() as session:
            target = listing_target(session, listing_id)
        if target is None:
            continue
        try:
            reason, exchanges, status = absence_reason(settings, target, image_url)
        except (FetchError, FetchRefused) as exc:
            summary.errors += 1
            with sessions() as session, session.begin():
                mark_item_checked(session, item_id, error=f"re-check failed: {exc}")
            continue
        now = datetime.now(UTC)
        if reason is None:
            summary.still_up += 1
            with sessions() as session, session.begin():
                mark_item_checked(session, item_id, error=None, at=now)
            continue
        data = warc_bytes(exchanges, software=tool_version())
        sha256, path = store_evidence_file(settings.media_root, data, ".warc.gz")
        with sessions() as session, session.begin():
            evidence = record_evidence(
                session,
                listing_id=listing_id,
                key=key,
                kind=EvidenceKind.WARC,
                purpose=EvidencePurpose.RECHECK,
                url=listing_url,
                status=EvidenceStatus.GONE,
                sha256=sha256,
                path=path,
                size_bytes=len(data),
                captured_at=exchanges[0].started_at,
                user_agent=settings.crawl_user_agent,
                tool_version=tool_version(),
                http_status=status,
                error=reason,
            )
            resolved = mark_item_removed(session, item_id, reason=reason, evidence_id=evidence.id, at=now)
        summary.removed += 1
        summary.notices_resolved += int(resolved)
        summary.removed_urls.append(listing_url)
        log.info("noticed listing %s is gone: %s", listing_url, reason)
    return summary
