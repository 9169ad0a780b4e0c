"""reporting views

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The four reporting views of the design. They are plain SQL so any SQL client can use them;
only the day bucket differs between PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _day(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'UTC') AS DATE)"
    return f"DATE({column})"


def _views() -> dict[str, str]:
    return {
        "report_detections_per_marketplace_day": f"""
            SELECT m.id AS marketplace_id, m.name AS marketplace, {_day("d.created_at")} AS day,
                   COUNT(*) AS detections,
                   SUM(CASE WHEN d.status = 'confirmed' THEN 1 ELSE 0 END) AS confirmed,
                   SUM(CASE WHEN d.status = 'dismissed' THEN 1 ELSE 0 END) AS dismissed,
                   SUM(CASE WHEN d.status = 'new' THEN 1 ELSE 0 END) AS pending
            FROM detections d
            JOIN listing_images li ON li.id = d.listing_image_id
            JOIN listings l ON l.id = li.listing_id
            JOIN marketplaces m ON m.id = l.marketplace_id
            GROUP BY m.id, m.name, {_day("d.created_at")}
        """,
        "report_top_sellers": """
            SELECT m.name AS marketplace, l.seller AS seller,
                   COUNT(DISTINCT d.id) AS confirmed_hits,
                   COUNT(DISTINCT l.id) AS listings,
                   MAX(d.reviewed_at) AS last_confirmed_at
            FROM detections d
            JOIN listing_images li ON li.id = d.listing_image_id
            JOIN listings l ON l.id = li.listing_id
            JOIN marketplaces m ON m.id = l.marketplace_id
            WHERE d.status = 'confirmed'
            GROUP BY m.name, l.seller
        """,
        "report_brand_summary": """
            SELECT b.id AS brand_id, b.name AS brand,
                   (SELECT COUNT(*) FROM originals o2 WHERE o2.brand_id = b.id) AS originals,
                   COUNT(d.id) AS detections,
                   SUM(CASE WHEN d.status = 'new' THEN 1 ELSE 0 END) AS pending,
                   SUM(CASE WHEN d.status = 'confirmed' THEN 1 ELSE 0 END) AS confirmed,
                   SUM(CASE WHEN d.status = 'dismissed' THEN 1 ELSE 0 END) AS dismissed,
                   MAX(d.created_at) AS last_detection_at
            FROM brands b
            LEFT JOIN originals o ON o.brand_id = b.id
            LEFT JOIN detections d ON d.original_id = o.id
            GROUP BY b.id, b.name
        """,
        "report_crawl_health": """
            SELECT m.id AS marketplace_id, m.name AS marketplace, m.enabled AS enabled,
                   COUNT(r.id) AS runs,
                   SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END) AS failed_runs,
                   SUM(CASE WHEN r.status = 'running' THEN 1 ELSE 0 END) AS running_runs,
                   MAX(r.started_at) AS last_started_at,
                   MAX(r.finished_at) AS last_finished_at,
                   (SELECT r2.status FROM crawl_runs r2 WHERE r2.marketplace_id = m.id
                    ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1) AS last_status,
                   (SELECT COUNT(*) FROM listing_images li JOIN listings l ON l.id = li.listing_id
                    WHERE l.marketplace_id = m.id) AS images,
                   (SELECT COUNT(*) FROM listing_images li JOIN listings l ON l.id = li.listing_id
                    WHERE l.marketplace_id = m.id AND li.status = 'failed') AS failed_images
            FROM marketplaces m
            LEFT JOIN crawl_runs r ON r.marketplace_id = m.id
            GROUP BY m.id, m.name, m.enabled
        """,
    }


def upgrade() -> None:
    for name, sql in _views().items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(list(_views())):
        op.execute(f"DROP VIEW IF EXISTS {name}")
