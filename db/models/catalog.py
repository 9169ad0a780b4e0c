"""Brands and their originals (the images a brand owns)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import (
    Base,
    Timestamped,
)


class Brand(Timestamped, Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    alert_emails: Mapped[list[Any]] = mapped_column(default=list)

    originals: Mapped[list[Original]] = relationship(back_populates="brand", passive_deletes=True)


class Original(Timestamped, Base):
    __tablename__ = "originals"
    __table_args__ = (UniqueConstraint("brand_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(500))
    image_path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    logo_reference: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)

    brand: Mapped[Brand] = relationship(back_populates="originals")
