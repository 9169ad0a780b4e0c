"""Repository functions the crawler, workers and review page call.

Every write is an idempotent upsert keyed on a natural unique constraint, so a redelivered
message or a re-crawl changes nothing twice. On PostgreSQL the queue claim uses
``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent workers never claim the same image.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import (
    Brand,
    CrawlRun,
    CrawlStatus,
    Detection,
    DetectionKind,
    DetectionStatus,
    ImageStatus,
    Listing,
    ListingImage,
    Marketplace,
    Original,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update``/``do_nothing`` on both backends."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")


# --- brands, originals, marketplaces -------------------------------------------------------------


def upsert_brand(session: Session, name: str, alert_emails: Sequence[str] | None = None) -> int:
    """Create the brand or update its alert addresses; returns its id."""
    values: dict[str, Any] = {"name": name, "alert_emails": list(alert_emails or [])}
    stmt = _insert(session, Brand).values(**values)
    update_cols = {"updated_at": func.now()}
    if alert_emails is not None:
        update_cols["alert_emails"] = stmt.excluded.alert_emails
    stmt = stmt.on_conflict_do_update(index_elements=["name"], set_=update_cols).returning(Brand.id)
    return int(session.execute(stmt).scalar_one())


def add_original(
    session: Session,
    brand_id: int,
    *,
    image_path: str,
    sha256: str,
    sku: str | None = None,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> tuple[int, bool]:
    """Register an original image; the same bytes twice for one brand give the same row.

    Returns:
        (original id, whether it was created now).
    """
    stmt = (
        _insert(session, Original)
        .values(
            brand_id=brand_id,
            image_path=image_path,
            sha256=sha256,
            sku=sku,
            title=title,
            width=width,
            height=height,
        )
        .on_conflict_do_nothing(index_elements=["brand_id", "sha256"])
        .returning(Original.id)
    )
    new_id = session.execute(stmt).scalar_one_or_none()
    if new_id is not None:
        return int(new_id), True
    existing = session.execute(
        select(Original.id).where(Original.brand_id == brand_id, Original.sha256 == sha256)
    ).scalar_one()
    return int(existing), False


def set_logo_reference(session: Session, original_id: int, reference: dict[str, Any] | None) -> None:
    session.execute(update(Original).where(Original.id == original_id).values(logo_reference=reference))


def upsert_marketplace(
    session: Session,
    name: str,
    start_urls: Sequence[str],
    *,
    spider: str = "product",
    schedule: str | None = None,
    enabled: bool = True,
    settings: dict[str, Any] | None = None,
) -> int:
    stmt = _insert(session, Marketplace).values(
        name=name,
        start_urls=list(start_urls),
        spider=spider,
        schedule=schedule,
        enabled=enabled,
        settings=dict(settings or {}),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "start_urls": stmt.excluded.start_urls,
            "spider": stmt.excluded.spider,
            "schedule": stmt.excluded.schedule,
            "enabled": stmt.excluded.enabled,
            "settings": stmt.excluded.settings,
            "updated_at": func.now(),
        },
    ).returning(Marketplace.id)
    return int(session.execute(stmt).scalar_one())


# --- crawl runs ------------------------------------------------------------------------------------


def start_crawl_run(session: Session, marketplace_id: int) -> int:
    run = CrawlRun(marketplace_id=marketplace_id, status=CrawlStatus.RUNNING, stats={}, started_at=utcnow())
    session.add(run)
    session.flush()
    return run.id


def finish_crawl_run(
    session: Session, run_id: int, *, stats: dict[str, Any], error: str | None = None
) -> None:
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id)
        .values(
            finished_at=utcnow(),
            status=CrawlStatus.FAILED if error else CrawlStatus.FINISHED,
            stats=stats,
            error=error,
        )
    )


def crawl_running(session: Session, marketplace_id: int) -> bool:
    return (
        session.execute(
            select(CrawlRun.id).where(
                CrawlRun.marketplace_id == marketplace_id, CrawlRun.status == CrawlStatus.RUNNING
            )
        ).first()
        is not None
    )


# --- listings and their images ---------------------------------------------------------------------
#
# The crawler calls these for every listing and image, so their statements are built once per
# dialect (Core, on the tables, with bind parameters) and executed with a dict of values: building
# and compiling an ``INSERT … ON CONFLICT`` anew on every call cost more than the write itself.

_LISTINGS = Listing.__table__
_IMAGES = ListingImage.__table__
_statements: dict[tuple[str, str], Any] = {}
_statements_lock = threading.Lock()


def _dialect_insert(dialect: str, table: Any) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")


def _build_upsert_listing(dialect: str) -> Any:
    stmt = _dialect_insert(dialect, _LISTINGS)
    excluded, table = stmt.excluded, _LISTINGS.c
    return stmt.on_conflict_do_update(
        index_elements=["marketplace_id", "url"],
        set_={
            "title": func.coalesce(excluded.title, table.title),
            "price": func.coalesce(excluded.price, table.price),
            "currency": func.coalesce(excluded.currency, table.currency),
            "seller": func.coalesce(excluded.seller, table.seller),
            "last_seen": excluded.last_seen,
            "updated_at": func.now(),
        },
    ).returning(table.id)


def _build_images_of_listing(dialect: str) -> Any:
    table = _IMAGES.c
    return (
        select(table.id, table.url, table.sha256, table.status)
        .where(
            table.listing_id == bindparam("listing_id"),
            or_(table.sha256 == bindparam("sha256"), table.url == bindparam("url")),
        )
        .order_by(table.id)
        .with_for_update()
    )


def _build_image_of_listing(dialect: str) -> Any:
    table = _IMAGES.c
    return select(table.id).where(
        table.listing_id == bindparam("listing_id"),
        or_(table.sha256 == bindparam("sha256"), table.url == bindparam("url")),
    )


def _build_insert_image(dialect: str) -> Any:
    return _dialect_insert(dialect, _IMAGES).on_conflict_do_nothing().returning(_IMAGES.c.id)


def _build_record_failure(dialect: str) -> Any:
    stmt = _dialect_insert(dialect, _IMAGES)
    table = _IMAGES.c
    return stmt.on_conflict_do_update(
        index_elements=["listing_id", "url"],
        set_={
            "error": stmt.excluded.error,
            "attempts": table.attempts + 1,
            "updated_at": func.now(),
        },
        where=table.status == ImageStatus.FAILED,
    ).returning(table.id)


def _build_image_by_url(dialect: str) -> Any:
    table = _IMAGES.c
    return select(table.id).where(table.listing_id == bindparam("listing_id"), table.url == bindparam("url"))


_BUILDERS = {
    "upsert_listing": _build_upsert_listing,
    "images_of_listing": _build_images_of_listing,
    "image_of_listing": _build_image_of_listing,
    "insert_image": _build_insert_image,
    "record_failure": _build_record_failure,
    "image_by_url": _build_image_by_url,
}


def _run(session: Session, name: str, params: dict[str, Any]) -> Any:
    """Execute the cached statement ``name`` of the session's dialect with ``params``.

    Runs on the session's connection (inside its transaction), after flushing pending ORM
    changes as the ORM's own autoflush would.
    """
    if session.autoflush:
        session.flush()
    connection = session.connection()
    key = (connection.dialect.name, name)
    stmt = _statements.get(key)
    if stmt is None:
        with _statements_lock:
            stmt = _statements.get(key)
            if stmt is None:
                stmt = _statements[key] = _BUILDERS[name](key[0])
    return connection.execute(stmt, params)


def upsert_listing(
    session: Session,
    *,
    marketplace_id: int,
    url: str,
    title: str | None = None,
    price: Decimal | float | None = None,
    currency: str | None = None,
    seller: str | None = None,
    seen_at: datetime | None = None,
) -> int:
    """Insert a listing or refresh it (title, price, seller, ``last_seen``); returns its id."""
    seen_at = seen_at or utcnow()
    params = {
        "marketplace_id": marketplace_id,
        "url": url,
        "title": title,
        "price": Decimal(str(price)) if price is not None else None,
        "currency": currency,
        "seller": seller,
        "first_seen": seen_at,
        "last_seen": seen_at,
    }
    return int(_run(session, "upsert_listing", params).scalar_one())


def upsert_listing_image(
    session: Session,
    *,
    listing_id: int,
    url: str,
    sha256: str,
    path: str,
    width: int | None = None,
    height: int | None = None,
) -> tuple[int, bool]:
    """Record a stored image of a listing.

    The same bytes under another URL of the same listing, or the same URL again, give the
    existing row. A row that had failed to download is revived as queued.

    Returns:
        (listing image id, whether it is new and must be queued for scoring).
    """
    key = {"listing_id": listing_id, "sha256": sha256, "url": url}
    rows = _run(session, "images_of_listing", key).all()
    for row in rows:
        if row.sha256 == sha256:
            return int(row.id), False
    for row in rows:
        if row.url == url and row.status == ImageStatus.FAILED and row.sha256 is None:
            image = session.get(ListingImage, row.id)
            assert image is not None  # locked above
            image.sha256, image.path, image.width, image.height = sha256, path, width, height
            image.status, image.error, image.attempts = ImageStatus.QUEUED, None, 0
            session.flush()
            return image.id, True
    params = {
        "listing_id": listing_id,
        "url": url,
        "sha256": sha256,
        "path": path,
        "width": width,
        "height": height,
        "status": ImageStatus.QUEUED,
        "attempts": 0,
    }
    new_id = _run(session, "insert_image", params).scalar_one_or_none()
    if new_id is not None:
        return int(new_id), True
    # A concurrent writer inserted the same image first.
    return int(_run(session, "image_of_listing", key).scalar_one()), False


def record_download_failure(session: Session, *, listing_id: int, url: str, error: str) -> int:
    """Record an image that could not be fetched or was refused (404, corrupt, too big…)."""
    params = {
        "listing_id": listing_id,
        "url": url,
        "status": ImageStatus.FAILED,
        "error": error,
        "attempts": 1,
    }
    row_id = _run(session, "record_failure", params).scalar_one_or_none()
    if row_id is None:  # the URL had been stored fine before; keep that.
        row_id = _run(session, "image_by_url", {"listing_id": listing_id, "url": url}).scalar_one()
    return int(row_id)


# --- the scoring queue --------------------------------------------------------------------------------


def claim_queued_images(session: Session, limit: int = 1, ids: Sequence[int] | None = None) -> list[int]:
    """Move up to ``limit`` queued images to ``scoring``, counting an attempt; returns their ids.

    Concurrency-safe: on PostgreSQL rows locked by another claimer are skipped.
    """
    query = select(ListingImage.id).where(ListingImage.status == ImageStatus.QUEUED)
    if ids is not None:
        query = query.where(ListingImage.id.in_(list(ids)))
    query = query.order_by(ListingImage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = [int(i) for i in session.execute(query).scalars()]
    if claimed:
        session.execute(
            update(ListingImage)
            .where(ListingImage.id.in_(claimed), ListingImage.status == ImageStatus.QUEUED)
            .values(status=ImageStatus.SCORING, attempts=ListingImage.attempts + 1, updated_at=func.now())
        )
    return claimed


def mark_scored(session: Session, listing_image_id: int) -> None:
    session.execute(
        update(ListingImage)
        .where(ListingImage.id == listing_image_id)
        .values(status=ImageStatus.SCORED, error=None, scored_at=utcnow())
    )


def record_scoring_failure(
    session: Session, listing_image_id: int, error: str, *, permanent: bool, max_attempts: int
) -> ImageStatus:
    """Record why scoring failed. A permanent error, or the last allowed attempt, ends as ``failed``;
    otherwise the image goes back to ``queued`` for a retry. Returns the new status."""
    image = session.get(ListingImage, listing_image_id, with_for_update=True)
    if image is None:
        raise LookupError(f"listing image {listing_image_id} does not exist")
    exhausted = image.attempts >= max_attempts
    image.status = ImageStatus.FAILED if permanent or exhausted else ImageStatus.QUEUED
    image.error = (
        error if not exhausted or permanent else f"{error} (gave up after {image.attempts} attempts)"
    )
    session.flush()
    return image.status


# --- detections ----------------------------------------------------------------------------------------


def upsert_detection(
    session: Session,
    *,
    listing_image_id: int,
    original_id: int | None,
    score: float,
    components: dict[str, Any] | None = None,
    region_query: list[Any] | None = None,
    region_original: list[Any] | None = None,
    logo_verdict: dict[str, Any] | None = None,
    kind: DetectionKind = DetectionKind.STOLEN_IMAGE,
) -> tuple[int, bool]:
    """Write a detection, or refresh the evidence of an existing one without touching its review.

    Returns:
        (detection id, whether it was created now).
    """
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"score must be in [0, 1], got {score}")
    values = {
        "listing_image_id": listing_image_id,
        "original_id": original_id,
        "kind": kind,
        "score": float(score),
        "components": components or {},
        "region_query": region_query,
        "region_original": region_original,
        "logo_verdict": logo_verdict,
        "status": DetectionStatus.NEW,
    }
    existing = session.execute(
        select(Detection.id).where(
            Detection.listing_image_id == listing_image_id,
            Detection.original_id.is_(None) if original_id is None else Detection.original_id == original_id,
        )
    ).scalar_one_or_none()
    if existing is None:
        stmt = _insert(session, Detection).values(**values)
        if original_id is None:
            stmt = stmt.on_conflict_do_nothing(
                index_elements=["listing_image_id"], index_where=Detection.original_id.is_(None)
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["listing_image_id", "original_id"])
        new_id = session.execute(stmt.returning(Detection.id)).scalar_one_or_none()
        if new_id is not None:
            return int(new_id), True
        return upsert_detection(
            session,
            listing_image_id=listing_image_id,
            original_id=original_id,
            score=score,
            components=components,
            region_query=region_query,
            region_original=region_original,
            logo_verdict=logo_verdict,
            kind=kind,
        )
    evidence = {k: v for k, v in values.items() if k not in {"status", "listing_image_id", "original_id"}}
    session.execute(update(Detection).where(Detection.id == existing).values(**evidence))
    return int(existing), False


def review_detection(
    session: Session,
    detection_id: int,
    status: DetectionStatus,
    *,
    reviewer_id: int | None,
    note: str | None = None,
) -> None:
    """Confirm, dismiss, or (with ``NEW``) reopen a detection, recording who and when."""
    detection = session.get(Detection, detection_id, with_for_update=True)
    if detection is None:
        raise LookupError(f"detection {detection_id} does not exist")
    detection.status = DetectionStatus(status)
    reopened = detection.status == DetectionStatus.NEW
    detection.reviewer_id = None if reopened else reviewer_id
    detection.reviewed_at = None if reopened else utcnow()
    if note is not None:
        detection.note = note
    session.flush()


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


def review_queue_query(filters: QueueFilters) -> Select[tuple[Detection]]:
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


def alert_candidates(session: Session, threshold: float, limit: int = 1000) -> list[Detection]:
    """New, not yet alerted detections at or above ``threshold``."""
    query = (
        select(Detection)
        .where(
            Detection.alerted_at.is_(None),
            Detection.status == DetectionStatus.NEW,
            Detection.score >= threshold,
        )
        .order_by(Detection.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())
