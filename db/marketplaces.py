"""Marketplaces: registration and look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.common import session_insert
from db.models import Marketplace


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
    stmt = session_insert(session, Marketplace).values(
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


def get_marketplace(session: Session, marketplace_id: int) -> Marketplace | None:
    return session.get(Marketplace, marketplace_id)


def marketplace_id_by_name(session: Session, name: str) -> int | None:
    found = session.execute(select(Marketplace.id).where(Marketplace.name == name)).scalar_one_or_none()
    return None if found is None else int(found)


def list_marketplaces(session: Session) -> list[Marketplace]:
    """Every marketplace, by id."""
    return list(session.execute(select(Marketplace).order_by(Marketplace.id)).scalars())


def scheduled_marketplaces(session: Session) -> list[tuple[int, str, str]]:
    """(id, name, cron expression) of each enabled marketplace that has a schedule."""
    rows = session.execute(
        select(Marketplace.id, Marketplace.name, Marketplace.schedule).where(
            Marketplace.enabled.is_(True), Marketplace.schedule.is_not(None)
        )
    ).all()
    return [(int(i), str(name), str(schedule)) for i, name, schedule in rows]


def delete_marketplace(session: Session, name: str) -> None:
    """Delete the marketplace and (by cascade) its listings, images, detections and crawl runs."""
    session.execute(delete(Marketplace).where(Marketplace.name == name))


def set_marketplace_setting(session: Session, marketplace_id: int, key: str, value: Any) -> None:
    """Set one key of a marketplace's ``settings`` (e.g. ``region`` for phone numbers), keeping the rest."""
    marketplace = session.get(Marketplace, marketplace_id)
    if marketplace is None:
        raise LookupError(f"no marketplace #{marketplace_id}")
    marketplace.settings = {**(marketplace.settings or {}), key: value}
    session.flush()
