"""sellers, seller contacts and links (networks), user brands, seller reporting views

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04

Sellers become rows of their own: ``sellers`` (one account on one marketplace), ``seller_contacts``
(normalised contact keys), ``seller_links`` (two sellers and the reason they are tied) and
``listings.seller_id``. Today's ``listings.seller`` strings are carried over: one seller per
marketplace and name (whitespace collapsed, lower-cased), every such listing linked to it.
``user_brands`` grants brands to reviewers; reviewers that exist already are granted every brand,
so they keep seeing what they saw (new reviewers see the brands granted to them).

The views ``report_detections_per_marketplace_day`` and ``report_top_sellers`` gain a ``brand_id``
column (so a reviewer's reports can be limited to granted brands) and the top sellers are seller
entities; three views are new: ``report_seller_hits``, ``report_top_networks``,
``report_repeat_offenders`` (docs/sql.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _day(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'UTC') AS DATE)"
    return f"DATE({column})"


def _text_agg(expression: str) -> str:
    """Distinct values joined into one text (PostgreSQL sorts them; SQLite keeps its own order)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"string_agg(DISTINCT {expression}, ', ' ORDER BY {expression})"
    return f"group_concat(DISTINCT {expression})"


def _hits_from() -> str:
    """Detections with their listing, seller, marketplace and brand (logo-only hits have no brand)."""
    return """
        FROM detections d
        JOIN listing_images li ON li.id = d.listing_image_id
        JOIN listings l ON l.id = li.listing_id
        JOIN marketplaces m ON m.id = l.marketplace_id
        LEFT JOIN originals o ON o.id = d.original_id
        LEFT JOIN brands b ON b.id = o.brand_id
    """


def _views() -> dict[str, str]:
    return {
        "report_detections_per_marketplace_day": f"""
            SELECT m.id AS marketplace_id, m.name AS marketplace, o.brand_id AS brand_id,
                   {_day("d.created_at")} AS day,
                   COUNT(*) AS detections,
                   SUM(CASE WHEN d.status = 'confirmed' THEN 1 ELSE 0 END) AS confirmed,
                   SUM(CASE WHEN d.status = 'dismissed' THEN 1 ELSE 0 END) AS dismissed,
                   SUM(CASE WHEN d.status = 'new' THEN 1 ELSE 0 END) AS pending
            FROM detections d
            JOIN listing_images li ON li.id = d.listing_image_id
            JOIN listings l ON l.id = li.listing_id
            JOIN marketplaces m ON m.id = l.marketplace_id
            LEFT JOIN originals o ON o.id = d.original_id
            GROUP BY m.id, m.name, o.brand_id, {_day("d.created_at")}
        """,
        "report_top_sellers": f"""
            SELECT m.name AS marketplace, COALESCE(s.name, l.seller) AS seller, s.id AS seller_id,
                   s.network_id AS network_id, o.brand_id AS brand_id,
                   COUNT(DISTINCT d.id) AS confirmed_hits,
                   COUNT(DISTINCT l.id) AS listings,
                   MAX(d.reviewed_at) AS last_confirmed_at
            {_hits_from()}
            LEFT JOIN sellers s ON s.id = l.seller_id
            WHERE d.status = 'confirmed'
            GROUP BY m.name, s.id, COALESCE(s.name, l.seller), s.network_id, o.brand_id
        """,
        "report_seller_hits": f"""
            SELECT s.id AS seller_id, s.name AS seller, m.name AS marketplace, s.network_id AS network_id,
                   o.brand_id AS brand_id, b.name AS brand, s.risk_score AS risk_score,
                   COUNT(DISTINCT d.id) AS hits,
                   SUM(CASE WHEN d.status = 'confirmed' THEN 1 ELSE 0 END) AS confirmed_hits,
                   SUM(CASE WHEN d.status = 'new' THEN 1 ELSE 0 END) AS pending_hits,
                   COUNT(DISTINCT l.id) AS listings_hit,
                   MIN(d.created_at) AS first_hit_at,
                   MAX(d.created_at) AS last_hit_at,
                   MAX(CASE WHEN d.status = 'confirmed' THEN d.reviewed_at END) AS last_confirmed_at,
                   s.first_seen AS first_seen, s.last_seen AS last_seen
            {_hits_from()}
            JOIN sellers s ON s.id = l.seller_id
            GROUP BY s.id, s.name, m.name, s.network_id, o.brand_id, b.name, s.risk_score,
                     s.first_seen, s.last_seen
        """,
        "report_top_networks": f"""
            SELECT n.network_id AS network_id, n.members AS members, n.marketplaces AS marketplaces,
                   n.member_names AS member_names, k.shared_keys AS shared_keys,
                   n.risk_score AS risk_score, h.brand_id AS brand_id, h.brand AS brand,
                   COALESCE(h.confirmed_hits, 0) AS confirmed_hits, COALESCE(h.hits, 0) AS hits,
                   COALESCE(h.listings, 0) AS listings_hit,
                   h.first_hit_at AS first_hit_at, h.last_hit_at AS last_hit_at,
                   h.last_confirmed_at AS last_confirmed_at
            FROM (SELECT network_id, COUNT(*) AS members, COUNT(DISTINCT marketplace_id) AS marketplaces,
                         {_text_agg("name")} AS member_names, MAX(risk_score) AS risk_score
                  FROM sellers WHERE network_id IS NOT NULL
                  GROUP BY network_id HAVING COUNT(*) >= 2) n
            LEFT JOIN (SELECT s.network_id AS network_id, o.brand_id AS brand_id, b.name AS brand,
                              COUNT(*) AS hits,
                              SUM(CASE WHEN d.status = 'confirmed' THEN 1 ELSE 0 END) AS confirmed_hits,
                              COUNT(DISTINCT l.id) AS listings,
                              MIN(d.created_at) AS first_hit_at, MAX(d.created_at) AS last_hit_at,
                              MAX(CASE WHEN d.status = 'confirmed' THEN d.reviewed_at END) AS last_confirmed_at
                       {_hits_from()}
                       JOIN sellers s ON s.id = l.seller_id
                       WHERE d.status <> 'dismissed'
                       GROUP BY s.network_id, o.brand_id, b.name) h ON h.network_id = n.network_id
            LEFT JOIN (SELECT s.network_id AS network_id,
                              {_text_agg("sl.reason || ': ' || sl.key")} AS shared_keys
                       FROM seller_links sl JOIN sellers s ON s.id = sl.seller_a
                       GROUP BY s.network_id) k ON k.network_id = n.network_id
        """,
        "report_repeat_offenders": f"""
            SELECT s.id AS seller_id, s.name AS seller, m.name AS marketplace, s.network_id AS network_id,
                   o.brand_id AS brand_id, b.name AS brand, s.risk_score AS risk_score,
                   COUNT(DISTINCT d.id) AS confirmed_hits,
                   COUNT(DISTINCT l.id) AS listings_hit,
                   COUNT(DISTINCT {_day("d.created_at")}) AS active_days,
                   MIN(d.created_at) AS first_hit_at,
                   MAX(d.created_at) AS last_hit_at,
                   MAX(d.reviewed_at) AS last_confirmed_at
            {_hits_from()}
            JOIN sellers s ON s.id = l.seller_id
            WHERE d.status = 'confirmed'
            GROUP BY s.id, s.name, m.name, s.network_id, o.brand_id, b.name, s.risk_score
            HAVING COUNT(DISTINCT l.id) >= 2 OR COUNT(DISTINCT {_day("d.created_at")}) >= 2
        """,
    }


