"""Seller accounts, their contact keys and the links that tie sellers into networks."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    Timestamped,
    _enum,
)


class ContactKind(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    HANDLE = "handle"
    DOMAIN = "domain"


class Seller(Timestamped, Base):
    """A seller account (storefront) on one marketplace.

    ``identity`` is what names the account on its marketplace: the marketplace's own seller id when a
    page or platform JSON gives one, else the case-folded display name (see ``crawler.sellers``).
    ``network_id`` is the lowest seller id of its network (the transitive closure of ``seller_links``),
    recomputed by ``db.networks.recompute_networks``; a seller without links is its own network.
    """

    __tablename__ = "sellers"
    __table_args__ = (UniqueConstraint("marketplace_id", "identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplaces.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(400))
    external_id: Mapped[str | None] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(String(300))
    profile_url: Mapped[str | None] = mapped_column(String(2000))
    profile_error: Mapped[str | None] = mapped_column(Text)
    network_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # 0-100, from confirmed hits, live listings, recency and network size (db.risk; docs/sellers.md).
    risk_score: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    first_seen: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )
    last_seen: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )


class SellerContact(Base):
    """One normalised contact key of a seller (an e-mail, an E.164 phone, a handle, a domain)."""

    __tablename__ = "seller_contacts"
    __table_args__ = (
        UniqueConstraint("seller_id", "kind", "value"),
        Index("ix_seller_contacts_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind, "contact_kind"))
    value: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str | None] = mapped_column(String(500))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    first_seen: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )


class SellerLink(Base):
    """Two sellers tied by one piece of evidence: ``reason`` (shared_email, shared_phone,
    shared_handle, shared_domain, same_image, same_copy) and ``key`` (the shared value)."""

    __tablename__ = "seller_links"
    __table_args__ = (
        UniqueConstraint("seller_a", "seller_b", "reason", "key"),
        CheckConstraint("seller_a < seller_b", name="ordered_pair"),
        Index("ix_seller_links_seller_b", "seller_b"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_a: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    seller_b: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )
