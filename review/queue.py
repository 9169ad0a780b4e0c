"""The review queue: filter and page through detections, look at the evidence, confirm or dismiss.

Pages use keyset pagination (``db.review_queue.review_queue(after=...)``), so page 2,000 costs what
page 1 costs. A reviewer decides on new detections; changing a decision already made is for admins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from db.detections import review_detection
from db.models import (
    Brand,
    Detection,
    DetectionStatus,
    Listing,
    ListingImage,
    Marketplace,
    Original,
    Role,
    User,
)
from db.review_queue import QueueFilters, review_queue
from review.state import db

bp = Blueprint("queue", __name__)

PAGE_SIZE = 50
FILTER_KEYS = ("brand", "marketplace", "status", "min", "max", "since", "until")
ACTIONS = {
    "confirm": DetectionStatus.CONFIRMED,
    "dismiss": DetectionStatus.DISMISSED,
    "reopen": DetectionStatus.NEW,
}
STATUS_VALUES = {s.value for s in DetectionStatus}
MAX_NOTE = 2000
MAX_BULK = 500
# Counting stops here ("10,000+"): the cost of the number next to the title stays flat however
# deep the backlog grows; the reports give exact totals.
COUNT_CAP = 10_000


# --- filters -----------------------------------------------------------------------------------------


MAX_ID = 2**31 - 1  # row ids are 32-bit integers on PostgreSQL
MAX_ARG_LENGTH = 100


def _bad(name: str, raw: str, expected: str) -> NoReturn:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    abort(400, f"{name}={shown!r} is not {expected}.")


def _raw_arg(args: MultiDict, name: str) -> str:
    raw = args.get(name)
    return raw.strip() if isinstance(raw, str) else ""


def _id_value(name: str, raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 1 <= int(raw) <= MAX_ID:
        _bad(name, raw, f"an id (a whole number from 1 to {MAX_ID})")
    return int(raw)


def _int_arg(args: MultiDict, name: str) -> int | None:
    raw = _raw_arg(args, name)
    return _id_value(name, raw) if raw else None


def _finite(raw: str) -> float | None:
    if len(raw) > MAX_ARG_LENGTH:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _percent_arg(args: MultiDict, name: str) -> float | None:
    raw = _raw_arg(args, name)
    if not raw:
        return None
    value = _finite(raw)
    if value is None:
        _bad(name, raw, "a percentage (a number from 0 to 100)")
    return min(max(value, 0.0), 100.0) / 100.0


def _date_arg(args: MultiDict, name: str) -> date | None:
    raw = _raw_arg(args, name)
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value >= date.max:
        _bad(name, raw, "a date (YYYY-MM-DD)")
    return value


def parse_filters(args: MultiDict) -> tuple[QueueFilters, dict[str, Any]]:
    """Queue filters from query arguments, and the cleaned arguments to rebuild links with.

    Raises:
        werkzeug.exceptions.BadRequest: a value that is not what its filter takes (400, with a message).
    """
    status_raw = _raw_arg(args, "status") or "new"
    status: DetectionStatus | None = DetectionStatus.NEW
    if status_raw == "all":
        status = None
    elif status_raw in STATUS_VALUES:
        status = DetectionStatus(status_raw)
    else:
        _bad("status", status_raw, f"one of {', '.join(sorted(STATUS_VALUES))} or all")
    since, until = _date_arg(args, "since"), _date_arg(args, "until")
    filters = QueueFilters(
        brand_id=_int_arg(args, "brand"),
        marketplace_id=_int_arg(args, "marketplace"),
        status=status,
        min_score=_percent_arg(args, "min"),
        max_score=_percent_arg(args, "max"),
        since=datetime.combine(since, time.min) if since else None,
        # "until" is inclusive for people: everything on that day too.
        until=datetime.combine(until + timedelta(days=1), time.min) if until else None,
    )
    clean: dict[str, Any] = {k: _raw_arg(args, k) for k in FILTER_KEYS if _raw_arg(args, k)}
    clean["status"] = status.value if status else "all"
    return filters, clean


def _parse_after(raw: str | None) -> tuple[float, int] | None:
    """The keyset cursor ``score:id`` of the next page; anything else is a 400."""
    if not raw:
        return None
    score_raw, sep, id_raw = raw.partition(":")
    score = _finite(score_raw)
    if not sep or score is None:
        _bad("after", raw, "a page cursor (score:id)")
    return score, _id_value("after", id_raw)


def _json_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object (400 otherwise)."""
    payload = request.get_json(silent=True)
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        abort(400, f"The body must be a JSON object, got {type(payload).__name__}.")
    return payload


# --- rows for display --------------------------------------------------------------------------------


@dataclass
class QueueRow:
    id: int
    score: float
    status: str
    kind: str
    created_at: datetime | None
    listing_image_id: int
    original_id: int | None
    listing_title: str | None
    listing_url: str
    price: Any
    currency: str | None
    seller: str | None
    marketplace: str
    brand: str | None
    sku: str | None
    logo_verdict: str | None

    @property
    def percent(self) -> float:
        return round(self.score * 100, 1)


