"""Queries of rights holders, notices, their items and status history.

Functions listing what a reviewer sees take ``brand_ids`` (the brands the user may see; None = all).
"""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    Brand,
    Detection,
    DetectionStatus,
    Listing,
    ListingImage,
    Marketplace,
    Notice,
    NoticeEvent,
    NoticeItem,
    NoticeItemStatus,
    NoticeStatus,
    Original,
    RightsHolder,
)

# Which status may follow which; "who and when" is recorded for every change.
TRANSITIONS: dict[NoticeStatus, set[NoticeStatus]] = {
    NoticeStatus.DRAFT: {NoticeStatus.SENT},
    NoticeStatus.SENT: {
        NoticeStatus.REMOVED,
        NoticeStatus.REFUSED,
        NoticeStatus.COUNTER_NOTICE,
        NoticeStatus.NO_ANSWER,
    },
    NoticeStatus.NO_ANSWER: {NoticeStatus.REMOVED, NoticeStatus.REFUSED, NoticeStatus.COUNTER_NOTICE},
    NoticeStatus.REFUSED: {NoticeStatus.REMOVED},
    NoticeStatus.COUNTER_NOTICE: {NoticeStatus.REMOVED},
    NoticeStatus.REMOVED: set(),
}
# Notices whose listings the crawler keeps re-checking.
OPEN_STATUSES = (NoticeStatus.SENT, NoticeStatus.NO_ANSWER, NoticeStatus.REFUSED, NoticeStatus.COUNTER_NOTICE)
HOLDER_FIELDS = (
    "legal_name",
    "postal_address",
    "email",
    "phone",
    "agent_name",
    "signature",
    "registrations",
    "works_url_template",
)


class NoticeStateError(ValueError):
    """A status change the notice's life does not allow (e.g. draft → removed)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def rights_holder(session: Session, brand_id: int) -> RightsHolder | None:
    return session.execute(select(RightsHolder).where(RightsHolder.brand_id == brand_id)).scalar_one_or_none()


def upsert_rights_holder(session: Session, brand_id: int, **values: Any) -> RightsHolder:
    """Create or update a brand's rights-holder profile; unknown keys are refused."""
    unknown = set(values) - set(HOLDER_FIELDS)
    if unknown:
        raise ValueError(f"unknown rights-holder field(s): {', '.join(sorted(unknown))}")
    holder = rights_holder(session, brand_id)
    if holder is None:
        holder = RightsHolder(brand_id=brand_id, registrations=[])
        session.add(holder)
    for key, value in values.items():
        setattr(holder, key, value)
    session.flush()
    return holder


@dataclass(frozen=True)
class ConfirmedHit:
    """A confirmed detection not yet in any notice, with what a notice item needs."""

    detection_id: int
    brand_id: int
    brand: str
    marketplace_id: int
    marketplace: str
    seller: str | None
    listing_id: int
    listing_url: str
    listing_title: str | None
    image_url: str
    original_id: int
    original_sku: str | None
    original_title: str | None
    original_sha256: str
    score: float


def confirmed_unnoticed(
    session: Session,
    *,
    brand_id: int | None = None,
    marketplace_id: int | None = None,
    seller: str | None = None,
    brand_ids: Collection[int] | None = None,
) -> list[ConfirmedHit]:
    """Confirmed detections with an original that no notice names yet (one per listing and original)."""
    noticed = select(NoticeItem.detection_id).where(NoticeItem.detection_id.is_not(None))
    query = (
        select(
            Detection.id,
            Brand.id,
            Brand.name,
            Marketplace.id,
            Marketplace.name,
            Listing.seller,
            Listing.id,
            Listing.url,
            Listing.title,
            ListingImage.url,
            Original.id,
            Original.sku,
            Original.title,
            Original.sha256,
            Detection.score,
        )
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .join(Original, Original.id == Detection.original_id)
        .join(Brand, Brand.id == Original.brand_id)
        .where(Detection.status == DetectionStatus.CONFIRMED, Detection.id.not_in(noticed))
        .order_by(Brand.id, Marketplace.id, Listing.seller, Listing.url, Detection.score.desc())
    )
    if brand_id is not None:
        query = query.where(Brand.id == brand_id)
    if marketplace_id is not None:
        query = query.where(Marketplace.id == marketplace_id)
    if seller is not None:
        query = query.where(Listing.seller == seller)
    if brand_ids is not None:
        query = query.where(Brand.id.in_(sorted(brand_ids)))
    hits: list[ConfirmedHit] = []
    seen: set[tuple[int, int]] = set()
    fields = list(ConfirmedHit.__dataclass_fields__)
    for row in session.execute(query):
        hit = ConfirmedHit(**dict(zip(fields, row, strict=True)))
        if (hit.listing_id, hit.original_id) in seen:
            continue
        seen.add((hit.listing_id, hit.original_id))
        hits.append(hit)
    return hits


