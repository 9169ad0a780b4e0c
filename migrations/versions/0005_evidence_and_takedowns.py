"""evidence and takedowns

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-04

Evidence files of listings (WARC, screenshot), rights-holder profiles, takedown notices with their
items and status history, and the time-to-takedown reporting view.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _hours(start: str, end: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"
    return f"((julianday({end}) - julianday({start})) * 24.0)"


def _time_to_takedown_sql() -> str:
    """Per brand, marketplace and seller: listings noticed (in sent notices), removed, and the hours from
    the notice being sent to the removal being seen by the crawler."""
    hours = _hours("n.sent_at", "i.removed_at")
    return f"""
        SELECT n.brand_id AS brand_id, m.id AS marketplace_id, m.name AS marketplace, n.seller AS seller,
               COUNT(DISTINCT n.id) AS notices,
               COUNT(i.id) AS listings_noticed,
               SUM(CASE WHEN i.status = 'removed' THEN 1 ELSE 0 END) AS listings_removed,
               AVG(CASE WHEN i.status = 'removed' THEN {hours} END) AS avg_hours_to_takedown,
               MIN(CASE WHEN i.status = 'removed' THEN {hours} END) AS min_hours_to_takedown,
               MAX(CASE WHEN i.status = 'removed' THEN {hours} END) AS max_hours_to_takedown,
               MAX(n.sent_at) AS last_sent_at
        FROM notices n
        JOIN marketplaces m ON m.id = n.marketplace_id
        JOIN notice_items i ON i.notice_id = n.id
        WHERE n.sent_at IS NOT NULL
        GROUP BY n.brand_id, m.id, m.name, n.seller
    """


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("marketplace_id", sa.Integer(), nullable=False),
        sa.Column("seller", sa.String(length=300), nullable=True),
        sa.Column("template", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("lumen", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "sent",
                "removed",
                "refused",
                "counter_notice",
                "no_answer",
                name="notice_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_notices_brand_id_brands"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["marketplaces.id"],
            name=op.f("fk_notices_marketplace_id_marketplaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index("ix_notices_marketplace_status", ["marketplace_id", "status"], unique=False)

    op.create_table(
        "rights_holders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("legal_name", sa.String(length=300), nullable=False),
        sa.Column("postal_address", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("agent_name", sa.String(length=300), nullable=True),
        sa.Column("signature", sa.String(length=300), nullable=False),
        sa.Column("registrations", sa.JSON(), nullable=False),
        sa.Column("works_url_template", sa.String(length=1000), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_rights_holders_brand_id_brands"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_holders")),
        sa.UniqueConstraint("brand_id", name=op.f("uq_rights_holders_brand_id")),
    )
    op.create_table(
        "notice_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_events_notice_id_notices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_events")),
    )
    with op.batch_alter_table("notice_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_events_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("detection_id", sa.Integer(), nullable=True),
        sa.Column("capture_key", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "warc",
                "screenshot",
                name="evidence_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "purpose",
            sa.Enum(
                "detection",
                "recheck",
                name="evidence_purpose",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "captured",
                "gone",
                "truncated",
                "failed",
                name="evidence_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("tool_version", sa.String(length=200), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status = 'failed' OR sha256 IS NOT NULL", name=op.f("ck_evidence_stored_evidence_has_hash")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_evidence_evidence_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detections.id"],
            name=op.f("fk_evidence_detection_id_detections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_evidence_listing_id_listings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.UniqueConstraint(
            "listing_id",
            "capture_key",
            "kind",
            "purpose",
            name=op.f("uq_evidence_listing_id_capture_key_kind_purpose"),
        ),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_detection_id", ["detection_id"], unique=False)

    op.create_table(
        "notice_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("detection_id", sa.Integer(), nullable=True),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("listing_url", sa.String(length=2000), nullable=False),
        sa.Column("image_url", sa.String(length=2000), nullable=True),
        sa.Column("original_id", sa.Integer(), nullable=True),
        sa.Column("original_description", sa.Text(), nullable=False),
        sa.Column("original_url", sa.String(length=2000), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "removed",
                name="notice_item_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removal_reason", sa.String(length=300), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_error", sa.Text(), nullable=True),
        sa.Column("absence_evidence_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["absence_evidence_id"],
            ["evidence.id"],
            name=op.f("fk_notice_items_absence_evidence_id_evidence"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detections.id"],
            name=op.f("fk_notice_items_detection_id_detections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_notice_items_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_items_notice_id_notices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["originals.id"],
            name=op.f("fk_notice_items_original_id_originals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_items")),
        sa.UniqueConstraint("notice_id", "detection_id", name=op.f("uq_notice_items_notice_id_detection_id")),
    )
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.create_index("ix_notice_items_listing", ["listing_id"], unique=False)

    op.execute(f"CREATE VIEW report_time_to_takedown AS {_time_to_takedown_sql()}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS report_time_to_takedown")
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_items_listing")

    op.drop_table("notice_items")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_detection_id")

    op.drop_table("evidence")
    with op.batch_alter_table("notice_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_events_notice_id"))

    op.drop_table("notice_events")
    op.drop_table("rights_holders")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_marketplace_status")

    op.drop_table("notices")
