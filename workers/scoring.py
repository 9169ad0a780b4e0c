"""Scoring listing images: claim the row, match against the catalog, check logos, write detections.

The Celery tasks in :mod:`workers.tasks` are thin wrappers around :func:`score_batch`; the eager
(embedded) mode, the demo and ``copywatch scan`` use the same code.

Every step is idempotent. A row is *claimed* (``queued`` → ``scoring``, one attempt counted)
before any work; an image already ``scored`` or ``failed`` is skipped, so a redelivered message
changes nothing. Detections and ``mark_scored`` are written in one transaction, so an image is
either fully scored or not at all (a batch's images together, one statement for all their
detections and one to mark them scored; image by image when the batch's write fails). A claim is a lease: a row left in ``scoring`` longer than
``lease_s`` (its worker died) may be claimed again, and after ``score_max_attempts`` claims it
ends ``failed`` — a poison image never loops forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from copywatch.settings import Settings
from db.catalog import MatchedOriginal, matched_originals
from db.detections import write_detections
from db.models import DetectionKind
from db.scoring_queue import (
    SCORING_LEASE_S,
    claim_images,
    failed_errors,
    mark_scored,
    record_scoring_failure,
    release_claims,
)
from detection.imageio import InvalidImageError, load_image
from detection.logo import LogoReference
from detection.logo import check as check_logo
from detection.matcher import Match, Matcher
from detection.runtime import MatcherCache
from workers.match_fields import original_id_of, polygon
from workers.moved_logo import LOGO_CANDIDATES, moved_brand_logo
from workers.transient import is_transient
from workers.variants import original_pixels, variant_fields

log = logging.getLogger(__name__)

Sessions = Callable[[], Session]

# The seed's centred-logo rule on an image that matched no original: only a confident
# counterfeit verdict is worth a reviewer's time on its own.
LOGO_ONLY_MIN_CONFIDENCE = 0.8
MATCHES_PER_IMAGE = 10


# Errors worth a retry: the database or the broker is unreachable for a while.
@dataclass
class ScoreOutcome:
    """What happened to one listing image in one scoring call."""

    listing_image_id: int
    status: str  # scored | failed | queued (will be retried) | skipped (not ours to score)
    detections: list[int] = field(default_factory=list)
    error: str | None = None


# --- scoring --------------------------------------------------------------------------------------------


def image_file(settings: Settings, path: str | None) -> Path:
    """The stored file of a listing image (paths are relative to MEDIA_ROOT unless absolute)."""
    if not path:
        raise FileNotFoundError("the image row has no stored file")
    stored = Path(path)
    return stored if stored.is_absolute() else settings.media_root / stored


def detections_for(
    image: np.ndarray,
    matches: Sequence[Match],
    logo_references: dict[int, dict[str, Any] | None],
    settings: Settings,
    originals: Callable[[int], tuple[np.ndarray, tuple[int, int]] | None] | None = None,
) -> list[dict[str, Any]]:
    """The detection rows one image deserves: each match at or above the review threshold (with
    the logo verdict when its original has a logo reference, and copy or variant when
    ``originals`` gives the original's pixels by id), else at most one logo-only hit.

    Returns:
        Keyword arguments for :func:`db.detections.write_detections`, without the image id.
    """
    found: list[dict[str, Any]] = []
    for match in matches:
        if match.score < settings.review_threshold:
            continue
        original_id = original_id_of(match)
        if original_id is None:
            continue
        verdict = None
        reference = logo_references.get(original_id)
        if reference:
            homography = np.asarray(match.homography, dtype=np.float64) if match.homography else None
            verdict = check_logo(image, LogoReference.from_dict(reference), homography)
        components: dict[str, Any] = dict(match.components)
        if match.transform:
            components["transform"] = match.transform
        found.append(
            {
                "original_id": original_id,
                "score": float(min(max(match.score, 0.0), 1.0)),
                "components": components,
                "region_query": polygon(match.region_query),
                "region_original": polygon(match.region_original),
                "logo_verdict": verdict.to_dict() if verdict is not None else None,
                "kind": DetectionKind.COUNTERFEIT_LOGO
                if verdict is not None and verdict.suspicious
                else DetectionKind.STOLEN_IMAGE,
                **variant_fields(image, match, originals(original_id) if originals else None),
            }
        )
    if not found:
        found.extend(moved_brand_logo(image, matches, logo_references, settings, LOGO_ONLY_MIN_CONFIDENCE))
    if not found:
        verdict = check_logo(image, shape_from_confidence=LOGO_ONLY_MIN_CONFIDENCE)
        confidence = float(verdict.confidence)
        if (
            verdict.suspicious
            and confidence >= LOGO_ONLY_MIN_CONFIDENCE
            and confidence >= settings.review_threshold
        ):
            found.append(
                {
                    "original_id": None,
                    "score": min(confidence, 1.0),
                    "components": {"logo_confidence": confidence},
                    "region_query": None,
                    "region_original": None,
                    "logo_verdict": verdict.to_dict(),
                    "kind": DetectionKind.COUNTERFEIT_LOGO,
                }
            )
    return found


def score_batch(
    sessions: Sessions,
    matcher: Matcher,
    settings: Settings,
    listing_image_ids: Sequence[int],
    *,
    reclaim: bool = False,
    lease_s: float = SCORING_LEASE_S,
) -> list[ScoreOutcome]:
    """Score listing images end to end: claim, load, match, check logos, write, mark scored.

    Args:
        sessions: session factory of the database.
        matcher: the loaded matcher.
        settings: thresholds, MEDIA_ROOT, max attempts.
        listing_image_ids: the images; ones already scored, failed or claimed elsewhere are skipped.
        reclaim: also claim rows in ``scoring`` (this call retries a message that claimed them).
        lease_s: how long another claimer's ``scoring`` row is left alone.

    Returns:
        One outcome per requested id.

    Raises:
        Transient errors (see :func:`is_transient`): the claims are released (best effort) and the
        caller retries later. Nothing else escapes: per-image errors are recorded on the row.
    """
    outcomes = {i: ScoreOutcome(int(i), "skipped") for i in listing_image_ids}
    with sessions() as session, session.begin():
        paths = claim_images(
            session,
            list(outcomes),
            max_attempts=settings.score_max_attempts,
            lease_s=lease_s,
            reclaim=reclaim,
        )
        # Only images not claimed can have been failed (now, out of attempts, or earlier).
        unclaimed = [i for i in outcomes if i not in paths]
        gave_up = failed_errors(session, unclaimed)
    for image_id, error in gave_up:
        outcomes[image_id] = ScoreOutcome(image_id, "failed", error=error)
    claimed = list(paths)
    if not claimed:
        return list(outcomes.values())

    try:
        failures: dict[int, tuple[str, bool]] = {}  # id -> (error, permanent)
        images: dict[int, np.ndarray] = {}
        for image_id in claimed:
            try:
                images[image_id] = load_image(
                    image_file(settings, paths.get(image_id)), max_pixels=settings.max_image_pixels
                )
            except InvalidImageError as exc:
                failures[image_id] = (f"unreadable image: {exc}", True)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
                failures[image_id] = (f"image file missing: {exc}", True)
            except OSError as exc:
                failures[image_id] = (f"cannot read image file: {exc}", False)

        found = _match_all(matcher, images, failures)
        matched = originals_of(sessions, found, settings.review_threshold)
        references = {i: o.logo_reference for i, o in matched.items()}
        originals = original_pixels({i: o.file for i, o in matched.items()}, settings.media_root)
        rows: dict[int, list[dict[str, Any]]] = {}
        for image_id, matches in found.items():
            try:
                rows[image_id] = detections_for(images[image_id], matches, references, settings, originals)
            except Exception as exc:  # noqa: BLE001 - a logo-check bug must not lose the image
                log.exception("logo check failed on listing image %s", image_id)
                failures[image_id] = (f"logo check failed: {type(exc).__name__}: {exc}", False)

        _write(sessions, settings, rows, failures, outcomes)
    except BaseException as exc:
        if is_transient(exc) or not isinstance(exc, Exception):
            for image_id in claimed:
                outcomes[image_id].status = "queued"
                outcomes[image_id].detections.clear()
            _release_claims(sessions, claimed)
        raise
    return list(outcomes.values())


def _write(
    sessions: Sessions,
    settings: Settings,
    rows: dict[int, list[dict[str, Any]]],
    failures: dict[int, tuple[str, bool]],
    outcomes: dict[int, ScoreOutcome],
) -> None:
    """Write the detections of every scored image, mark them scored and record the failures.

    The whole batch goes in one transaction (one INSERT for its detections, one UPDATE for its
    images). Should that fail for a reason that is not transient, each image is written in its
    own transaction, so a row the database refuses fails only its own image, with the reason.
    """
    try:
        with sessions() as session, session.begin():
            written = _write_scored(session, rows)
            recorded = _record_failures(session, settings, failures)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("writing the results of %d images failed; writing them one by one", len(rows))
        written, recorded = {}, {}
        for image_id, detections in rows.items():
            try:
                with sessions() as session, session.begin():
                    written.update(_write_scored(session, {image_id: detections}))
            except Exception as one:
                if is_transient(one):
                    raise
                log.exception("could not write the detections of listing image %s", image_id)
                failures[image_id] = (f"could not write detections: {type(one).__name__}: {one}", False)
        with sessions() as session, session.begin():
            recorded = _record_failures(session, settings, failures)
    for image_id, detection_ids in written.items():
        outcomes[image_id].status = "scored"
        outcomes[image_id].detections = detection_ids
    for image_id, (status, error) in recorded.items():
        outcomes[image_id] = ScoreOutcome(image_id, status, error=error)


def _write_scored(session: Session, rows: dict[int, list[dict[str, Any]]]) -> dict[int, list[int]]:
    """Write the images' detections and mark them scored; returns each image's detection ids."""
    flat = [(image_id, detection) for image_id, detections in rows.items() for detection in detections]
    ids = write_detections(session, [{"listing_image_id": i, **d} for i, d in flat])
    written: dict[int, list[int]] = {image_id: [] for image_id in rows}
    for (image_id, _detection), detection_id in zip(flat, ids, strict=True):
        written[image_id].append(detection_id)
    mark_scored(session, list(rows))
    return written


def _record_failures(
    session: Session, settings: Settings, failures: dict[int, tuple[str, bool]]
) -> dict[int, tuple[str, str]]:
    """Record each failed image's reason; returns its new status and the error."""
    recorded = {}
    for image_id, (error, permanent) in failures.items():
        status = record_scoring_failure(
            session, image_id, error, permanent=permanent, max_attempts=settings.score_max_attempts
        )
        recorded[image_id] = (str(status.value), error)
    return recorded


def _release_claims(sessions: Sessions, ids: Sequence[int]) -> None:
    """Best effort: put claimed rows back to ``queued`` after a transient error (the attempt
    stays counted). If the database is the thing that is down, the lease expiry recovers them."""
    try:
        with sessions() as session, session.begin():
            release_claims(session, ids)
    except Exception as exc:  # noqa: BLE001 - the original error is what the caller reports
        log.warning("could not release %d claimed images (%s); their lease will expire", len(ids), exc)


def _match_all(
    matcher: Matcher, images: dict[int, np.ndarray], failures: dict[int, tuple[str, bool]]
) -> dict[int, list[Match]]:
    """Matches per image; one batch call, or one call per image when the batch fails, so a single
    bad image is recorded as failed instead of failing its neighbours."""
    ids = list(images)
    if not ids:
        return {}
    try:
        if len(ids) == 1:
            return {ids[0]: matcher.match(images[ids[0]], MATCHES_PER_IMAGE)}
        return dict(zip(ids, matcher.match_batch([images[i] for i in ids], MATCHES_PER_IMAGE), strict=True))
    except Exception:  # noqa: BLE001 - isolate the image below
        if len(ids) == 1:
            log.exception("matcher failed on listing image %s", ids[0])
    found: dict[int, list[Match]] = {}
    for image_id in ids:
        try:
            found[image_id] = matcher.match(images[image_id], MATCHES_PER_IMAGE)
        except Exception as exc:  # noqa: BLE001 - recorded on the row, retried up to max attempts
            if len(ids) > 1:
                log.exception("matcher failed on listing image %s", image_id)
            failures[image_id] = (f"matcher failed: {type(exc).__name__}: {exc}", False)
    return found


def originals_of(
    sessions: Sessions, found: dict[int, list[Match]], min_score: float = 0.0
) -> dict[int, MatchedOriginal]:
    """The file and logo reference (one query for both) of every original matched in ``found``
    (image id → matches) with a score of at least ``min_score``, and of the best-ranked aligned
    candidates (checked for a moved brand logo, :func:`workers.moved_logo.moved_brand_logo`);
    the others get no logo check and no copy-or-variant comparison."""
    wanted = _wanted(found, min_score)
    if not wanted:
        return {}
    with sessions() as session:
        return matched_originals(session, sorted(wanted))


def _wanted(found: dict[int, list[Match]], min_score: float) -> set[int]:
    return {
        oid
        for matches in found.values()
        for rank, m in enumerate(matches)
        if (m.score >= min_score or (rank < LOGO_CANDIDATES and m.homography))
        and (oid := original_id_of(m)) is not None
    }


# --- one process's scoring runtime (eager mode, demo, scan) ---------------------------------------------

_runtimes: dict[tuple[str, str, str], tuple[Sessions, MatcherCache]] = {}
_runtimes_lock = threading.Lock()


def runtime(settings: Settings, *, threads: int | None = None) -> tuple[Sessions, MatcherCache]:
    """This process's session factory and matcher cache for ``settings`` (created once).

    Args:
        threads: native threads for matching (see :func:`limit_threads`); None leaves them.
    """
    from db.engine import make_engine, session_factory

    key = (settings.database_url, str(settings.index_dir), settings.match_effort)
    with _runtimes_lock:
        if key not in _runtimes:
            _runtimes[key] = (
                session_factory(make_engine(settings.database_url)),
                MatcherCache(settings.index_dir, threads=threads, effort=settings.match_effort),
            )
        return _runtimes[key]


def score_image(settings: Settings, listing_image_id: int) -> ScoreOutcome:
    """Score one listing image in this process (the embedded mode's path; workers call the same)."""
    sessions, matchers = runtime(settings)
    return score_batch(sessions, matchers.get(), settings, [listing_image_id])[0]