def group_hits(hits: list[ConfirmedHit]) -> dict[tuple[int, int, str | None], list[ConfirmedHit]]:
    """Hits per (brand, marketplace, seller): one notice each."""
    groups: dict[tuple[int, int, str | None], list[ConfirmedHit]] = {}
    for hit in hits:
        groups.setdefault((hit.brand_id, hit.marketplace_id, hit.seller), []).append(hit)
    return groups


def add_event(
    session: Session, notice: Notice, to_status: NoticeStatus, actor: str, note: str | None = None,
    at: datetime | None = None, from_status: NoticeStatus | None = None,
) -> None:  # fmt: skip
    session.add(
        NoticeEvent(
            notice_id=notice.id,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value,
            actor=actor,
            note=note,
            at=at or utcnow(),
        )
    )


def change_status(
    session: Session,
    notice_id: int,
    to_status: NoticeStatus,
    *,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
) -> Notice:
    """Move a notice along its life, recording who and when.

    Raises:
        LookupError: no such notice. NoticeStateError: the change is not allowed from its status.
    """
    notice = session.get(Notice, notice_id, with_for_update=True)
    if notice is None:
        raise LookupError(f"no notice {notice_id}")
    current = NoticeStatus(notice.status)
    if to_status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing (it is final)"
        raise NoticeStateError(f"notice {notice_id} is {current.value}; it can become {allowed}")
    at = at or utcnow()
    notice.status = to_status
    if to_status == NoticeStatus.SENT:
        notice.sent_at = at
    elif to_status in {NoticeStatus.REMOVED, NoticeStatus.REFUSED, NoticeStatus.COUNTER_NOTICE}:
        notice.resolved_at = at
    add_event(session, notice, to_status, actor, note, at, from_status=current)
    session.flush()
    return notice


def notices(
    session: Session,
    *,
    brand_ids: Collection[int] | None = None,
    status: NoticeStatus | None = None,
    marketplace_id: int | None = None,
    limit: int = 500,
) -> list[Notice]:
    query = select(Notice).order_by(Notice.id.desc()).limit(limit)
    if brand_ids is not None:
        query = query.where(Notice.brand_id.in_(sorted(brand_ids)))
    if status is not None:
        query = query.where(Notice.status == status)
    if marketplace_id is not None:
        query = query.where(Notice.marketplace_id == marketplace_id)
    return list(session.execute(query).scalars())


def get_notice(session: Session, notice_id: int, brand_ids: Collection[int] | None = None) -> Notice | None:
    notice = session.get(Notice, notice_id)
    if notice is None or (brand_ids is not None and notice.brand_id not in brand_ids):
        return None
    return notice


def notice_events(session: Session, notice_id: int) -> list[NoticeEvent]:
    return list(
        session.execute(
            select(NoticeEvent)
            .where(NoticeEvent.notice_id == notice_id)
            .order_by(NoticeEvent.at, NoticeEvent.id)
        ).scalars()
    )


def items_to_recheck(session: Session, marketplace_id: int) -> list[NoticeItem]:
    """Noticed listings of the marketplace not yet seen removed, in notices still open."""
    return list(
        session.execute(
            select(NoticeItem)
            .join(Notice, Notice.id == NoticeItem.notice_id)
            .where(
                Notice.marketplace_id == marketplace_id,
                Notice.status.in_(OPEN_STATUSES),
                NoticeItem.status == NoticeItemStatus.PENDING,
            )
            .order_by(NoticeItem.id)
        ).scalars()
    )


