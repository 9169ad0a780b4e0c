"""Brands and their originals (the catalog's rows): registration, logo references, look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.common import session_insert
from db.models import Brand, Original


def upsert_brand(session: Session, name: str, alert_emails: Sequence[str] | None = None) -> int:
    """Create the brand or update its alert addresses; returns its id."""
    values: dict[str, Any] = {"name": name, "alert_emails": list(alert_emails or [])}
    stmt = session_insert(session, Brand).values(**values)
    update_cols = {"updated_at": func.now()}
    if alert_emails is not None:
        update_cols["alert_emails"] = stmt.excluded.alert_emails
    stmt = stmt.on_conflict_do_update(index_elements=["name"], set_=update_cols).returning(Brand.id)
    return int(session.execute(stmt).scalar_one())


def get_brand(session: Session, brand_id: int) -> Brand | None:
    """The brand with id ``brand_id``, or None."""
    return session.get(Brand, brand_id)


def brand_id_by_name(session: Session, name: str) -> int | None:
    """The id of the brand named ``name``, or None."""
    found = session.execute(select(Brand.id).where(Brand.name == name)).scalar_one_or_none()
    return None if found is None else int(found)


def brands_by_name(session: Session) -> list[Brand]:
    """Every brand, ordered by name."""
    return list(session.execute(select(Brand).order_by(Brand.name)).scalars())


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
        session_insert(session, Original)
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


@dataclass(frozen=True)
class OriginalFile:
    """Where an original's image is stored, and its size when recorded."""

    path: str
    width: int | None
    height: int | None


@dataclass(frozen=True)
class MatchedOriginal:
    """What scoring a listing needs of an original it matched: its file (copy or variant) and its
    logo reference (the logo check; None when it has none)."""

    file: OriginalFile
    logo_reference: dict[str, Any] | None


def matched_originals(session: Session, original_ids: Sequence[int]) -> dict[int, MatchedOriginal]:
    """Original id → its file and logo reference, for the given originals (missing ids left out),
    in one query."""
    rows = session.execute(
        select(
            Original.id, Original.image_path, Original.width, Original.height, Original.logo_reference
        ).where(Original.id.in_(list(original_ids)))
    ).all()
    return {int(i): MatchedOriginal(OriginalFile(str(path), w, h), ref) for i, path, w, h, ref in rows}


def original_image_paths(session: Session) -> list[tuple[int, str]]:
    """(id, stored image path) of every original, by id."""
    rows = session.execute(select(Original.id, Original.image_path).order_by(Original.id)).all()
    return [(int(i), str(path)) for i, path in rows]


def original_image_path(session: Session, original_id: int) -> str | None:
    """The stored image path of one original, or None when there is no such original."""
    original = session.get(Original, original_id)
    return None if original is None else original.image_path


@dataclass(frozen=True)
class OriginalSummary:
    """One line of ``copywatch catalog list``."""

    id: int
    brand: str
    sku: str | None
    path: str
    has_logo: bool


def list_originals(session: Session) -> list[OriginalSummary]:
    """Every original with its brand's name, by id."""
    rows = session.execute(
        select(Original.id, Brand.name, Original.sku, Original.image_path, Original.logo_reference)
        .join(Brand, Brand.id == Original.brand_id)
        .order_by(Original.id)
    ).all()
    return [OriginalSummary(int(r[0]), r[1], r[2], r[3], bool(r[4])) for r in rows]
