"""Queries of the ``evidence`` table: what to capture, what was captured, per listing and crawl.

Functions that list things a reviewer sees take ``brand_ids``: the brands the user may see
(None = all), so brand scoping can be wired in at the routes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import (
    CrawlRun,
    Detection,
    Evidence,
    EvidenceKind,
    EvidencePurpose,
    EvidenceStatus,
    Listing,
    ListingImage,
    Marketplace,
    Original,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def capture_key(session: Session, marketplace_id: int) -> str:
    """``run:<id>`` of the marketplace's latest crawl run (evidence is taken once per listing and
    crawl), or ``day:<date>`` when the listing came from no crawl (a scan, an import)."""
    run_id = session.execute(
        select(CrawlRun.id)
        .where(CrawlRun.marketplace_id == marketplace_id)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return f"run:{run_id}" if run_id is not None else f"day:{utcnow().date().isoformat()}"


@dataclass(frozen=True)
class ListingTarget:
    """What a capture needs to know of a listing."""

    listing_id: int
    url: str
    marketplace_id: int
    marketplace_settings: dict[str, Any]


def listing_target(session: Session, listing_id: int) -> ListingTarget | None:
    row = session.execute(
        select(Listing.id, Listing.url, Listing.marketplace_id, Marketplace.settings)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .where(Listing.id == listing_id)
    ).first()
    if row is None:
        return None
    return ListingTarget(int(row[0]), str(row[1]), int(row[2]), dict(row[3] or {}))


def evidence_rows(
    session: Session, listing_id: int, key: str, purpose: EvidencePurpose
) -> dict[EvidenceKind, Evidence]:
    rows = session.execute(
        select(Evidence).where(
            Evidence.listing_id == listing_id, Evidence.capture_key == key, Evidence.purpose == purpose
        )
    ).scalars()
    return {row.kind: row for row in rows}


def record_evidence(
    session: Session,
    *,
    listing_id: int,
    key: str,
    kind: EvidenceKind,
    purpose: EvidencePurpose,
    url: str,
    status: EvidenceStatus,
    detection_id: int | None = None,
    sha256: str | None = None,
    path: str | None = None,
    size_bytes: int | None = None,
    captured_at: datetime | None = None,
    user_agent: str | None = None,
    tool_version: str | None = None,
    http_status: int | None = None,
    error: str | None = None,
) -> Evidence:
    """Insert or update the one row of (listing, key, kind, purpose); every call counts an attempt.

    A stored file is never replaced by a failure: once a row holds a file, later failures only
    add to ``attempts`` and ``error``.
    """

    def locked() -> Evidence | None:
        return session.execute(
            select(Evidence)
            .where(
                Evidence.listing_id == listing_id,
                Evidence.capture_key == key,
                Evidence.kind == kind,
                Evidence.purpose == purpose,
            )
            .with_for_update()
        ).scalar_one_or_none()

    row = locked()
    if row is None:
        try:
            with session.begin_nested():  # two workers capturing one listing: one insert wins
                row = Evidence(
                    listing_id=listing_id, capture_key=key, kind=kind, purpose=purpose, url=url,
                    status=EvidenceStatus.FAILED, attempts=0,
                )  # fmt: skip
                session.add(row)
        except IntegrityError:
            row = locked()
            assert row is not None
    row.attempts = (row.attempts or 0) + 1
    row.url = url
    row.error = error
    if detection_id is not None:
        row.detection_id = detection_id
    if status == EvidenceStatus.FAILED and row.sha256 is not None:
        session.flush()
        return row
    row.status = status
    row.sha256, row.path, row.size_bytes = sha256, path, size_bytes
    row.captured_at = captured_at
    row.user_agent, row.tool_version, row.http_status = user_agent, tool_version, http_status
    session.flush()
    return row


def _visible(query: Any, brand_ids: Collection[int] | None) -> Any:
    """Only detections of the given brands (None: all; logo-only hits belong to no brand)."""
    if brand_ids is None:
        return query
    return query.where(Original.brand_id.in_(sorted(brand_ids)))


def evidence_for_detection(
    session: Session, detection_id: int, brand_ids: Collection[int] | None = None
) -> list[Evidence]:
    """Every evidence row of the detection's listing (detection-time and re-check), newest first."""
    query = (
        select(Listing.id)
        .join(ListingImage, ListingImage.listing_id == Listing.id)
        .join(Detection, Detection.listing_image_id == ListingImage.id)
        .outerjoin(Original, Original.id == Detection.original_id)
        .where(Detection.id == detection_id)
    )
    listing_id = session.execute(_visible(query, brand_ids)).scalar_one_or_none()
    if listing_id is None:
        return []
    return list(
        session.execute(
            select(Evidence)
            .where(Evidence.listing_id == listing_id)
            .order_by(Evidence.created_at.desc(), Evidence.id.desc())
        ).scalars()
    )


