"""Sellers and their contact keys: the crawler's writes, and the reads of the review app and reports.

A seller is one account on one marketplace, named by its ``identity`` there (:func:`seller_identity`):
the marketplace's own seller id when a page or platform JSON gives one, else the display name
(whitespace collapsed, lower-cased), else the profile URL. Writes are idempotent upserts on
``(marketplace_id, identity)`` and ``(seller_id, kind, value)``, so a re-crawl changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import ContactKind, Listing, Seller, SellerContact

CONTACT_KINDS = {k.value for k in ContactKind}
MAX_CONTACTS_PER_PAGE = 50  # more than this on one page is a directory, not a seller's own contacts


def utcnow() -> datetime:
    return datetime.now(UTC)


def _clip(value: Any, length: int) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:length] or None


def seller_identity(external_id: str | None, name: str | None, profile_url: str | None) -> str | None:
    """What names a seller on its marketplace: ``id:…``, else ``name:…`` (lower-cased), else ``url:…``."""
    if external_id := _clip(external_id, 300):
        return f"id:{external_id}"
    if name := _clip(name, 300):
        return f"name:{name.lower()}"
    if profile_url := _clip(profile_url, 390):
        return f"url:{profile_url}"
    return None


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def upsert_seller(
    session: Session,
    marketplace_id: int,
    *,
    external_id: str | None = None,
    name: str | None = None,
    profile_url: str | None = None,
    seen_at: datetime | None = None,
) -> int | None:
    """The seller's id, created if new; fills in a missing name, id or profile URL and moves
    ``last_seen``. None when nothing names a seller."""
    if profile_url and not str(profile_url).lower().startswith(("http://", "https://")):
        profile_url = None  # a javascript: or data: "profile" from a page is never stored, never linked
    identity = seller_identity(external_id, name, profile_url)
    if identity is None:
        return None
    seen_at = seen_at or utcnow()
    values = {
        "marketplace_id": marketplace_id,
        "identity": identity,
        "external_id": _clip(external_id, 300),
        "name": _clip(name, 300),
        "profile_url": _clip(profile_url, 2000),
        "first_seen": seen_at,
        "last_seen": seen_at,
    }
    session.execute(_insert(session, Seller.__table__).values(**values).on_conflict_do_nothing())
    seller = session.execute(
        select(Seller).where(Seller.marketplace_id == marketplace_id, Seller.identity == identity)
    ).scalar_one()
    for field in ("external_id", "name", "profile_url"):
        if getattr(seller, field) is None and values[field] is not None:
            setattr(seller, field, values[field])
    if seller.last_seen is None or _aware(seller.last_seen) < seen_at:
        seller.last_seen = seen_at
    session.flush()
    return seller.id


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def add_contacts(
    session: Session, seller_id: int, contacts: Iterable[Mapping[str, Any]], source_url: str | None
) -> int:
    """Record contact keys (``{"kind", "value", "raw"}``) of a seller; returns how many were new.

    Unknown kinds and empty values are skipped; each key is kept once per seller (the first place
    it was found).
    """
    rows = []
    for contact in list(contacts)[:MAX_CONTACTS_PER_PAGE]:
        kind, value = str(contact.get("kind", "")), _clip(contact.get("value"), 500)
        if kind not in CONTACT_KINDS or not value:
            continue
        rows.append(
            {
                "seller_id": seller_id,
                "kind": kind,
                "value": value,
                "raw": _clip(contact.get("raw"), 500),
                "source_url": _clip(source_url, 2000),
                "first_seen": utcnow(),
            }
        )
    if not rows:
        return 0
    result = session.execute(_insert(session, SellerContact.__table__).values(rows).on_conflict_do_nothing())
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def link_listing_to_seller(
    session: Session,
    marketplace_id: int,
    listing_id: int,
    seller_info: Mapping[str, Any] | None,
    seller_name: str | None,
    contacts: Sequence[Mapping[str, Any]] | None = None,
    source_url: str | None = None,
) -> int | None:
    """Point the listing at its seller (created if new) and keep the contact keys its page showed.

    Returns the seller id, or None when the listing names no seller (it then keeps ``seller_id``
    NULL).
    """
    info = dict(seller_info or {})
    seller_id = upsert_seller(
        session,
        marketplace_id,
        external_id=info.get("external_id"),
        name=info.get("name") or seller_name,
        profile_url=info.get("profile_url"),
    )
    if seller_id is None:
        return None
    session.execute(update(Listing).where(Listing.id == listing_id).values(seller_id=seller_id))
    if contacts:
        add_contacts(session, seller_id, contacts, source_url)
    return seller_id


def record_seller_page(
    session: Session,
    marketplace_id: int,
    *,
    seller: Mapping[str, Any],
    page_url: str | None,
    name: str | None,
    contacts: Sequence[Mapping[str, Any]],
    error: str | None,
) -> int | None:
    """What a seller's profile page said: its contact keys, the page's name when the listing gave
    none, or the ``error`` that kept the page from being read (kept on the seller, cleared when a
    later visit succeeds)."""
    seller_id = upsert_seller(
        session,
        marketplace_id,
        external_id=seller.get("external_id"),
        name=seller.get("name") or name,
        profile_url=seller.get("profile_url") or page_url,
    )
    if seller_id is None:
        return None
    row = session.get(Seller, seller_id)
    assert row is not None
    row.profile_error = _clip(error, 2000) if error else None
    if name and row.name is None:
        row.name = _clip(name, 300)
    if contacts and not error:
        add_contacts(session, seller_id, contacts, page_url)
    session.flush()
    return seller_id


def contacts_of(session: Session, seller_ids: Sequence[int]) -> dict[int, list[SellerContact]]:
    """Contact keys per seller, ordered by kind and value."""
    found: dict[int, list[SellerContact]] = {i: [] for i in seller_ids}
    if not seller_ids:
        return found
    for contact in session.execute(
        select(SellerContact)
        .where(SellerContact.seller_id.in_(list(seller_ids)))
        .order_by(SellerContact.kind, SellerContact.value)
    ).scalars():
        found[contact.seller_id].append(contact)
    return found


def listing_counts(session: Session, seller_ids: Sequence[int]) -> dict[int, int]:
    if not seller_ids:
        return {}
    rows = session.execute(
        select(Listing.seller_id, func.count())
        .where(Listing.seller_id.in_(list(seller_ids)))
        .group_by(Listing.seller_id)
    ).all()
    return {cast(int, s): int(n) for s, n in rows}


def carry_over_listing_sellers(session: Session) -> int:
    """Create sellers from listings that name one by ``listings.seller`` but have no ``seller_id`` yet
    (rows written before sellers existed); returns how many listings were linked."""
    rows = session.execute(
        select(Listing.id, Listing.marketplace_id, Listing.seller).where(
            Listing.seller_id.is_(None), Listing.seller.is_not(None)
        )
    ).all()
    linked = 0
    for listing_id, marketplace_id, name in rows:
        if link_listing_to_seller(session, marketplace_id, listing_id, None, name) is not None:
            linked += 1
    return linked


def seller_risk_of_detections(session: Session, detection_ids: Sequence[int]) -> dict[int, float]:
    """Per detection, the risk score of its listing's seller (0 when the listing names none)."""
    from db.models import Detection, ListingImage

    if not detection_ids:
        return {}
    rows = session.execute(
        select(Detection.id, Seller.risk_score)
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(Detection.id.in_(list(detection_ids)))
    ).all()
    return {int(i): float(r or 0.0) for i, r in rows}
