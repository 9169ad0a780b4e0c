"""listings unique per marketplace

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

A listing is identified by (marketplace, URL), no longer by its URL alone: a hostile shop that
names another marketplace's URL can no longer overwrite that marketplace's listing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _swap(old: str, new: str, columns: list[str]) -> None:
    """Replace the unique constraint ``old`` with ``new``. SQLite rebuilds the table, which its
    views would block, so they are set aside and recreated as they were."""
    bind = op.get_bind()
    views: list[tuple[str, str]] = []
    if bind.dialect.name == "sqlite":
        views = [tuple(r) for r in bind.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))]
        for name, _ in views:
            op.execute(f'DROP VIEW "{name}"')
    with op.batch_alter_table("listings") as batch:
        batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint(new, columns)
    for _, sql in views:
        op.execute(sql)


def upgrade() -> None:
    _swap("uq_listings_url", "uq_listings_marketplace_id_url", ["marketplace_id", "url"])


def downgrade() -> None:
    _swap("uq_listings_marketplace_id_url", "uq_listings_url", ["url"])