def mark_item_removed(
    session: Session, item_id: int, *, reason: str, evidence_id: int | None, at: datetime | None = None
) -> bool:
    """Mark a noticed listing removed; the notice becomes ``removed`` when all its items are.

    Returns:
        True when this call resolved the whole notice.
    """
    at = at or utcnow()
    item = session.get(NoticeItem, item_id, with_for_update=True)
    if item is None or item.status == NoticeItemStatus.REMOVED:
        return False
    item.status, item.removed_at, item.removal_reason = NoticeItemStatus.REMOVED, at, reason[:300]
    item.checked_at, item.check_error, item.absence_evidence_id = at, None, evidence_id
    session.flush()
    notice = session.get(Notice, item.notice_id, with_for_update=True)
    assert notice is not None
    pending = session.execute(
        select(NoticeItem.id).where(
            NoticeItem.notice_id == notice.id, NoticeItem.status == NoticeItemStatus.PENDING
        )
    ).first()
    if pending is None and NoticeStatus.REMOVED in TRANSITIONS[NoticeStatus(notice.status)]:
        change_status(
            session, notice.id, NoticeStatus.REMOVED, actor="crawler", note="every listing is gone", at=at
        )
        return True
    return False


def mark_item_checked(
    session: Session, item_id: int, *, error: str | None, at: datetime | None = None
) -> None:
    item = session.get(NoticeItem, item_id)
    if item is not None:
        item.checked_at, item.check_error = at or utcnow(), error
        session.flush()


def takedown_hours(
    session: Session, *, marketplace_id: int | None = None, brand_ids: Collection[int] | None = None
) -> list[float]:
    """Hours from each sent notice to each of its listings seen removed."""
    query = (
        select(Notice.sent_at, NoticeItem.removed_at)
        .join(NoticeItem, NoticeItem.notice_id == Notice.id)
        .where(Notice.sent_at.is_not(None), NoticeItem.removed_at.is_not(None))
    )
    if marketplace_id is not None:
        query = query.where(Notice.marketplace_id == marketplace_id)
    if brand_ids is not None:
        query = query.where(Notice.brand_id.in_(sorted(brand_ids)))
    hours = []
    for sent_at, removed_at in session.execute(query):
        assert sent_at is not None and removed_at is not None  # filtered above
        sent_at = sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)
        removed_at = removed_at if removed_at.tzinfo else removed_at.replace(tzinfo=UTC)
        hours.append(max(0.0, (removed_at - sent_at).total_seconds() / 3600))
    return hours


def median_hours(hours: list[float]) -> float | None:
    return statistics.median(hours) if hours else None


def lock_notice(session: Session, notice_id: int) -> Notice | None:
    """The notice with id ``notice_id``, its row locked for update, or None."""
    return session.get(Notice, notice_id, with_for_update=True)


def insert_notice(session: Session, notice: Notice, items: list[NoticeItem]) -> Notice:
    """Store a new notice and its items (``notice_id`` is set on each item); returns the notice, flushed."""
    session.add(notice)
    session.flush()
    for item in items:
        item.notice_id = notice.id
        session.add(item)
    return notice


def notice_ids(session: Session, marketplace_id: int) -> list[int]:
    """The ids of every notice to ``marketplace_id``."""
    return [
        int(i)
        for i in session.execute(select(Notice.id).where(Notice.marketplace_id == marketplace_id)).scalars()
    ]


def noticed_listing_urls(
    session: Session, marketplace_id: int, status: NoticeItemStatus | None = None
) -> list[str]:
    """The listing URL of every notice item to ``marketplace_id`` (only those in ``status`` if given)."""
    query = (
        select(NoticeItem.listing_url)
        .join(Notice, Notice.id == NoticeItem.notice_id)
        .where(Notice.marketplace_id == marketplace_id)
    )
    if status is not None:
        query = query.where(NoticeItem.status == status)
    return list(session.execute(query).scalars())
