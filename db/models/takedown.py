"""Evidence and takedowns (issue 23): evidence files, rights holders, notices, their items and events."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import (
    Base,
    Timestamped,
    _enum,
)


class EvidenceKind(enum.StrEnum):
    WARC = "warc"
    SCREENSHOT = "screenshot"


class EvidenceStatus(enum.StrEnum):
    CAPTURED = "captured"  # the file is stored and hashed
    GONE = "gone"  # the server answered 404/410: the listing is no longer there (the WARC proves it)
    TRUNCATED = "truncated"  # the body passed the size cap; the WARC keeps the first bytes and says so
    FAILED = "failed"  # nothing stored (yet): ``error`` says why, ``attempts`` how often it was tried


class EvidencePurpose(enum.StrEnum):
    DETECTION = "detection"  # captured when the hit was found
    RECHECK = "recheck"  # captured when the crawler re-checked a noticed listing


class Evidence(Timestamped, Base):
    """One evidence file of a listing (a WARC of the page's HTTP exchange, or a screenshot), stored by
    its SHA-256 under MEDIA_ROOT. A capture that failed is a row too, with its reason."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("listing_id", "capture_key", "kind", "purpose"),
        CheckConstraint("status = 'failed' OR sha256 IS NOT NULL", name="stored_evidence_has_hash"),
        CheckConstraint("attempts >= 0", name="evidence_attempts_not_negative"),
        Index("ix_evidence_detection_id", "detection_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    detection_id: Mapped[int | None] = mapped_column(ForeignKey("detections.id", ondelete="SET NULL"))
    # "run:<crawl_run_id>" (or "day:<date>" with no crawl run): evidence is taken once per listing and crawl.
    capture_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[EvidenceKind] = mapped_column(_enum(EvidenceKind, "evidence_kind"))
    purpose: Mapped[EvidencePurpose] = mapped_column(
        _enum(EvidencePurpose, "evidence_purpose"), default=EvidencePurpose.DETECTION
    )
    status: Mapped[EvidenceStatus] = mapped_column(
        _enum(EvidenceStatus, "evidence_status"), default=EvidenceStatus.FAILED
    )
    url: Mapped[str] = mapped_column(String(2000))
    sha256: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(String(1000))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    tool_version: Mapped[str | None] = mapped_column(String(200))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class RightsHolder(Timestamped, Base):
    """Who a brand's notices are sent for and by: the parts of a notice that identify and bind the sender."""

    __tablename__ = "rights_holders"

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), unique=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    postal_address: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    agent_name: Mapped[str | None] = mapped_column(String(300))  # authorised agent, when not the owner
    signature: Mapped[str] = mapped_column(String(300))  # the typed electronic signature line
    registrations: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["US Reg. VA 2-123-456"]
    # Where the brand publishes an original, e.g. "https://brand.example/p/{sku}"; None: described only.
    works_url_template: Mapped[str | None] = mapped_column(String(1000))


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    REMOVED = "removed"
    REFUSED = "refused"
    COUNTER_NOTICE = "counter_notice"
    NO_ANSWER = "no_answer"


class NoticeItemStatus(enum.StrEnum):
    PENDING = "pending"  # noticed, not yet seen gone
    REMOVED = "removed"  # the re-check found the listing (or the copied image) gone


class Notice(Timestamped, Base):
    """A takedown notice to one marketplace about one seller's listings, for one brand."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_marketplace_status", "marketplace_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplaces.id", ondelete="CASCADE"))
    seller: Mapped[str | None] = mapped_column(String(300))
    template: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    lumen: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the Lumen-shaped JSON
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the template's form fields
    status: Mapped[NoticeStatus] = mapped_column(
        _enum(NoticeStatus, "notice_status"), default=NoticeStatus.DRAFT
    )
    created_by: Mapped[str | None] = mapped_column(String(320))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    items: Mapped[list[NoticeItem]] = relationship(
        back_populates="notice", passive_deletes=True, order_by="NoticeItem.id"
    )


class NoticeItem(Base):
    """One infringing listing of a notice, beside the original it copies."""

    __tablename__ = "notice_items"
    __table_args__ = (
        UniqueConstraint("notice_id", "detection_id"),
        Index("ix_notice_items_listing", "listing_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    detection_id: Mapped[int | None] = mapped_column(ForeignKey("detections.id", ondelete="SET NULL"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    listing_url: Mapped[str] = mapped_column(String(2000))
    image_url: Mapped[str | None] = mapped_column(String(2000))
    original_id: Mapped[int | None] = mapped_column(ForeignKey("originals.id", ondelete="SET NULL"))
    original_description: Mapped[str] = mapped_column(Text)
    original_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[NoticeItemStatus] = mapped_column(
        _enum(NoticeItemStatus, "notice_item_status"), default=NoticeItemStatus.PENDING
    )
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removal_reason: Mapped[str | None] = mapped_column(String(300))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_error: Mapped[str | None] = mapped_column(Text)
    absence_evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id", ondelete="SET NULL"))

    notice: Mapped[Notice] = relationship(back_populates="items")


class NoticeEvent(Base):
    """A change of a notice's status: when, by whom (a user's e-mail, ``crawler`` or ``cli``), from what."""

    __tablename__ = "notice_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP"))
