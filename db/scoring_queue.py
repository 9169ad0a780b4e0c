"""The scoring queue in the ``listing_images`` table: claims, leases, requeues, outcomes.

A row is *claimed* (``queued`` → ``scoring``, one attempt counted) before any work. A claim is a
lease: a row left in ``scoring`` longer than ``lease_s`` (its worker died) may be claimed again,
and after ``max_attempts`` claims it ends ``failed`` — a poison image never loops forever. On
PostgreSQL every claim locks its rows ``FOR UPDATE SKIP LOCKED``, so concurrent workers never
claim the same image.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from db.common import is_postgresql, utcnow
from db.models import ImageStatus, ListingImage

# A worker scores an image in well under a second; a row still ``scoring`` after this long has
# lost its worker (kill -9, OOM, host gone) and may be claimed again.
SCORING_LEASE_S = 120.0
# A queued row older than this while the broker queue is empty lost its message.
LOST_MESSAGE_AFTER_S = 60.0


def _lock_and_fail_exhausted(session: Session, query: Any, max_attempts: int) -> list[Any]:
    """Lock the rows of ``query`` (id, attempts, any further columns) — skipping rows another
    worker holds, on PostgreSQL — mark those out of attempts ``failed``, and return the others."""
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    exhausted = [int(row[0]) for row in rows if row[1] >= max_attempts]
    if exhausted:
        session.execute(
            update(ListingImage)
            .where(ListingImage.id.in_(exhausted))
            .values(
                status=ImageStatus.FAILED,
                error=f"gave up after {max_attempts} attempts (its worker was lost or it kept failing)",
            )
        )
    return [row for row in rows if row[1] < max_attempts]


def claim_images(
    session: Session,
    ids: Sequence[int],
    *,
    max_attempts: int,
    lease_s: float = SCORING_LEASE_S,
    reclaim: bool = False,
) -> dict[int, str | None]:
    """Claim the listed images for scoring; returns the ids now ours, each with its stored file
    path (read by the same query).

    Claimable: ``queued`` rows, and ``scoring`` rows whose lease ran out (or any ``scoring`` row
    when ``reclaim``: a retry of the message that claimed it). Each claim counts an attempt; a row
    that has used up ``max_attempts`` is set ``failed`` instead. Rows locked by a concurrent
    claimer are skipped on PostgreSQL (``SKIP LOCKED``).
    """
    if not ids:
        return {}
    expired = ListingImage.status == ImageStatus.SCORING
    if not reclaim:
        expired = and_(expired, ListingImage.updated_at < utcnow() - timedelta(seconds=lease_s))
    query = (
        select(ListingImage.id, ListingImage.attempts, ListingImage.path)
        .where(ListingImage.id.in_(list(ids)), or_(ListingImage.status == ImageStatus.QUEUED, expired))
        .order_by(ListingImage.id)
    )
    claimed = {int(row[0]): row[2] for row in _lock_and_fail_exhausted(session, query, max_attempts)}
    if claimed:
        session.execute(
            update(ListingImage)
            .where(ListingImage.id.in_(list(claimed)))
            .values(status=ImageStatus.SCORING, attempts=ListingImage.attempts + 1, updated_at=utcnow())
        )
    return claimed


def failed_errors(session: Session, ids: Sequence[int]) -> list[tuple[int, str | None]]:
    """(id, error) of those of ``ids`` that are ``failed``."""
    if not ids:
        return []
    rows = session.execute(
        select(ListingImage.id, ListingImage.error).where(
            ListingImage.id.in_(list(ids)), ListingImage.status == ImageStatus.FAILED
        )
    ).all()
    return [(int(image_id), error) for image_id, error in rows]


def release_claims(session: Session, ids: Sequence[int]) -> None:
    """Put claimed rows back to ``queued`` (the attempt stays counted)."""
    if ids:
        session.execute(
            update(ListingImage)
            .where(ListingImage.id.in_(list(ids)), ListingImage.status == ImageStatus.SCORING)
            .values(status=ImageStatus.QUEUED)
        )


def requeue_stale(
    session: Session,
    *,
    max_attempts: int,
    lease_s: float = SCORING_LEASE_S,
    lost_after_s: float | None = LOST_MESSAGE_AFTER_S,
    limit: int = 10_000,
) -> list[int]:
    """Find images whose message was lost and make them ready to be sent again.

    ``scoring`` rows past their lease go back to ``queued`` (or ``failed`` when out of attempts);
    ``queued`` rows untouched for ``lost_after_s`` (None: do not look) are touched so they are
    not picked again at once. Returns the ids to send a scoring message for.
    """
    now = utcnow()
    stuck_query = (
        select(ListingImage.id, ListingImage.attempts)
        .where(
            ListingImage.status == ImageStatus.SCORING,
            ListingImage.updated_at < now - timedelta(seconds=lease_s),
        )
        .order_by(ListingImage.id)
        .limit(limit)
    )
    again = [int(row[0]) for row in _lock_and_fail_exhausted(session, stuck_query, max_attempts)]
    lost: list[int] = []
    if lost_after_s is not None:
        lost = [
            int(i)
            for i in session.execute(
                select(ListingImage.id)
                .where(
                    ListingImage.status == ImageStatus.QUEUED,
                    ListingImage.updated_at < now - timedelta(seconds=lost_after_s),
                )
                .order_by(ListingImage.id)
                .limit(limit)
            ).scalars()
        ]
    if again or lost:
        session.execute(
            update(ListingImage)
            .where(ListingImage.id.in_(again + lost))
            .values(status=ImageStatus.QUEUED, updated_at=now)
        )
    return sorted(again + lost)


def mark_scored(session: Session, listing_image_ids: int | Sequence[int]) -> None:
    """Mark one image, or many in one statement, ``scored``."""
    ids = [listing_image_ids] if isinstance(listing_image_ids, int) else list(listing_image_ids)
    if ids:
        session.execute(
            update(ListingImage)
            .where(ListingImage.id.in_(ids))
            .values(status=ImageStatus.SCORED, error=None, scored_at=utcnow())
        )


def record_scoring_failure(
    session: Session, listing_image_id: int, error: str, *, permanent: bool, max_attempts: int
) -> ImageStatus:
    """Record why scoring failed. A permanent error, or the last allowed attempt, ends as ``failed``;
    otherwise the image goes back to ``queued`` for a retry. Returns the new status."""
    image = session.get(ListingImage, listing_image_id, with_for_update=True)
    if image is None:
        raise LookupError(f"listing image {listing_image_id} does not exist")
    exhausted = image.attempts >= max_attempts
    image.status = ImageStatus.FAILED if permanent or exhausted else ImageStatus.QUEUED
    image.error = (
        error if not exhausted or permanent else f"{error} (gave up after {image.attempts} attempts)"
    )
    session.flush()
    return image.status
