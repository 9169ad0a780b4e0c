"""Users (reviewers and admins) and the brands a reviewer is granted."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    Role,
    Timestamped,
    _enum,
)


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"), default=Role.REVIEWER)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Stored in each session at login; logging out or changing the password raises it, which ends
    # every session signed with the old value (the cookie alone is not enough to stay logged in).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class UserBrand(Base):
    """A brand a reviewer is granted: reviewers see and act on their granted brands only."""

    __tablename__ = "user_brands"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True, index=True
    )
