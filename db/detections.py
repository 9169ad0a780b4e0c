"""Detections: writing a hit's evidence, and a reviewer's decision on it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.common import dialect_insert, utcnow
from db.models import Detection, DetectionKind, DetectionStatus, Listing, ListingImage, Original

DETECTION_LABELS = ("copy", "variant")


# The columns a rescore refreshes; the review (status, reviewer, note) is never touched.
EVIDENCE_COLUMNS = (
    "kind",
    "label",
    "variant_region",
    "score",
    "components",
    "region_query",
    "region_original",
    "logo_verdict",
)


def write_detections(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Write detections, or refresh the evidence of existing ones without touching their review:
    one INSERT … ON CONFLICT DO UPDATE for the rows with an original and one for the logo-only rows.

    Args:
        rows: ``listing_image_id``, ``original_id`` (None: a logo-only hit), ``score`` and
            optionally ``kind``, ``label`` ("copy" or "variant"; then ``variant_region`` says where
            it differs), ``components``, ``region_query``, ``region_original``, ``logo_verdict``;
            at most one row per (image, original).

    Returns:
        The detection id of each row, in order.

    Raises:
        ValueError: a score outside [0, 1] or the same (image, original) twice; nothing is written.
    """
    values: list[dict[str, Any]] = []
    for row in rows:
        score = float(row["score"])
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {score}")
        label = row.get("label", "copy")
        if label not in DETECTION_LABELS:
            raise ValueError(f"label must be one of {', '.join(DETECTION_LABELS)}, got {label!r}")
        values.append(
            {
                "listing_image_id": int(row["listing_image_id"]),
                "original_id": row.get("original_id"),
                "kind": row.get("kind", DetectionKind.STOLEN_IMAGE),
                "label": label,
                "variant_region": row.get("variant_region"),
                "score": score,
                "components": row.get("components") or {},
                "region_query": row.get("region_query"),
                "region_original": row.get("region_original"),
                "logo_verdict": row.get("logo_verdict"),
                "status": DetectionStatus.NEW,
            }
        )
    keys = [(v["listing_image_id"], v["original_id"]) for v in values]
    if len(set(keys)) != len(keys):
        raise ValueError("the same (listing image, original) detection appears twice")
    found: dict[tuple[int, int | None], int] = {}
    for logo_only in (False, True):
        group = [v for v in values if (v["original_id"] is None) == logo_only]
        if not group:
            continue
        returned = session.execute(_upsert(session.get_bind().dialect.name, logo_only), group)
        for detection_id, image_id, original_id in returned:
            found[(int(image_id), None if original_id is None else int(original_id))] = int(detection_id)
    return [found[key] for key in keys]


@functools.cache
def _upsert(dialect: str, logo_only: bool) -> Any:
    """The INSERT … ON CONFLICT DO UPDATE … RETURNING of :func:`write_detections`, built once per
    dialect and executed with the rows as parameters: one statement (``insertmanyvalues``)
    compiled once per process, where ``.values(rows)`` built and compiled one for every batch."""
    stmt = dialect_insert(dialect, Detection)
    refreshed: dict[str, Any] = {name: stmt.excluded[name] for name in EVIDENCE_COLUMNS}
    refreshed["updated_at"] = func.now()
    if logo_only:
        stmt = stmt.on_conflict_do_update(
            index_elements=["listing_image_id"], index_where=Detection.original_id.is_(None), set_=refreshed
        )
    else:
        stmt = stmt.on_conflict_do_update(index_elements=["listing_image_id", "original_id"], set_=refreshed)
    return stmt.returning(Detection.id, Detection.listing_image_id, Detection.original_id)


def review_detection(
    session: Session,
    detection_id: int,
    status: DetectionStatus,
    *,
    reviewer_id: int | None,
    note: str | None = None,
) -> None:
    """Confirm, dismiss, or (with ``NEW``) reopen a detection, recording who and when."""
    detection = session.get(Detection, detection_id, with_for_update=True)
    if detection is None:
        raise LookupError(f"detection {detection_id} does not exist")
    detection.status = DetectionStatus(status)
    reopened = detection.status == DetectionStatus.NEW
    detection.reviewer_id = None if reopened else reviewer_id
    detection.reviewed_at = None if reopened else utcnow()
    if note is not None:
        detection.note = note
    session.flush()


def detections_of_marketplace(
    session: Session, marketplace_id: int
) -> list[tuple[Detection, ListingImage, str, Original | None]]:
    """Each detection on the marketplace with its listing image, listing URL and original (None for
    a logo-only hit), best first."""
    rows = session.execute(
        select(Detection, ListingImage, Listing.url, Original)
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .outerjoin(Original, Original.id == Detection.original_id)
        .where(Listing.marketplace_id == marketplace_id)
        .order_by(Detection.score.desc())
    ).all()
    return [(d, image, str(url), original) for d, image, url, original in rows]


def new_detections_at(session: Session, marketplace_id: int, threshold: float) -> list[int]:
    """Ids of the NEW detections with an original, scored at or above ``threshold``, on listings of ``marketplace_id``."""
    return [
        int(i)
        for i in session.execute(
            select(Detection.id)
            .join(ListingImage, ListingImage.id == Detection.listing_image_id)
            .join(Listing, Listing.id == ListingImage.listing_id)
            .where(
                Listing.marketplace_id == marketplace_id,
                Detection.score >= threshold,
                Detection.original_id.is_not(None),
                Detection.status == DetectionStatus.NEW,
            )
        ).scalars()
    ]
