"""detections: copy or variant, and where a variant differs

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-04

``detections.label`` ('copy' or 'variant', existing rows 'copy') and ``detections.variant_region``
(where a variant's drawing differs from the original, in both images; docs/formats.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _views_set_aside() -> Iterator[None]:
    """SQLite's batch mode rebuilds ``detections``; the views over it are dropped meanwhile."""
    bind = op.get_bind()
    views: list[tuple[str, str]] = []
    if bind.dialect.name == "sqlite":
        views = [
            tuple(r) for r in bind.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))
        ]
        for name, _ in views:
            op.execute(f'DROP VIEW "{name}"')
    yield
    for _, sql in views:
        op.execute(sql)


def upgrade() -> None:
    with _views_set_aside(), op.batch_alter_table("detections") as batch:
        batch.add_column(sa.Column("label", sa.String(length=16), nullable=False, server_default="copy"))
        batch.add_column(sa.Column("variant_region", sa.JSON(), nullable=True))
        batch.create_check_constraint(op.f("ck_detections_label_known"), "label IN ('copy', 'variant')")


def downgrade() -> None:
    with _views_set_aside(), op.batch_alter_table("detections") as batch:
        batch.drop_constraint(op.f("ck_detections_label_known"), type_="check")
        batch.drop_column("variant_region")
        batch.drop_column("label")
