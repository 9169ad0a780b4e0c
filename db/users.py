"""Review-page accounts: look-ups for login, the admin page and the command line, and the brands
each account is granted (``db.scoping`` applies them)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import Brand, Role, User, UserBrand


def list_users(session: Session) -> list[User]:
    """Every account, by email."""
    return list(session.execute(select(User).order_by(User.email)).scalars())


def find_user(session: Session, email: str) -> User | None:
    """The account with this (normalised) e-mail address, if any."""
    return session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def user_by_email(session: Session, email: str) -> User | None:
    """The account with this e-mail (compared case-insensitively), or None."""
    return session.execute(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).scalar_one_or_none()


def reset_account(session: Session, email: str, password_hash: str, role: Role) -> None:
    """Create the account with this password hash and role, or give an existing one the new
    password and activate it (its role is kept)."""
    user = find_user(session, email)
    if user is None:
        session.add(User(email=email, password_hash=password_hash, role=role, active=True))
    else:
        user.password_hash, user.active = password_hash, True
    session.flush()


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


def bump_session_version(session: Session, user_id: int) -> None:
    """Move the user's session version on, which ends every session made before (the caller commits)."""
    session.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1))
    session.expire_all()


def add_user(session: Session, user: User) -> int:
    """Store a new account and flush it; returns its id.

    Raises:
        IntegrityError: the e-mail already has an account.
    """
    session.add(user)
    session.flush()
    return user.id