_OLD_VIEWS = {
    "report_detections_per_marketplace_day": """
        SELECT m.id AS marketplace_id, m.name AS marketplace, {day} AS day,
               COUNT(*) AS detections,
               SUM(CASE WHEN d.status = 'confirmed' THEN 1 ELSE 0 END) AS confirmed,
               SUM(CASE WHEN d.status = 'dismissed' THEN 1 ELSE 0 END) AS dismissed,
               SUM(CASE WHEN d.status = 'new' THEN 1 ELSE 0 END) AS pending
        FROM detections d
        JOIN listing_images li ON li.id = d.listing_image_id
        JOIN listings l ON l.id = li.listing_id
        JOIN marketplaces m ON m.id = l.marketplace_id
        GROUP BY m.id, m.name, {day}
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
}


def _timestamps() -> list[sa.Column]:
    return [
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
    ]


def upgrade() -> None:
    op.create_table(
        "sellers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marketplace_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=400), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("profile_url", sa.String(length=2000), nullable=True),
        sa.Column("profile_error", sa.Text(), nullable=True),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("risk_score", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "first_seen",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "last_seen",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["marketplaces.id"],
            name=op.f("fk_sellers_marketplace_id_marketplaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sellers")),
        sa.UniqueConstraint("marketplace_id", "identity", name=op.f("uq_sellers_marketplace_id_identity")),
    )
    op.create_index(op.f("ix_sellers_network_id"), "sellers", ["network_id"], unique=False)
    op.create_table(
        "seller_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "email",
                "phone",
                "handle",
                "domain",
                name="contact_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("raw", sa.String(length=500), nullable=True),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column(
            "first_seen",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_seller_contacts_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_contacts")),
        sa.UniqueConstraint(
            "seller_id", "kind", "value", name=op.f("uq_seller_contacts_seller_id_kind_value")
        ),
    )
    op.create_index("ix_seller_contacts_kind_value", "seller_contacts", ["kind", "value"], unique=False)
    op.create_table(
        "seller_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_a", sa.Integer(), nullable=False),
        sa.Column("seller_b", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("seller_a < seller_b", name=op.f("ck_seller_links_ordered_pair")),
        sa.ForeignKeyConstraint(
            ["seller_a"], ["sellers.id"], name=op.f("fk_seller_links_seller_a_sellers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["seller_b"], ["sellers.id"], name=op.f("fk_seller_links_seller_b_sellers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_links")),
        sa.UniqueConstraint(
            "seller_a", "seller_b", "reason", "key", name=op.f("uq_seller_links_seller_a_seller_b_reason_key")
        ),
    )
    op.create_index("ix_seller_links_seller_b", "seller_links", ["seller_b"], unique=False)
    op.create_table(
        "user_brands",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_user_brands_brand_id_brands"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_brands_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "brand_id", name=op.f("pk_user_brands")),
    )
    op.create_index(op.f("ix_user_brands_brand_id"), "user_brands", ["brand_id"], unique=False)

    for name in ("report_detections_per_marketplace_day", "report_top_sellers"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    with _views_set_aside(), op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("seller_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_listings_seller_id_sellers"), "sellers", ["seller_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(batch.f("ix_listings_seller_id"), ["seller_id"], unique=False)
    _carry_over_sellers()
    # Reviewers who exist before brands are granted keep seeing what they saw: every brand.
    op.execute(
        "INSERT INTO user_brands (user_id, brand_id) "
        "SELECT u.id, b.id FROM users u CROSS JOIN brands b WHERE u.role = 'reviewer'"
    )
    for name, sql in _views().items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


@contextmanager
def _views_set_aside() -> Iterator[None]:
    """SQLite's batch mode copies a table and renames the copy, which fails while a view reads the
    table: every view is dropped first and created again, as it was, afterwards."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    saved = bind.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'view'")).all()
    for name, _sql in saved:
        op.execute(f'DROP VIEW IF EXISTS "{name}"')
    yield
    for _name, sql in saved:
        op.execute(sql)


