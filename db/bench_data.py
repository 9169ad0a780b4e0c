"""Synthetic rows for the benchmarks: bulk seeding and the read-backs that measure a run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from db.models import Brand, Detection, ImageStatus, Listing, ListingImage, Marketplace, Original

# --- the review bench: a large queue, seeded in SQL on PostgreSQL ---------------------------------

SEED_SQL = [
    "INSERT INTO brands (name, alert_emails) SELECT 'Brand ' || i, '[]' FROM generate_series(1, 5) i",
    """INSERT INTO originals (brand_id, sku, title, image_path, sha256, width, height)
       SELECT 1 + (i % 5), 'SKU-' || i, 'Original ' || i, 'bench/original.png', md5(i::text) || md5(i::text), 640, 640
       FROM generate_series(1, 500) i""",
    """INSERT INTO marketplaces (name, start_urls, spider, enabled, settings)
       SELECT 'market' || i, '[]', 'product', true, '{}' FROM generate_series(1, 8) i""",
    """INSERT INTO listings (marketplace_id, url, title, price, currency, seller)
       SELECT 1 + (i % 8), 'https://market.invalid/item/' || i, 'Listing ' || i, (i % 500) + 0.99, 'EUR',
              'seller' || (i % 997)
       FROM generate_series(1, :n) i""",
    """INSERT INTO listing_images (listing_id, url, sha256, path, width, height, status, attempts)
       SELECT i, 'https://market.invalid/img/' || i || '.jpg', md5('img' || i) || md5(i::text),
              'bench/listing.jpg', 800, 800, 'scored', 1
       FROM generate_series(1, :n) i""",
    """INSERT INTO detections (listing_image_id, original_id, kind, score, components, region_query,
                               region_original, logo_verdict, status, reviewed_at, created_at)
       SELECT i, 1 + (i % 500), 'stolen_image', 0.5 + 0.5 * random(),
              '{"global": 0.8, "inliers": 40, "inlier_ratio": 0.5}',
              '[[10, 10], [400, 10], [400, 400], [10, 400]]', '[[0, 0], [640, 0], [640, 640], [0, 640]]',
              '{"verdict": "genuine", "position": "CM"}',
              CASE WHEN i % 10 < 7 THEN 'new' WHEN i % 10 < 9 THEN 'confirmed' ELSE 'dismissed' END,
              CASE WHEN i % 10 < 7 THEN NULL ELSE now() END,
              now() - ((i % 90) || ' days')::interval
       FROM generate_series(1, :n) i""",
    "ANALYZE",
]


def seed_review_queue(session: Session, detections: int) -> None:
    """Five brands, 500 originals, eight marketplaces and ``detections`` detections (PostgreSQL)."""
    for sql in SEED_SQL:
        session.execute(text(sql), {"n": detections} if ":n" in sql else {})


def queue_position(session: Session, offset: int, brand_id: int | None = None) -> tuple[float, int]:
    """(score, id) of the new detection at ``offset`` in the queue's order (a deep page's cursor),
    among one brand's detections when ``brand_id`` is given (a reviewer granted that brand)."""
    query = select(Detection.score, Detection.id).where(Detection.status == "new")
    if brand_id is not None:
        query = query.join(Original, Original.id == Detection.original_id).where(
            Original.brand_id == brand_id
        )
    row = session.execute(
        query.order_by(Detection.score.desc(), Detection.id.desc()).offset(offset).limit(1)
    ).one()
    return float(row[0]), int(row[1])


# --- the pipeline bench: originals, and queued listing images whose files the caller wrote ------------


def seed_pipeline(session: Session, originals: int, image_paths: Sequence[str]) -> list[int]:
    """A brand with ``originals`` originals numbered 1..n, one marketplace, one listing per image
    path with that image queued; returns the listing image ids in order."""
    brand_id = session.execute(
        insert(Brand).values(name="bench", alert_emails=[]).returning(Brand.id)
    ).scalar_one()
    session.execute(
        insert(Original),
        [
            {"brand_id": brand_id, "image_path": f"bench/{i}.png", "sha256": f"{i:064d}", "sku": f"sku-{i}"}
            for i in range(1, originals + 1)
        ],
    )
    first = session.execute(select(func.min(Original.id))).scalar_one()
    if first != 1:
        raise RuntimeError("the bench database must number originals from 1")
    marketplace_id = session.execute(
        insert(Marketplace).values(name="bench", start_urls=[], settings={}).returning(Marketplace.id)
    ).scalar_one()
    listing_rows = [
        {"marketplace_id": marketplace_id, "url": f"https://bench.test/{n}"} for n in range(len(image_paths))
    ]
    listing_ids = session.execute(insert(Listing).returning(Listing.id), listing_rows).scalars().all()
    image_rows: list[dict[str, Any]] = [
        {
            "url": f"https://bench.test/{n}.jpg",
            "sha256": f"{n:064x}",
            "path": path,
            "listing_id": listing_id,
            "status": ImageStatus.QUEUED,
            "attempts": 0,
        }
        for n, (path, listing_id) in enumerate(zip(image_paths, listing_ids, strict=True))
    ]
    return [
        int(i) for i in session.execute(insert(ListingImage).returning(ListingImage.id), image_rows).scalars()
    ]


def image_states(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, datetime | None]]:
    """Listing image id → (status, scored_at)."""
    rows = session.execute(
        select(ListingImage.id, ListingImage.status, ListingImage.scored_at).where(
            ListingImage.id.in_(list(ids))
        )
    ).all()
    return {int(i): (str(s.value), at) for i, s, at in rows}


def duplicate_work(session: Session, ids: Sequence[int]) -> int:
    """Images claimed more than once plus repeated (image, original) detections."""
    reclaimed = session.execute(
        select(func.count()).where(ListingImage.id.in_(list(ids)), ListingImage.attempts > 1)
    ).scalar_one()
    repeated = session.execute(
        select(func.count()).select_from(
            select(Detection.listing_image_id)
            .group_by(Detection.listing_image_id, Detection.original_id)
            .having(func.count() > 1)
            .subquery()
        )
    ).scalar_one()
    return int(reclaimed) + int(repeated)