def pending_captures(
    session: Session,
    *,
    min_score: float,
    max_attempts: int,
    marketplace_id: int | None = None,
    listing_ids: Collection[int] | None = None,
    limit: int = 1000,
) -> list[tuple[int, int]]:
    """(listing id, best detection id) of listings with a detection at or above ``min_score`` whose
    detection-time evidence is missing, or failed with tries left. One per listing."""
    done = exists().where(
        Evidence.listing_id == Listing.id,
        Evidence.purpose == EvidencePurpose.DETECTION,
        Evidence.kind == EvidenceKind.WARC,
        or_(
            Evidence.status != EvidenceStatus.FAILED,
            Evidence.attempts >= max_attempts,
        ),
    )
    shot_missing = ~exists().where(
        Evidence.listing_id == Listing.id,
        Evidence.purpose == EvidencePurpose.DETECTION,
        Evidence.kind == EvidenceKind.SCREENSHOT,
        or_(Evidence.status != EvidenceStatus.FAILED, Evidence.attempts >= max_attempts),
    )
    warc_ok_page_up = exists().where(
        Evidence.listing_id == Listing.id,
        Evidence.purpose == EvidencePurpose.DETECTION,
        Evidence.kind == EvidenceKind.WARC,
        Evidence.status == EvidenceStatus.CAPTURED,
    )
    query = (
        select(Listing.id, Detection.id, Detection.score)
        .join(ListingImage, ListingImage.listing_id == Listing.id)
        .join(Detection, Detection.listing_image_id == ListingImage.id)
        .where(Detection.score >= min_score, or_(~done, and_(warc_ok_page_up, shot_missing)))
        .order_by(Listing.id, Detection.score.desc())
    )
    if marketplace_id is not None:
        query = query.where(Listing.marketplace_id == marketplace_id)
    if listing_ids is not None:
        query = query.where(Listing.id.in_(sorted(listing_ids)))
    best: dict[int, int] = {}
    for listing_id, detection_id, _score in session.execute(query):
        best.setdefault(int(listing_id), int(detection_id))
        if len(best) >= limit:
            break
    return list(best.items())


def listings_of_detections(session: Session, detection_ids: Collection[int]) -> list[tuple[int, int]]:
    """(listing id, detection id) for detections, one per listing (its best-scoring detection)."""
    if not detection_ids:
        return []
    rows = session.execute(
        select(ListingImage.listing_id, Detection.id)
        .join(Detection, Detection.listing_image_id == ListingImage.id)
        .where(Detection.id.in_(sorted(detection_ids)))
        .order_by(ListingImage.listing_id, Detection.score.desc())
    ).all()
    best: dict[int, int] = {}
    for listing_id, detection_id in rows:
        best.setdefault(int(listing_id), int(detection_id))
    return list(best.items())


def captured_listings(session: Session, listing_ids: Collection[int]) -> set[int]:
    """Listings whose detection-time WARC and screenshot are both stored (or the WARC shows it gone)."""
    if not listing_ids:
        return set()
    rows = session.execute(
        select(Evidence.listing_id, Evidence.kind, Evidence.status).where(
            Evidence.listing_id.in_(sorted(listing_ids)), Evidence.purpose == EvidencePurpose.DETECTION
        )
    ).all()
    kinds: dict[int, dict[str, str]] = {}
    for listing_id, kind, status in rows:
        kinds.setdefault(int(listing_id), {})[str(kind.value)] = str(status.value)
    return {
        listing_id
        for listing_id, found in kinds.items()
        if found.get("warc") == "gone"
        or (found.get("warc") == "captured" and found.get("screenshot") == "captured")
    }


@dataclass
class BundleDetection:
    """One detection and everything a bundle holds of it."""

    detection: Detection
    listing: Listing
    image: ListingImage
    original: Original | None
    marketplace: Marketplace
    brand_name: str | None
    evidence: list[Evidence]


def select_detections(
    session: Session,
    *,
    detection_id: int | None = None,
    seller: str | None = None,
    marketplace_id: int | None = None,
    brand_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    confirmed_only: bool = False,
    brand_ids: Collection[int] | None = None,
    limit: int = 5000,
) -> list[int]:
    """Detection ids by one id, a seller (optionally on one marketplace), or a brand and date range."""
    from db.models import DetectionStatus

    query = (
        select(Detection.id)
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .outerjoin(Original, Original.id == Detection.original_id)
    )
    if detection_id is not None:
        query = query.where(Detection.id == detection_id)
    if seller is not None:
        query = query.where(Listing.seller == seller)
    if marketplace_id is not None:
        query = query.where(Listing.marketplace_id == marketplace_id)
    if brand_id is not None:
        query = query.where(Original.brand_id == brand_id)
    if since is not None:
        query = query.where(Detection.created_at >= since)
    if until is not None:
        query = query.where(Detection.created_at < until)
    if confirmed_only:
        query = query.where(Detection.status == DetectionStatus.CONFIRMED)
    query = _visible(query, brand_ids).order_by(Detection.id).limit(limit)
    return [int(i) for i in session.execute(query).scalars()]


def bundle_detections(
    session: Session, detection_ids: Collection[int], brand_ids: Collection[int] | None = None
) -> list[BundleDetection]:
    """The detections (visible to ``brand_ids``) with their listing, image, original and evidence."""
    from db.models import Brand

    if not detection_ids:
        return []
    query = (
        select(Detection, Listing, ListingImage, Original, Marketplace, Brand.name)
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Original, Original.id == Detection.original_id)
        .outerjoin(Brand, Brand.id == Original.brand_id)
        .where(Detection.id.in_(sorted(detection_ids)))
        .order_by(Detection.id)
    )
    found = []
    for detection, listing, image, original, marketplace, brand_name in session.execute(
        _visible(query, brand_ids)
    ):
        evidence = list(
            session.execute(
                select(Evidence)
                .where(Evidence.listing_id == listing.id, Evidence.sha256.is_not(None))
                .order_by(Evidence.captured_at.desc(), Evidence.id.desc())
            ).scalars()
        )
        found.append(BundleDetection(detection, listing, image, original, marketplace, brand_name, evidence))
    return found