def _carry_over_sellers() -> None:
    """One seller per marketplace and name (the identity ``db.sellers.seller_identity`` gives a name)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT marketplace_id, seller, MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen "
            "FROM listings WHERE seller IS NOT NULL GROUP BY marketplace_id, seller"
        )
    ).all()
    now = datetime.now(UTC)
    sellers: dict[tuple[int, str], dict[str, object]] = {}
    by_string: dict[tuple[int, str], tuple[int, str]] = {}
    for marketplace_id, seller, first_seen, last_seen in rows:
        name = " ".join(str(seller).split())[:300]
        if not name:
            continue
        key = (int(marketplace_id), f"name:{name.lower()}")
        entry = sellers.setdefault(
            key, {"name": name, "first_seen": first_seen or now, "last_seen": last_seen or now}
        )
        by_string[(int(marketplace_id), str(seller))] = key
    for (marketplace_id, identity), entry in sellers.items():
        bind.execute(
            sa.text(
                "INSERT INTO sellers (marketplace_id, identity, name, first_seen, last_seen) "
                "VALUES (:marketplace_id, :identity, :name, :first_seen, :last_seen)"
            ),
            {"marketplace_id": marketplace_id, "identity": identity, **entry},
        )
    ids = {
        (int(m), str(i)): int(s)
        for s, m, i in bind.execute(sa.text("SELECT id, marketplace_id, identity FROM sellers")).all()
    }
    for (marketplace_id, seller), key in by_string.items():
        bind.execute(
            sa.text("UPDATE listings SET seller_id = :sid WHERE marketplace_id = :mid AND seller = :seller"),
            {"sid": ids[key], "mid": marketplace_id, "seller": seller},
        )
    bind.execute(sa.text("UPDATE sellers SET network_id = id"))


def downgrade() -> None:
    for name in reversed(list(_views())):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    with _views_set_aside(), op.batch_alter_table("listings") as batch:
        batch.drop_index(batch.f("ix_listings_seller_id"))
        batch.drop_constraint(batch.f("fk_listings_seller_id_sellers"), type_="foreignkey")
        batch.drop_column("seller_id")
    for name, sql in _OLD_VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql.format(day=_day('d.created_at'))}")
    op.drop_index(op.f("ix_user_brands_brand_id"), table_name="user_brands")
    op.drop_table("user_brands")
    op.drop_index("ix_seller_links_seller_b", table_name="seller_links")
    op.drop_table("seller_links")
    op.drop_index("ix_seller_contacts_kind_value", table_name="seller_contacts")
    op.drop_table("seller_contacts")
    op.drop_index(op.f("ix_sellers_network_id"), table_name="sellers")
    op.drop_table("sellers")
