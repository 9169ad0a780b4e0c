"""Listings and their images, as the crawler records them."""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from db.common import dialect_insert, utcnow
from db.models import ImageStatus, Listing, ListingImage

# The crawler calls these for every listing and image, so their statements are built once per
# dialect (Core, on the tables, with bind parameters) and executed with a dict of values: building
# and compiling an ``INSERT … ON CONFLICT`` anew on every call cost more than the write itself.

_LISTINGS = Listing.__table__
_IMAGES = ListingImage.__table__
_statements: dict[tuple[str, str], Any] = {}
_statements_lock = threading.Lock()


def _build_upsert_listing(dialect: str) -> Any:
    stmt = dialect_insert(dialect, _LISTINGS)
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
    return dialect_insert(dialect, _IMAGES).on_conflict_do_nothing().returning(_IMAGES.c.id)


def _build_record_failure(dialect: str) -> Any:
    stmt = dialect_insert(dialect, _IMAGES)
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


def image_status_counts(session: Session, marketplace_id: int) -> dict[str, int]:
    """How many of the marketplace's listing images are in each status."""
    rows = session.execute(
        select(ListingImage.status, func.count())
        .join(Listing, Listing.id == ListingImage.listing_id)
        .where(Listing.marketplace_id == marketplace_id)
        .group_by(ListingImage.status)
    ).all()
    return {str(getattr(status, "value", status)): int(n) for status, n in rows}


def queued_image_ids(session: Session, marketplace_id: int) -> list[int]:
    """The marketplace's listing images still ``queued``, by id."""
    return [
        int(i)
        for i in session.execute(
            select(ListingImage.id)
            .join(Listing, Listing.id == ListingImage.listing_id)
            .where(Listing.marketplace_id == marketplace_id, ListingImage.status == ImageStatus.QUEUED)
            .order_by(ListingImage.id)
        ).scalars()
    ]


def listing_urls(session: Session, marketplace_id: int) -> list[tuple[int, str]]:
    """(id, url) of the marketplace's listings."""
    rows = session.execute(
        select(Listing.id, Listing.url).where(Listing.marketplace_id == marketplace_id)
    ).all()
    return [(int(i), str(url)) for i, url in rows]


def image_statuses(session: Session, marketplace_id: int) -> list[ImageStatus]:
    """The status of each of the marketplace's listing images."""
    return list(
        session.execute(
            select(ListingImage.status)
            .join(Listing, Listing.id == ListingImage.listing_id)
            .where(Listing.marketplace_id == marketplace_id)
        ).scalars()
    )


def listing_ids_by_url(session: Session, marketplace_id: int, urls: Collection[str]) -> dict[str, int]:
    """Per URL among ``urls``, the id of the stored listing of ``marketplace_id`` at that URL."""
    rows = session.execute(
        select(Listing.url, Listing.id).where(
            Listing.marketplace_id == marketplace_id, Listing.url.in_(sorted(urls))
        )
    ).all()
    return {str(url): int(i) for url, i in rows}


def all_listings(session: Session) -> list[Listing]:
    """Every stored listing."""
    return list(session.execute(select(Listing)).scalars())
