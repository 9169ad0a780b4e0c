"""The review app's queries, each limited to what the user may see (:class:`db.scoping.BrandScope`).

The web layer (``review/``) holds no SQL: it asks these functions, which apply the brand scope in
the query itself, so a route cannot show or change another brand's rows by forgetting a check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from db.models import (
    Brand,
    Detection,
    Listing,
    ListingImage,
    Marketplace,
    Original,
    Seller,
    User,
)
from db.review_queue import QueueFilters, review_queue_query
from db.scoping import (
    BrandScope,
    listing_image_visible,
    original_visible,
    restrict_detections,
    visible_brands,
)

# --- the queue ------------------------------------------------------------------------------------------


def queue_page(
    session: Session,
    filters: QueueFilters,
    scope: BrandScope,
    *,
    limit: int = 50,
    after: tuple[float, int] | None = None,
) -> list[Detection]:
    """One page of the review queue within ``scope``, highest score first; ``after`` is the
    (score, id) of the previous page's last row (keyset pagination: page 2,000 costs what page 1 does)."""
    query = restrict_detections(review_queue_query(filters), scope)
    if after is not None:
        score, last_id = after
        query = query.where(
            or_(Detection.score < score, and_(Detection.score == score, Detection.id < last_id))
        )
    return list(session.execute(query.limit(limit)).scalars())


def _risk() -> Any:
    """The listing's seller's risk score, 0 for a listing without a seller."""
    return func.coalesce(Seller.risk_score, 0.0)


def queue_page_by_risk(
    session: Session,
    filters: QueueFilters,
    scope: BrandScope,
    *,
    limit: int = 50,
    after: tuple[float, float, int] | None = None,
) -> list[Detection]:
    """The review queue ordered by the seller's risk score (``db.risk``), then score, then id;
    ``after`` is the previous page's last (risk, score, id)."""
    query = (
        restrict_detections(review_queue_query(filters), scope)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .order_by(None)
        .order_by(_risk().desc(), Detection.score.desc(), Detection.id.desc())
    )
    if after is not None:
        risk, score, last_id = after
        query = query.where(
            or_(
                _risk() < risk,
                and_(_risk() == risk, Detection.score < score),
                and_(_risk() == risk, Detection.score == score, Detection.id < last_id),
            )
        )
    return list(session.execute(query.limit(limit)).scalars())


def risk_key(session: Session, detection: Detection) -> tuple[float, float, int]:
    """A detection's place in the risk-ordered queue: (seller risk, score, id)."""
    risk = session.execute(
        select(_risk())
        .select_from(ListingImage)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(ListingImage.id == detection.listing_image_id)
    ).scalar()
    return float(risk or 0.0), detection.score, detection.id


