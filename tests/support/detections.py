"""One detection written in a test, through the statement the workers run
(:func:`db.detections.write_detections`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.detections import write_detections
from db.models import Detection


def upsert_detection(
    session: Session, *, listing_image_id: int, original_id: int | None, **evidence: Any
) -> tuple[int, bool]:
    """Write one detection, or refresh its evidence keeping its review.

    Returns:
        (detection id, whether it was created now).
    """
    same_original = (
        Detection.original_id.is_(None) if original_id is None else Detection.original_id == original_id
    )
    existing = session.execute(
        select(Detection.id).where(Detection.listing_image_id == listing_image_id, same_original)
    ).scalar_one_or_none()
    (detection_id,) = write_detections(
        session, [{"listing_image_id": listing_image_id, "original_id": original_id, **evidence}]
    )
    return detection_id, existing is None
