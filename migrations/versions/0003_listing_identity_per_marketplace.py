"""listings unique per marketplace; the crawl health report shows the last run's error

Revision ID: 0003
Revises: 0006
Create Date: 2026-12-04

A listing is identified by (marketplace, URL), no longer by its URL alone: a hostile shop that
names another marketplace's URL can no longer overwrite that marketplace's listing.
``report_crawl_health`` gains ``last_error``: why the last run failed (e.g. "218 pages, no
product pages recognised"), shown on the Reports page.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0006"  # re-chained at merge: 0004 and 0006 landed first
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _swap(old: str, new: str, columns: list[str]) -> None:
    """Replace the unique constraint ``old`` with ``new``. SQLite rebuilds the table, which its
    views would block, so they are set aside and recreated as they were."""
    bind = op.get_bind()
    views: list[tuple[str, str]] = []
    if bind.dialect.name == "sqlite":
        views = [
            tuple(r) for r in bind.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))
        ]
        for name, _ in views:
            op.execute(f'DROP VIEW "{name}"')
    with op.batch_alter_table("listings") as batch:
        batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint(new, columns)
    for _, sql in views:
        op.execute(sql)


_CRAWL_HEALTH = """
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
            WHERE l.marketplace_id = m.id AND li.status = 'failed') AS failed_images{extra}
    FROM marketplaces m
    LEFT JOIN crawl_runs r ON r.marketplace_id = m.id
    GROUP BY m.id, m.name, m.enabled
"""
_LAST_ERROR = """,
           (SELECT r3.error FROM crawl_runs r3 WHERE r3.marketplace_id = m.id
            ORDER BY r3.started_at DESC, r3.id DESC LIMIT 1) AS last_error"""


def _crawl_health(with_error: bool) -> None:
    op.execute("DROP VIEW IF EXISTS report_crawl_health")
    op.execute(
        "CREATE VIEW report_crawl_health AS " + _CRAWL_HEALTH.format(extra=_LAST_ERROR if with_error else "")
    )


def upgrade() -> None:
    _swap("uq_listings_url", "uq_listings_marketplace_id_url", ["marketplace_id", "url"])
    _crawl_health(with_error=True)


def downgrade() -> None:
    _crawl_health(with_error=False)
    _swap("uq_listings_marketplace_id_url", "uq_listings_url", ["url"])
