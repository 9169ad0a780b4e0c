"""The review queue: detections by filter, best first, paged by keyset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from db.models import Detection, DetectionKind, DetectionStatus, Listing, ListingImage, Original


@dataclass(frozen=True)
class QueueFilters:
    brand_id: int | None = None
    marketplace_id: int | None = None
    status: DetectionStatus | None = DetectionStatus.NEW
    min_score: float | None = None
    max_score: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    kind: DetectionKind | None = None
    label: str | None = None  # "copy" or "variant"


def review_queue_query(filters: QueueFilters) -> Select[Detection]:
    """Detections matching ``filters``, highest score first (ties by id), as a query to page through."""
    query = (
        select(Detection)
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .outerjoin(Original, Original.id == Detection.original_id)
    )
    conditions = []
    if filters.status is not None:
        conditions.append(Detection.status == filters.status)
    if filters.brand_id is not None:
        conditions.append(Original.brand_id == filters.brand_id)
    if filters.marketplace_id is not None:
        conditions.append(Listing.marketplace_id == filters.marketplace_id)
    if filters.min_score is not None:
        conditions.append(Detection.score >= filters.min_score)
    if filters.max_score is not None:
        conditions.append(Detection.score <= filters.max_score)
    if filters.since is not None:
        conditions.append(Detection.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(Detection.created_at < filters.until)
    if filters.kind is not None:
        conditions.append(Detection.kind == filters.kind)
    if filters.label is not None:
        conditions.append(Detection.label == filters.label)
    if conditions:
        query = query.where(and_(*conditions))
    return query.order_by(Detection.score.desc(), Detection.id.desc())


def review_queue(
    session: Session,
    filters: QueueFilters = QueueFilters(),  # noqa: B008 - frozen dataclass, safe default
    *,
    limit: int = 50,
    after: tuple[float, int] | None = None,
) -> list[Detection]:
    """One page of the review queue. ``after`` is the (score, id) of the last row of the previous
    page: keyset pagination stays fast at any depth, unlike OFFSET."""
    query = review_queue_query(filters)
    if after is not None:
        score, last_id = after
        query = query.where(
            or_(Detection.score < score, and_(Detection.score == score, Detection.id < last_id))
        )
    return list(session.execute(query.limit(limit)).scalars())
