"""The review queue: filter and page through detections, look at the evidence, confirm or dismiss.

Pages use keyset pagination (``db.review_queries.queue_page(after=...)``), so page 2,000 costs what
page 1 costs. A reviewer sees and decides on detections of the brands granted to them only
(``db.scoping``); changing a decision already made is for admins.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from db.detections import review_detection
from db.models import Detection, DetectionStatus, Role
from db.review_queries import (
    detection_context,
    filter_choices,
    queue_count,
    queue_page,
    queue_page_by_risk,
    queue_rows,
    risk_key,
    visible_detection,
    visible_detections,
)
from db.review_queue import QueueFilters
from review.state import db, scope

bp = Blueprint("queue", __name__)

PAGE_SIZE = 50
FILTER_KEYS = ("brand", "marketplace", "status", "min", "max", "since", "until", "order", "label")
LABEL_VALUES = {"copy", "variant"}  # the "Match" filter: copies or variants of the original
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
    label = _raw_arg(args, "label") or None
    if label is not None and label not in LABEL_VALUES:
        _bad("label", label, f"one of {', '.join(sorted(LABEL_VALUES))}")
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
        label=label,
    )
    clean: dict[str, Any] = {k: _raw_arg(args, k) for k in FILTER_KEYS if _raw_arg(args, k)}
    clean["status"] = status.value if status else "all"
    return filters, clean


def _page(
    session: Session, filters: QueueFilters, order: str, limit: int, after: str | Detection | None
) -> list[Detection]:
    """A page in score order, or (``order=risk``) by the seller's risk score, after a position given
    as the ``after`` argument's text or as the detection last seen."""
    if order == "risk":
        if isinstance(after, Detection):
            key: tuple[float, float, int] | None = risk_key(session, after)
        else:
            key = _parse_risk_after(after)
        return queue_page_by_risk(session, filters, scope(), limit=limit, after=key)
    position = (after.score, after.id) if isinstance(after, Detection) else _parse_after(after)
    return queue_page(session, filters, scope(), limit=limit, after=position)


def _order(args: MultiDict) -> str:
    """``score`` (the default) or ``risk`` (the seller's risk score first); anything else is a 400."""
    raw = _raw_arg(args, "order")
    if raw not in {"", "score", "risk"}:
        _bad("order", raw, "score or risk")
    return raw or "score"


def _parse_risk_after(raw: str | None) -> tuple[float, float, int] | None:
    """The risk-ordered cursor ``risk:score:id``; anything else is a 400."""
    if not raw:
        return None
    parts = raw.split(":")
    numbers = [_finite(p) for p in parts[:2]]
    if len(parts) != 3 or numbers[0] is None or numbers[1] is None:
        _bad("after", raw, "a page cursor (risk:score:id)")
    return float(numbers[0] or 0.0), float(numbers[1] or 0.0), _id_value("after", parts[2])


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
    order = _order(request.args)
    after = request.args.get("after")
    detections = _page(session, filters, order, PAGE_SIZE + 1, after)
    has_more = len(detections) > PAGE_SIZE
    detections = detections[:PAGE_SIZE]
    rows = queue_rows(session, detections)
    total = queue_count(session, filters, scope(), COUNT_CAP)
    next_url = None
    if has_more:
        last = detections[-1]
        position = f"{last.score!r}:{last.id}"
        if order == "risk":
            position = f"{risk_key(session, last)[0]!r}:{position}"
        next_url = url_for("queue.index", **clean, after=position)
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
        **filter_choices(session, scope()),
    )


def _load_detection(session: Session, detection_id: int) -> Detection:
    # Another brand's detection gets the answer a missing one gets: its id reveals nothing.
    detection = visible_detection(session, scope(), detection_id)
    if detection is None:
        abort(404, "No such detection.")
    return detection


@bp.route("/detections/<int:detection_id>")
def detail(detection_id: int) -> Any:
    session = db()
    detection = _load_detection(session, detection_id)
    image = detection.listing_image
    listing = image.listing
    original = detection.original
    context = detection_context(session, detection)
    from review.media import image_size

    queue_qs = _clean_qs(request.args.get("q", ""))
    filters, _ = parse_filters(MultiDict(parse_qsl(queue_qs)))
    following = _page(session, filters, _order(MultiDict(parse_qsl(queue_qs))), 1, detection)
    return render_template(
        "detail.html",
        d=detection,
        image=image,
        listing=listing,
        marketplace=context.marketplace,
        original=original,
        brand=context.brand,
        reviewer=context.reviewer,
        seller=context.seller,
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
    queue_qs_raw = _clean_qs(request.form.get("q", ""))
    order = _order(MultiDict(parse_qsl(queue_qs_raw)))
    position = risk_key(session, detection) if order == "risk" else None
    score, last_id = detection.score, detection.id
    action = request.form.get("action", "")
    _apply_review(session, detection, action, request.form.get("note"))
    session.commit()
    flash(f"Detection #{detection_id} {ACTIONS[action].value}.", "ok")
    queue_qs = _clean_qs(request.form.get("q", ""))
    # Straight on to the next detection of the same queue: reviewing is a loop, not a round trip.
    filters, _ = parse_filters(MultiDict(parse_qsl(queue_qs)))
    if position is not None:
        following = queue_page_by_risk(session, filters, scope(), limit=1, after=position)
    else:
        following = queue_page(session, filters, scope(), limit=1, after=(score, last_id))
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
    ids = sorted({_id_value("ids", i.strip()) for i in request.form.getlist("ids")[: MAX_BULK * 2]})[
        :MAX_BULK
    ]
    if not ids:
        flash("Select detections first (x or the checkboxes).", "error")
    else:
        done = 0
        for detection in visible_detections(session, scope(), ids):
            if detection.status == DetectionStatus.NEW or g.user.role == Role.ADMIN:
                _apply_review(session, detection, action, request.form.get("note"))
                done += 1
        session.commit()
        flash(f"{done} detection{'s' if done != 1 else ''} {ACTIONS[action].value}.", "ok")
    return redirect(
        url_for("queue.index") + ("?" + _clean_qs(request.form.get("q", "")) if request.form.get("q") else "")
    )
