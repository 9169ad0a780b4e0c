"""SQLAlchemy 2.0 typed models for Copywatch's tables.

Constraints live on the models so Alembic autogenerate sees them; a test fails when the
migrations drift from this metadata. Enums are stored as strings with CHECK constraints so
the same schema works on PostgreSQL and SQLite.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP"), onupdate=func.now()
    )


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class ImageStatus(enum.StrEnum):
    QUEUED = "queued"
    SCORING = "scoring"
    SCORED = "scored"
    FAILED = "failed"


class DetectionStatus(enum.StrEnum):
    NEW = "new"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class DetectionKind(enum.StrEnum):
    STOLEN_IMAGE = "stolen_image"
    COUNTERFEIT_LOGO = "counterfeit_logo"


class CrawlStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Role(enum.StrEnum):
    REVIEWER = "reviewer"
    ADMIN = "admin"


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


class UserBrand(Base):
    """A brand a reviewer is granted: reviewers see and act on their granted brands only."""

    __tablename__ = "user_brands"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# --- evidence and takedowns (issue 23) -----------------------------------------------------------------


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
