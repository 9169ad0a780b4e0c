"""Marketplaces, their crawl runs, and the listings and listing images a crawl stores."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import (
    Base,
    CrawlStatus,
    ImageStatus,
    Timestamped,
    _enum,
)


class Marketplace(Timestamped, Base):
    __tablename__ = "marketplaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    spider: Mapped[str] = mapped_column(String(100), default="product")
    start_urls: Mapped[list[Any]] = mapped_column(default=list)
    schedule: Mapped[str | None] = mapped_column(String(100))  # cron expression; None = manual only
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_marketplace_started", "marketplace_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplaces.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[CrawlStatus] = mapped_column(
        _enum(CrawlStatus, "crawl_status"), default=CrawlStatus.RUNNING
    )
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class Listing(Timestamped, Base):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
        Index("ix_listings_marketplace_seller", "marketplace_id", "seller"),
        # A listing is its marketplace's page: one marketplace's crawl never touches another's rows.
        UniqueConstraint("marketplace_id", "url"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplaces.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(String(1000))
    price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    seller: Mapped[str | None] = mapped_column(String(300))
    seller_id: Mapped[int | None] = mapped_column(
        ForeignKey("sellers.id", ondelete="SET NULL"), index=True, nullable=True
    )
    first_seen: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )
    last_seen: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )

    images: Mapped[list[ListingImage]] = relationship(back_populates="listing", passive_deletes=True)


class ListingImage(Timestamped, Base):
    """One image of a listing. A failed download is a row too (status failed, no sha256), so nothing is lost."""

    __tablename__ = "listing_images"
    __table_args__ = (
        UniqueConstraint("listing_id", "sha256"),
        UniqueConstraint("listing_id", "url"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("status = 'failed' OR sha256 IS NOT NULL", name="stored_image_has_hash"),
        Index("ix_listing_images_status", "status"),
        Index("ix_listing_images_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    sha256: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(String(1000))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[ImageStatus] = mapped_column(
        _enum(ImageStatus, "image_status"), default=ImageStatus.QUEUED
    )
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    listing: Mapped[Listing] = relationship(back_populates="images")
