"""SQLAlchemy 2.0 typed models for Copywatch's tables, one module per concern.

Constraints live on the models so Alembic autogenerate sees them; a test fails when the
migrations drift from this metadata. Enums are stored as strings with CHECK constraints so
the same schema works on PostgreSQL and SQLite.

Importing ``db.models`` imports every module below, so ``Base.metadata`` holds every table
(``migrations/env.py`` and the migration drift test rely on it); import the names from here.
"""

from db.models.base import (
    NAMING_CONVENTION,
    Base,
    CrawlStatus,
    DetectionKind,
    DetectionStatus,
    ImageStatus,
    Role,
    Timestamped,
)
from db.models.catalog import Brand, Original
from db.models.detections import REPORT_VIEWS, Detection
from db.models.marketplaces import CrawlRun, Listing, ListingImage, Marketplace
from db.models.sellers import ContactKind, Seller, SellerContact, SellerLink
from db.models.takedown import (
    Evidence,
    EvidenceKind,
    EvidencePurpose,
    EvidenceStatus,
    Notice,
    NoticeEvent,
    NoticeItem,
    NoticeItemStatus,
    NoticeStatus,
    RightsHolder,
)
from db.models.users import User, UserBrand

__all__ = [
    "NAMING_CONVENTION",
    "REPORT_VIEWS",
    "Base",
    "Brand",
    "ContactKind",
    "CrawlRun",
    "CrawlStatus",
    "Detection",
    "DetectionKind",
    "DetectionStatus",
    "Evidence",
    "EvidenceKind",
    "EvidencePurpose",
    "EvidenceStatus",
    "ImageStatus",
    "Listing",
    "ListingImage",
    "Marketplace",
    "Notice",
    "NoticeEvent",
    "NoticeItem",
    "NoticeItemStatus",
    "NoticeStatus",
    "Original",
    "RightsHolder",
    "Role",
    "Seller",
    "SellerContact",
    "SellerLink",
    "Timestamped",
    "User",
    "UserBrand",
]
