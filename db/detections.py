"""Detections: writing a hit's evidence, and a reviewer's decision on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.common import session_insert, utcnow
from db.models import Detection, DetectionKind, DetectionStatus, Listing, ListingImage, Original

DETECTION_LABELS = ("copy", "variant")


def upsert_detection(
    session: Session,
    *,
    listing_image_id: int,
    original_id: int | None,
    score: float,
    components: dict[str, Any] | None = None,
    region_query: list[Any] | None = None,
    region_original: list[Any] | None = None,
    logo_verdict: dict[str, Any] | None = None,
    kind: DetectionKind = DetectionKind.STOLEN_IMAGE,
    label: str = "copy",
    variant_region: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    """Write a detection, or refresh the evidence of an existing one without touching its review.

    ``label`` is "copy" or "variant" (then ``variant_region`` says where it differs).

    Returns:
        (detection id, whether it was created now).
    """
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"score must be in [0, 1], got {score}")
    if label not in DETECTION_LABELS:
        raise ValueError(f"label must be one of {', '.join(DETECTION_LABELS)}, got {label!r}")
    values = {
        "listing_image_id": listing_image_id,
        "original_id": original_id,
        "kind": kind,
        "label": label,
        "variant_region": variant_region,
        "score": float(score),
        "components": components or {},
        "region_query": region_query,
        "region_original": region_original,
        "logo_verdict": logo_verdict,
        "status": DetectionStatus.NEW,
    }
    existing = session.execute(
        select(Detection.id).where(
            Detection.listing_image_id == listing_image_id,
            Detection.original_id.is_(None) if original_id is None else Detection.original_id == original_id,
        )
    ).scalar_one_or_none()
    if existing is None:
        stmt = session_insert(session, Detection).values(**values)
        if original_id is None:
            stmt = stmt.on_conflict_do_nothing(
                index_elements=["listing_image_id"], index_where=Detection.original_id.is_(None)
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["listing_image_id", "original_id"])
        new_id = session.execute(stmt.returning(Detection.id)).scalar_one_or_none()
        if new_id is not None:
            return int(new_id), True
        return upsert_detection(
            session,
            listing_image_id=listing_image_id,
            original_id=original_id,
            score=score,
            components=components,
            region_query=region_query,
            region_original=region_original,
            logo_verdict=logo_verdict,
            kind=kind,
            label=label,
            variant_region=variant_region,
        )
    evidence = {k: v for k, v in values.items() if k not in {"status", "listing_image_id", "original_id"}}
    session.execute(update(Detection).where(Detection.id == existing).values(**evidence))
    return int(existing), False


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
    """:func:`upsert_detection` for many rows at once: one INSERT … ON CONFLICT DO UPDATE for the
    rows with an original and one for the logo-only rows (instead of two statements a row).

    Args:
        rows: keyword arguments of :func:`upsert_detection` (``listing_image_id``, ``original_id``,
            ``score`` …); at most one row per (image, original).

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
        stmt = session_insert(session, Detection).values(group)
        refreshed: dict[str, Any] = {name: stmt.excluded[name] for name in EVIDENCE_COLUMNS}
        refreshed["updated_at"] = func.now()
        if logo_only:
            stmt = stmt.on_conflict_do_update(
                index_elements=["listing_image_id"],
                index_where=Detection.original_id.is_(None),
                set_=refreshed,
            )
        else:
            stmt = stmt.on_conflict_do_update(
                index_elements=["listing_image_id", "original_id"], set_=refreshed
            )
        returned = session.execute(
            stmt.returning(Detection.id, Detection.listing_image_id, Detection.original_id)
        )
        for detection_id, image_id, original_id in returned:
            found[(int(image_id), None if original_id is None else int(original_id))] = int(detection_id)
    return [found[key] for key in keys]


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
