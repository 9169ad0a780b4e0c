"""Alert selection and marking: which detections a brand's digest lists, and that it was sent.

A candidate is a new, not yet alerted detection of one of the brand's originals at or above the
alert threshold. :func:`lock_candidates` locks them (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)
for the whole send, so a concurrent sender skips them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from db.common import is_postgresql, utcnow
from db.models import Brand, Detection, DetectionStatus, Listing, ListingImage, Marketplace, Original

AlertRow = tuple[Detection, ListingImage, Listing, Marketplace, Original]


def _unalerted(threshold: float) -> tuple[ColumnElement[bool], ...]:
    return (
        Detection.alerted_at.is_(None),
        Detection.status == DetectionStatus.NEW,
        Detection.score >= threshold,
    )


def brands_with_candidates(session: Session, threshold: float) -> list[int]:
    """Ids of the brands that have at least one alert candidate."""
    return [
        int(b)
        for b in session.execute(
            select(Original.brand_id)
            .join(Detection, Detection.original_id == Original.id)
            .where(*_unalerted(threshold))
            .distinct()
        ).scalars()
    ]


def brand_recipients(session: Session, brand_id: int) -> tuple[str, list[str]] | None:
    """The brand's name and alert addresses, or None when there is no such brand."""
    brand = session.get(Brand, brand_id)
    if brand is None:
        return None
    return brand.name, [str(a) for a in (brand.alert_emails or [])]


def lock_candidates(session: Session, brand_id: int, threshold: float, limit: int) -> list[int]:
    """Lock and return up to ``limit`` of the brand's candidates, best first; rows another
    transaction holds are skipped on PostgreSQL."""
    query = (
        select(Detection.id)
        .join(Original, Original.id == Detection.original_id)
        .where(Original.brand_id == brand_id, *_unalerted(threshold))
        .order_by(Detection.score.desc(), Detection.id)
        .limit(limit)
    )
    if is_postgresql(session):
        query = query.with_for_update(of=Detection, skip_locked=True)
    return [int(i) for i in session.execute(query).scalars()]


def alert_rows(session: Session, detection_ids: Sequence[int]) -> list[AlertRow]:
    """Each detection with its listing image, listing, marketplace and original, best first."""
    rows = session.execute(
        select(Detection, ListingImage, Listing, Marketplace, Original)
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .join(Original, Original.id == Detection.original_id)
        .where(Detection.id.in_(list(detection_ids)))
        .order_by(Detection.score.desc(), Detection.id)
    ).all()
    return [(d, image, listing, marketplace, original) for d, image, listing, marketplace, original in rows]


def mark_alerted(session: Session, detection_ids: Sequence[int]) -> None:
    session.execute(
        update(Detection).where(Detection.id.in_(list(detection_ids))).values(alerted_at=utcnow())
    )
