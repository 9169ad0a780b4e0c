"""The demo's takedown step: evidence for every flagged listing, one notice per seller, half the
noticed listings taken down by the demo marketplace, a re-crawl, and the removals it finds.

Figures (:func:`takedown_figures`) are read back from the database and the shop's manifest, not
tallied along the way: ``evidence_expected`` (flagged listings), ``evidence_captured``,
``notices_drafted``, ``removed_planted`` (noticed listings the demo took down), ``removed_detected``,
``removed_wrong`` (listings marked removed that are still up).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from urllib.parse import urlparse

from sqlalchemy.orm import Session

from copywatch.demo.marketplace import DemoMarketplace, DemoShop, write_manifest
from copywatch.settings import Settings
from db.catalog import brand_id_by_name
from db.detections import new_detections_at, review_detection
from db.evidence import captured_listings
from db.listings import listing_ids_by_url
from db.models import DetectionStatus, NoticeItemStatus
from db.notices import (
    median_hours,
    notice_ids,
    noticed_listing_urls,
    rights_holder,
    takedown_hours,
    upsert_rights_holder,
)

ACTOR = "demo-reviewer@copywatch.invalid"


def capture_evidence(settings: Settings, sessions: Callable[[], Session], marketplace_id: int) -> None:
    """Capture the evidence of every listing with a detection at or above the review threshold, in-process."""
    from takedown.capture import capture_pending
    from takedown.screenshot import Screenshotter

    with Screenshotter(settings.chromium_path, user_agent=settings.crawl_user_agent) as browser:
        capture_pending(settings, sessions, browser, marketplace_id=marketplace_id)


def confirm_flagged(session: Session, marketplace_id: int, alert_threshold: float) -> int:
    """Confirm, as the demo reviewer, every detection with an original at or above the alert threshold."""
    ids = new_detections_at(session, marketplace_id, alert_threshold)
    count = 0
    for detection_id in ids:
        review_detection(
            session,
            detection_id,
            DetectionStatus.CONFIRMED,
            reviewer_id=None,
            note="demo: confirmed at the alert threshold",
        )
        count += 1
    return count


def ensure_rights_holder(session: Session, brand: str) -> int:
    brand_id = brand_id_by_name(session, brand)
    if brand_id is None:
        raise LookupError(f"no brand named {brand!r}")
    if rights_holder(session, brand_id) is None:
        upsert_rights_holder(
            session,
            brand_id,
            legal_name=f"{brand} Ltd (demo)",
            postal_address="1 Example Street, 10115 Berlin, Germany",
            email="legal@brand.invalid",
            phone="+49 30 0000000",
            agent_name="Demo Agent",
            signature="Demo Agent",
            registrations=["(demo) no registration"],
            works_url_template="https://brand.invalid/products/{sku}",
        )
    return int(brand_id)


def draft_and_send(settings: Settings, session: Session, brand_id: int, marketplace_id: int) -> list[int]:
    """One notice per seller, marked as filed by hand (the demo marketplace has no notice address)."""
    from takedown.lifecycle import draft_notices, send_notice

    ids = draft_notices(session, actor=ACTOR, brand_id=brand_id, marketplace_id=marketplace_id)
    for notice_id in ids:
        send_notice(settings, session, notice_id, actor=ACTOR, via_smtp=False)
    return ids


def take_down_half(session: Session, server: DemoMarketplace, shop: DemoShop, marketplace_id: int) -> int:
    """Every other noticed listing (by URL) disappears from the demo marketplace."""
    urls = sorted(set(noticed_listing_urls(session, marketplace_id)))
    slugs = {x.path: x.slug for x in shop.listings}
    taken = 0
    for url in urls[::2]:
        slug = slugs.get(urlparse(url).path)
        if slug is not None:
            server.take_down(slug)
            taken += 1
    write_manifest(shop)
    return taken


def run_takedowns(
    settings: Settings,
    sessions: Callable[[], Session],
    server: DemoMarketplace,
    shop: DemoShop,
    marketplace_id: int,
    brand: str,
    step: Callable[[str, str], AbstractContextManager[None]],
    recrawl: Callable[[], object],
) -> None:
    """The whole takedown step of the demo, each part timed by ``step(name, text)``."""
    from takedown.recheck import recheck_marketplace

    with step("evidence", "capturing evidence (WARC + screenshot) of every flagged listing"):
        capture_evidence(settings, sessions, marketplace_id)
    with step("notices", "confirming the flagged hits, drafting one notice per seller, filing them"):
        with sessions() as session, session.begin():
            confirm_flagged(session, marketplace_id, settings.alert_threshold)
            brand_id = ensure_rights_holder(session, brand)
            draft_and_send(settings, session, brand_id, marketplace_id)
        with sessions() as session:
            take_down_half(session, server, shop, marketplace_id)
    with step("recrawl", "the marketplace takes half the noticed listings down; re-crawling to see which"):
        recrawl()
        # What every crawl's after-step does (in-process when embedded, queued when distributed),
        # run here so the demo can time it and read the result.
        recheck_marketplace(settings, sessions, marketplace_id)


def takedown_figures(
    session: Session, shop: DemoShop, marketplace_id: int, flagged_urls: set[str]
) -> tuple[dict[str, int], float | None]:
    """The demo's takedown figures, and the median seconds from notice to seen removal."""
    listing_ids = listing_ids_by_url(session, marketplace_id, flagged_urls)
    captured = captured_listings(session, set(listing_ids.values()))
    notices = notice_ids(session, marketplace_id)
    removed_urls = {
        urlparse(url).path for url in noticed_listing_urls(session, marketplace_id, NoticeItemStatus.REMOVED)
    }
    planted = {x.path for x in shop.listings if x.taken_down}
    median = median_hours(takedown_hours(session, marketplace_id=marketplace_id))
    return (
        {
            "evidence_expected": len(flagged_urls),
            "evidence_captured": sum(1 for lid in listing_ids.values() if lid in captured),
            "notices_drafted": len(notices),
            "removed_planted": len(planted),
            "removed_detected": len(planted & removed_urls),
            "removed_wrong": len(removed_urls - planted),
        },
        None if median is None else median * 3600,
    )
