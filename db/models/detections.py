"""Detections (hits for review) and the names of the reporting views built over them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import (
    Base,
    DetectionKind,
    DetectionStatus,
    Timestamped,
    _enum,
)
from db.models.catalog import Original
from db.models.marketplaces import ListingImage
from db.models.users import User


class Detection(Timestamped, Base):
    """A hit for review: a listing image matched to an original, or a logo verdict on its own."""

    __tablename__ = "detections"
    __table_args__ = (
        UniqueConstraint("listing_image_id", "original_id"),
        # A logo-only hit has no original; keep it unique per image all the same.
        Index(
            "uq_detections_logo_only",
            "listing_image_id",
            unique=True,
            postgresql_where=text("original_id IS NULL"),
            sqlite_where=text("original_id IS NULL"),
        ),
        CheckConstraint("score >= 0 AND score <= 1", name="score_in_unit_range"),
        CheckConstraint("label IN ('copy', 'variant')", name="label_known"),
        CheckConstraint("(status = 'new') = (reviewed_at IS NULL)", name="reviewed_iff_not_new"),
        Index("ix_detections_queue", "status", "score", "id"),
        Index("ix_detections_created_at", "created_at"),
        Index("ix_detections_original_id", "original_id"),
        Index("ix_detections_alert_pending", "alerted_at", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_image_id: Mapped[int] = mapped_column(ForeignKey("listing_images.id", ondelete="CASCADE"))
    original_id: Mapped[int | None] = mapped_column(ForeignKey("originals.id", ondelete="CASCADE"))
    kind: Mapped[DetectionKind] = mapped_column(
        _enum(DetectionKind, "detection_kind"), default=DetectionKind.STOLEN_IMAGE
    )
    score: Mapped[float] = mapped_column(Float)
    components: Mapped[dict[str, Any]] = mapped_column(default=dict)
    region_query: Mapped[list[Any] | None] = mapped_column(nullable=True)
    region_original: Mapped[list[Any] | None] = mapped_column(nullable=True)
    logo_verdict: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    # "copy", or "variant": the listing shows the original with a local part drawn differently
    # (detection.matching.variant); ``variant_region`` then says where: {"original": [x0, y0,
    # x1, y1], "query": [x0, y0, x1, y1], "share": float} (docs/formats.md).
    label: Mapped[str] = mapped_column(String(16), default="copy", server_default="copy")
    variant_region: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    status: Mapped[DetectionStatus] = mapped_column(
        _enum(DetectionStatus, "detection_status"), default=DetectionStatus.NEW
    )
    note: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    listing_image: Mapped[ListingImage] = relationship()
    original: Mapped[Original | None] = relationship()
    reviewer: Mapped[User | None] = relationship()


REPORT_VIEWS = (
    "report_detections_per_marketplace_day",
    "report_top_sellers",
    "report_brand_summary",
    "report_crawl_health",
    "report_seller_hits",
    "report_top_networks",
    "report_repeat_offenders",
    "report_time_to_takedown",
)
