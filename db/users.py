"""Reviewer accounts: look-ups for login and the admin page, and the brands each may see."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Brand, User, UserBrand


def user_by_email(session: Session, email: str) -> User | None:
    """The account with this e-mail (compared case-insensitively), or None."""
    return session.execute(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).scalar_one_or_none()


def list_users(session: Session) -> list[User]:
    """Every account, by email."""
    return list(session.execute(select(User).order_by(User.email)).scalars())


def brand_ids_by_name(session: Session, names: list[str]) -> list[int]:
    """The ids of brands named ``names``.

    Raises:
        ValueError: naming the brands that do not exist.
    """
    found = dict(session.execute(select(Brand.name, Brand.id).where(Brand.name.in_(names))).all())
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"no brand named {', '.join(repr(m) for m in missing)}")
    return [int(found[n]) for n in names]


def granted_brand_names(session: Session) -> dict[int, list[str]]:
    """Per user id, the names of the brands granted to them."""
    granted: dict[int, list[str]] = {}
    for user_id, name in session.execute(
        select(UserBrand.user_id, Brand.name).join(Brand, Brand.id == UserBrand.brand_id).order_by(Brand.name)
    ):
        granted.setdefault(int(user_id), []).append(str(name))
    return granted