def queue_rows(session: Session, detections: list[Detection]) -> list[QueueRow]:
    """The page's detections with their listing, marketplace, original and brand, in one query."""
    if not detections:
        return []
    ids = [d.id for d in detections]
    rows = session.execute(
        select(
            Detection.id,
            ListingImage.id,
            Listing.title,
            Listing.url,
            Listing.price,
            Listing.currency,
            Listing.seller,
            Marketplace.name,
            Brand.name,
            Original.sku,
        )
        .join(ListingImage, ListingImage.id == Detection.listing_image_id)
        .join(Listing, Listing.id == ListingImage.listing_id)
        .join(Marketplace, Marketplace.id == Listing.marketplace_id)
        .outerjoin(Original, Original.id == Detection.original_id)
        .outerjoin(Brand, Brand.id == Original.brand_id)
        .where(Detection.id.in_(ids))
    ).all()
    extra = {r[0]: r[1:] for r in rows}
    out = []
    for d in detections:
        image_id, title, url, price, currency, seller, marketplace, brand, sku = extra[d.id]
        out.append(
            QueueRow(
                id=d.id,
                score=d.score,
                status=d.status.value,
                kind=d.kind.value,
                created_at=d.created_at,
                listing_image_id=image_id,
                original_id=d.original_id,
                listing_title=title,
                listing_url=url,
                price=price,
                currency=currency,
                seller=seller,
                marketplace=marketplace,
                brand=brand,
                sku=sku,
                logo_verdict=(d.logo_verdict or {}).get("verdict"),
            )
        )
    return out


def queue_count(session: Session, filters: QueueFilters, cap: int = COUNT_CAP) -> int:
    """How many detections match ``filters``, counted up to ``cap + 1``.

    The same conditions as ``db.review_queue.review_queue_query``, but joining the listing and the
    original only when a filter needs them, so the plain status count is an index-only scan.
    """
    query = select(Detection.id)
    if filters.marketplace_id is not None:
        query = (
            query.join(ListingImage, ListingImage.id == Detection.listing_image_id)
            .join(Listing, Listing.id == ListingImage.listing_id)
            .where(Listing.marketplace_id == filters.marketplace_id)
        )
    if filters.brand_id is not None:
        query = query.join(Original, Original.id == Detection.original_id).where(
            Original.brand_id == filters.brand_id
        )
    if filters.status is not None:
        query = query.where(Detection.status == filters.status)
    if filters.min_score is not None:
        query = query.where(Detection.score >= filters.min_score)
    if filters.max_score is not None:
        query = query.where(Detection.score <= filters.max_score)
    if filters.since is not None:
        query = query.where(Detection.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(Detection.created_at < filters.until)
    if filters.kind is not None:
        query = query.where(Detection.kind == filters.kind)
    return int(
        session.execute(select(func.count()).select_from(query.limit(cap + 1).subquery())).scalar_one()
    )


def _choices(session: Session) -> dict[str, list[tuple[int, str]]]:
    return {
        "brands": [(int(i), str(n)) for i, n in session.execute(select(Brand.id, Brand.name).order_by(Brand.name))],
        "marketplaces": [
            (int(i), str(n))
            for i, n in session.execute(select(Marketplace.id, Marketplace.name).order_by(Marketplace.name))
        ],
    }


@bp.app_template_filter("component")
def format_component(value: Any, name: str = "") -> str:
    """A score component for people: counts as integers, flags as yes/no, rates as %, the rest to 3 places."""
    if isinstance(value, bool) or name in {"mirrored"}:
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    if name.endswith("_rate"):
        return f"{value * 100:.2f} %"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.3f}"


# --- views ---------------------------------------------------------------------------------------------


@bp.route("/")
def home() -> Any:
    return redirect(url_for("queue.index"))


@bp.route("/queue")
def index() -> Any:
    session = db()
    filters, clean = parse_filters(request.args)
    after = _parse_after(request.args.get("after"))
    detections = review_queue(session, filters, limit=PAGE_SIZE + 1, after=after)
    has_more = len(detections) > PAGE_SIZE
    detections = detections[:PAGE_SIZE]
    rows = queue_rows(session, detections)
    total = queue_count(session, filters)
    next_url = None
    if has_more:
        last = detections[-1]
        next_url = url_for("queue.index", **clean, after=f"{last.score!r}:{last.id}")
    return render_template(
        "queue.html",
        rows=rows,
        total=total,
        count_cap=COUNT_CAP,
        filters=clean,
        next_url=next_url,
        first_url=url_for("queue.index", **clean) if after else None,
        queue_qs=urlencode(clean),
        statuses=["new", "confirmed", "dismissed", "all"],
        **_choices(session),
    )