def queue_count(session: Session, filters: QueueFilters, scope: BrandScope, cap: int) -> int:
    """How many detections match ``filters`` within ``scope``, counted up to ``cap + 1``.

    The conditions of ``review_queue_query``, joining the listing and the original only when a
    filter or the scope needs them, so an admin's plain status count is an index-only scan.
    """
    query = select(Detection.id)
    if filters.marketplace_id is not None:
        query = (
            query.join(ListingImage, ListingImage.id == Detection.listing_image_id)
            .join(Listing, Listing.id == ListingImage.listing_id)
            .where(Listing.marketplace_id == filters.marketplace_id)
        )
    if filters.brand_id is not None:
        query = query.join(Original, Original.id == Detection.original_id).where(
            Original.brand_id == filters.brand_id
        )
    if filters.status is not None:
        query = query.where(Detection.status == filters.status)
    if filters.min_score is not None:
        query = query.where(Detection.score >= filters.min_score)
    if filters.max_score is not None:
        query = query.where(Detection.score <= filters.max_score)
    if filters.since is not None:
        query = query.where(Detection.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(Detection.created_at < filters.until)
    if filters.kind is not None:
        query = query.where(Detection.kind == filters.kind)
    if filters.label is not None:
        query = query.where(Detection.label == filters.label)
    query = restrict_detections(query, scope)
    return int(
        session.execute(select(func.count()).select_from(query.limit(cap + 1).subquery())).scalar_one()
    )


@dataclass
class QueueRow:
    id: int
    score: float
    status: str
    kind: str
    created_at: datetime | None
    listing_image_id: int
    original_id: int | None
    listing_title: str | None
    listing_url: str
    price: Any
    currency: str | None
    seller: str | None
    marketplace: str
    brand: str | None
    sku: str | None
    logo_verdict: str | None
    seller_id: int | None = None
    seller_risk: float | None = None
    label: str = "copy"

    @property
    def percent(self) -> float:
        return round(self.score * 100, 1)


def queue_rows(session: Session, detections: Sequence[Detection]) -> list[QueueRow]:
    """The page's detections with their listing, marketplace, original, brand and seller, in one query."""
    if not detections:
        return []
    ids = [d.id for d in detections]
    rows = session.execute(
        select(
            Detection.id,
            ListingImage.id,
            Listing.title,
            Listing.url,
            Listing.price,
            Listing.currency,
            Listing.seller,
            Marketplace.name,
            Brand.name,
            Original.sku,
            Seller.id,
            Seller.risk_score,
        )
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Original, Original.id == Detection.original_id)
        .outerjoin(Brand, Brand.id == Original.brand_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(Detection.id.in_(ids))
    ).all()
    extra = {r[0]: r[1:] for r in rows}
    out = []
    for d in detections:
        image_id, title, url, price, currency, seller, marketplace, brand, sku, seller_id, risk = extra[d.id]
        out.append(
            QueueRow(
                id=d.id,
                score=d.score,
                status=d.status.value,
                kind=d.kind.value,
                created_at=d.created_at,
                listing_image_id=image_id,
                original_id=d.original_id,
                listing_title=title,
                listing_url=url,
                price=price,
                currency=currency,
                seller=seller,
                marketplace=marketplace,
                brand=brand,
                sku=sku,
                logo_verdict=(d.logo_verdict or {}).get("verdict"),
                seller_id=seller_id,
                seller_risk=float(risk) if risk is not None else None,
                label=d.label,
            )
        )
    return out


def filter_choices(session: Session, scope: BrandScope) -> dict[str, list[tuple[int, str]]]:
    """The queue's brand (granted ones only) and marketplace choices."""
    return {
        "brands": visible_brands(session, scope),
        "marketplaces": [
            (int(i), str(n))
            for i, n in session.execute(select(Marketplace.id, Marketplace.name).order_by(Marketplace.name))
        ],
    }


# --- one detection ------------------------------------------------------------------------------------


def visible_detection(session: Session, scope: BrandScope, detection_id: int) -> Detection | None:
    """The detection, or None when it does not exist or lies outside ``scope`` (the same answer, so
    another brand's ids reveal nothing)."""
    query = restrict_detections(select(Detection).where(Detection.id == detection_id), scope)
    return session.execute(query).scalar_one_or_none()


def visible_detections(session: Session, scope: BrandScope, ids: Sequence[int]) -> list[Detection]:
    if not ids:
        return []
    query = restrict_detections(select(Detection).where(Detection.id.in_(list(ids))), scope)
    return list(session.execute(query.order_by(Detection.id)).scalars())


@dataclass
class DetectionContext:
    marketplace: Marketplace | None
    brand: Brand | None
    reviewer: User | None
    seller: Seller | None


def detection_context(session: Session, detection: Detection) -> DetectionContext:
    listing = detection.listing_image.listing
    original = detection.original
    return DetectionContext(
        marketplace=session.get(Marketplace, listing.marketplace_id),
        brand=session.get(Brand, original.brand_id) if original is not None else None,
        reviewer=session.get(User, detection.reviewer_id) if detection.reviewer_id else None,
        seller=session.get(Seller, listing.seller_id) if listing.seller_id else None,
    )


# --- media and search -------------------------------------------------------------------------------


def listing_image_path(session: Session, scope: BrandScope, image_id: int) -> str | None:
    """The stored path of a listing image the scope may see (None: missing or not visible)."""
    if not listing_image_visible(session, scope, image_id):
        return None
    return session.execute(select(ListingImage.path).where(ListingImage.id == image_id)).scalar()


def original_image_path(session: Session, scope: BrandScope, original_id: int) -> str | None:
    if not original_visible(session, scope, original_id):
        return None
    return session.execute(select(Original.image_path).where(Original.id == original_id)).scalar()


def originals_with_brand(
    session: Session, scope: BrandScope, ids: Sequence[int]
) -> dict[int, tuple[Original, str]]:
    """Originals by id with their brand's name, only those of the scope's brands."""
    if not ids:
        return {}
    query = (
        select(Original, Brand.name)
        .join(Brand, Brand.id == Original.brand_id)
        .where(Original.id.in_(list(ids)))
    )
    if not scope.unrestricted:
        query = query.where(Original.brand_id.in_(scope.ids()))
    return {row.id: (row, str(brand)) for row, brand in session.execute(query)}


def visible_original_ids(session: Session, scope: BrandScope) -> set[int] | None:
    """Ids of the originals the scope may see; None for all (an admin)."""
    if scope.unrestricted:
        return None
    return {
        int(i)
        for i in session.execute(select(Original.id).where(Original.brand_id.in_(scope.ids()))).scalars()
    }
