"""Review-page accounts as the command line manages them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Role, User


def list_users(session: Session) -> list[User]:
    """Every account, by email."""
    return list(session.execute(select(User).order_by(User.email)).scalars())


def find_user(session: Session, email: str) -> User | None:
    """The account with this (normalised) e-mail address, if any."""
    return session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def reset_account(session: Session, email: str, password_hash: str, role: Role) -> None:
    """Create the account with this password hash and role, or give an existing one the new
    password and activate it (its role is kept)."""
    user = find_user(session, email)
    if user is None:
        session.add(User(email=email, password_hash=password_hash, role=role, active=True))
    else:
        user.password_hash, user.active = password_hash, True
    session.flush()