def _load_detection(session: Session, detection_id: int) -> Detection:
    detection = session.get(Detection, detection_id)
    if detection is None:
        abort(404, "No such detection.")
    return detection


@bp.route("/detections/<int:detection_id>")
def detail(detection_id: int) -> Any:
    session = db()
    detection = _load_detection(session, detection_id)
    image = detection.listing_image
    listing = image.listing
    marketplace = session.get(Marketplace, listing.marketplace_id)
    original = detection.original
    brand = session.get(Brand, original.brand_id) if original is not None else None
    reviewer = session.get(User, detection.reviewer_id) if detection.reviewer_id else None
    from review.media import image_size

    queue_qs = _clean_qs(request.args.get("q", ""))
    filters, _ = parse_filters(MultiDict(parse_qsl(queue_qs)))
    following = review_queue(session, filters, limit=1, after=(detection.score, detection.id))
    return render_template(
        "detail.html",
        d=detection,
        image=image,
        listing=listing,
        marketplace=marketplace,
        original=original,
        brand=brand,
        reviewer=reviewer,
        listing_size=image_size(image.path, image.width, image.height),
        original_size=image_size(original.image_path, original.width, original.height) if original else None,
        queue_qs=queue_qs,
        queue_url=url_for("queue.index") + ("?" + queue_qs if queue_qs else ""),
        next_url=url_for("queue.detail", detection_id=following[0].id, q=queue_qs) if following else None,
        can_change=detection.status == DetectionStatus.NEW or g.user.role == Role.ADMIN,
    )


def _clean_qs(queue_qs: str) -> str:
    """Only the known filter keys of a queue query string (it comes back from a form)."""
    pairs = [(k, v) for k, v in parse_qsl(queue_qs) if k in FILTER_KEYS]
    return urlencode(pairs)


def _apply_review(session: Session, detection: Detection, action: str, note: str | None) -> None:
    status = ACTIONS.get(action)
    if status is None:
        abort(400, f"unknown action {action[:40]!r}; use confirm, dismiss or reopen")
    is_admin = g.user.role == Role.ADMIN
    if (detection.status != DetectionStatus.NEW or status == DetectionStatus.NEW) and not is_admin:
        abort(403, "This detection has already been reviewed; only an administrator can change a review.")
    if note is not None:
        note = note.strip()[:MAX_NOTE] or None
    review_detection(session, detection.id, status, reviewer_id=g.user.id, note=note)


@bp.route("/detections/<int:detection_id>/review", methods=["POST"])
def review(detection_id: int) -> Any:
    session = db()
    detection = _load_detection(session, detection_id)
    score, last_id = detection.score, detection.id
    action = request.form.get("action", "")
    _apply_review(session, detection, action, request.form.get("note"))
    session.commit()
    flash(f"Detection #{detection_id} {ACTIONS[action].value}.", "ok")
    queue_qs = _clean_qs(request.form.get("q", ""))
    # Straight on to the next detection of the same queue: reviewing is a loop, not a round trip.
    filters, _ = parse_filters(MultiDict(parse_qsl(queue_qs)))
    following = review_queue(session, filters, limit=1, after=(score, last_id))
    if following and action != "reopen":
        return redirect(url_for("queue.detail", detection_id=following[0].id, q=queue_qs))
    return redirect(url_for("queue.index") + ("?" + queue_qs if queue_qs else ""))


@bp.route("/api/detections/<int:detection_id>/review", methods=["POST"])
def review_api(detection_id: int) -> Any:
    """The queue page's keyboard shortcuts post here (JSON body, CSRF token in a header)."""
    session = db()
    payload = _json_object()
    detection = _load_detection(session, detection_id)
    action, note = payload.get("action", ""), payload.get("note")
    if not isinstance(action, str) or not (note is None or isinstance(note, str)):
        abort(400, "action and note must be strings.")
    _apply_review(session, detection, action, note)
    session.commit()
    return jsonify(id=detection.id, status=detection.status.value)


@bp.route("/queue/bulk", methods=["POST"])
def bulk() -> Any:
    session = db()
    action = request.form.get("action", "")
    if action not in {"confirm", "dismiss"}:
        abort(400, "Bulk actions are confirm or dismiss.")
    ids = sorted({_id_value("ids", i.strip()) for i in request.form.getlist("ids")[: MAX_BULK * 2]})[:MAX_BULK]
    if not ids:
        flash("Select detections first (x or the checkboxes).", "error")
    else:
        done = 0
        for detection in session.execute(select(Detection).where(Detection.id.in_(ids))).scalars():
            if detection.status == DetectionStatus.NEW or g.user.role == Role.ADMIN:
                _apply_review(session, detection, action, request.form.get("note"))
                done += 1
        session.commit()
        flash(f"{done} detection{'s' if done != 1 else ''} {ACTIONS[action].value}.", "ok")
    return redirect(
        url_for("queue.index") + ("?" + _clean_qs(request.form.get("q", "")) if request.form.get("q") else "")
    )
