"""Takedown pages: a detection's evidence (capture, bundle download), rights-holder profiles, and
notices — draft from confirmed hits, edit, send by SMTP or record a hand-filed send, download,
follow the marketplace's answer.

Queries take ``brand_ids`` (the brands the user may see); :func:`visible_brand_ids` is the one
place that decides it.
"""

from __future__ import annotations

import json
import smtplib
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, send_file, url_for

from db.catalog import brands_by_name, get_brand
from db.evidence import bundle_detections, evidence_for_detection, listings_of_detections
from db.marketplaces import get_marketplace, list_marketplaces
from db.models import NoticeStatus
from db.notices import (
    NoticeStateError,
    change_status,
    confirmed_unnoticed,
    get_notice,
    group_hits,
    notice_events,
    notices,
    rights_holder,
    upsert_rights_holder,
)
from review.state import db, state

bp = Blueprint("takedown", __name__)

ANSWERS = ("removed", "refused", "counter_notice", "no_answer")
MAX_FIELD = 4000


def visible_brand_ids() -> Collection[int] | None:
    """The brands the logged-in user may see (None: all, an admin), from ``db.scoping``."""
    from db.scoping import scope_for_user

    return scope_for_user(db(), g.get("user")).brand_ids


def _actor() -> str:
    return str(g.user.email)


@bp.app_context_processor
def _evidence_helpers() -> dict[str, Any]:
    def takedown_evidence(detection_id: int) -> list[Any]:
        return evidence_for_detection(db(), detection_id, visible_brand_ids())

    return {"takedown_evidence": takedown_evidence}


# --- evidence ------------------------------------------------------------------------------------------


@bp.route("/detections/<int:detection_id>/evidence.zip")
def bundle(detection_id: int) -> Any:
    from takedown.bundle import build_bundle

    items = bundle_detections(db(), [detection_id], visible_brand_ids())
    if not items:
        abort(404, "No such detection.")
    with tempfile.TemporaryDirectory(prefix="copywatch-bundle-") as tmp:
        out = Path(tmp) / f"copywatch-evidence-detection-{detection_id}.zip"
        build_bundle(items, state().settings.media_root, out)
        data = out.read_bytes()
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{out.name}"'},
    )


@bp.route("/detections/<int:detection_id>/evidence/capture", methods=["POST"])
def capture(detection_id: int) -> Any:
    settings = state().settings
    session = db()
    if not bundle_detections(session, [detection_id], visible_brand_ids()):
        abort(404, "No such detection.")
    targets = listings_of_detections(session, [detection_id])
    if settings.eager:
        from takedown.capture import capture_listing
        from takedown.screenshot import Screenshotter

        with Screenshotter(settings.chromium_path, user_agent=settings.crawl_user_agent) as browser:
            for listing_id, did in targets:
                outcome = capture_listing(
                    settings, state().sessions, listing_id, detection_id=did, screenshotter=browser
                )
                flash(f"Evidence: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""), "ok")
    else:
        from workers.evidence_enqueue import enqueue_captures

        enqueue_captures(settings, [detection_id])
        flash("Evidence capture queued; reload in a moment.", "ok")
    return redirect(url_for("queue.detail", detection_id=detection_id))


@bp.route("/detections/<int:detection_id>/evidence/<int:evidence_id>")
def evidence_file(detection_id: int, evidence_id: int) -> Any:
    from takedown.store import stored_path

    row = next(
        (e for e in evidence_for_detection(db(), detection_id, visible_brand_ids()) if e.id == evidence_id),
        None,
    )
    if row is None or row.path is None:
        abort(404, "No such evidence file.")
    path = stored_path(state().settings.media_root, row.path)
    if not path.is_file():
        abort(404, "The evidence file is missing from MEDIA_ROOT.")
    is_png = path.suffix == ".png"
    return send_file(
        path,
        mimetype="image/png" if is_png else "application/warc",
        as_attachment=not is_png,
        download_name=path.name,
        max_age=3600,
    )


# --- rights holders ------------------------------------------------------------------------------------


@bp.route("/brands/<int:brand_id>/rights-holder", methods=["GET", "POST"])
def holder(brand_id: int) -> Any:
    session = db()
    brand = get_brand(session, brand_id)
    allowed = visible_brand_ids()
    if brand is None or (allowed is not None and brand_id not in allowed):
        abort(404, "No such brand.")
    profile = rights_holder(session, brand_id)
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip()[:MAX_FIELD] for k in (
            "legal_name", "postal_address", "email", "phone", "agent_name", "signature", "works_url_template")}  # fmt: skip
        missing = [k for k in ("legal_name", "postal_address", "email", "signature") if not form[k]]
        if missing:
            flash("Required: " + ", ".join(m.replace("_", " ") for m in missing) + ".", "error")
        else:
            registrations = [
                r.strip() for r in (request.form.get("registrations") or "").splitlines() if r.strip()
            ]
            upsert_rights_holder(
                session,
                brand_id,
                registrations=registrations,
                **{
                    k: (v or None) if k in {"phone", "agent_name", "works_url_template"} else v
                    for k, v in form.items()
                },
            )
            session.commit()
            flash(f"Rights holder of {brand.name} saved.", "ok")
            return redirect(url_for("takedown.index"))
    return render_template("takedown/holder.html", brand=brand, profile=profile)


# --- notices -------------------------------------------------------------------------------------------


@bp.route("/notices")
def index() -> Any:
    session = db()
    allowed = visible_brand_ids()
    groups = group_hits(confirmed_unnoticed(session, brand_ids=allowed))
    brands = brands_by_name(session)
    return render_template(
        "takedown/notices.html",
        groups=groups,
        notices=notices(session, brand_ids=allowed),
        brands=[b for b in brands if allowed is None or b.id in allowed],
        holders={b.id: rights_holder(session, b.id) for b in brands},
        marketplaces={m.id: m.name for m in list_marketplaces(session)},
    )


@bp.route("/notices/draft", methods=["POST"])
def draft() -> Any:
    from takedown.lifecycle import NoticeError, draft_notices

    session = db()
    try:
        ids = draft_notices(
            session,
            actor=_actor(),
            brand_id=request.form.get("brand_id", type=int),
            marketplace_id=request.form.get("marketplace_id", type=int),
            seller=request.form.get("seller") or None,
            brand_ids=visible_brand_ids(),
        )
    except NoticeError as exc:
        flash(str(exc), "error")
        return redirect(url_for("takedown.index"))
    session.commit()
    flash(f"{len(ids)} notice(s) drafted.", "ok")
    if len(ids) == 1:
        return redirect(url_for("takedown.notice", notice_id=ids[0]))
    return redirect(url_for("takedown.index"))


def _notice_or_404(notice_id: int) -> Any:
    found = get_notice(db(), notice_id, visible_brand_ids())
    if found is None:
        abort(404, "No such notice.")
    return found


@bp.route("/notices/<int:notice_id>")
def notice(notice_id: int) -> Any:
    found = _notice_or_404(notice_id)
    session = db()
    return render_template(
        "takedown/notice.html",
        n=found,
        events=notice_events(session, notice_id),
        marketplace=get_marketplace(session, found.marketplace_id),
        answers=ANSWERS,
        can_smtp=bool(state().settings.smtp_host and found.recipient),
        lumen=json.dumps(found.lumen, indent=2),
    )


@bp.route("/notices/<int:notice_id>/edit", methods=["POST"])
def edit(notice_id: int) -> Any:
    from takedown.lifecycle import NoticeError, edit_notice

    _notice_or_404(notice_id)
    try:
        edit_notice(
            db(),
            notice_id,
            actor=_actor(),
            subject=(request.form.get("subject") or "")[:500],
            body_text=(request.form.get("body_text") or "")[:200_000],
            recipient=(request.form.get("recipient") or "")[:320],
        )
    except NoticeError as exc:
        flash(str(exc), "error")
        return redirect(url_for("takedown.notice", notice_id=notice_id))
    db().commit()
    flash("Notice saved.", "ok")
    return redirect(url_for("takedown.notice", notice_id=notice_id))


@bp.route("/notices/<int:notice_id>/send", methods=["POST"])
def send(notice_id: int) -> Any:
    from takedown.lifecycle import NoticeError, send_notice
    from workers.mail import deliver

    _notice_or_404(notice_id)
    by_hand = request.form.get("how") == "by_hand"
    session = db()
    try:
        send_notice(
            state().settings, session, notice_id, actor=_actor(), via_smtp=not by_hand, deliver=deliver
        )
    except NoticeError as exc:
        session.rollback()
        flash(str(exc), "error")
    except (smtplib.SMTPException, OSError) as exc:
        session.rollback()
        flash(f"Not sent ({exc}); the notice stays a draft.", "error")
    else:
        session.commit()
        flash("Notice recorded as filed by hand." if by_hand else "Notice e-mailed.", "ok")
    return redirect(url_for("takedown.notice", notice_id=notice_id))


@bp.route("/notices/<int:notice_id>/status", methods=["POST"])
def status(notice_id: int) -> Any:
    _notice_or_404(notice_id)
    answer = request.form.get("status", "")
    if answer not in ANSWERS:
        abort(400, f"unknown status {answer!r}")
    session = db()
    try:
        change_status(
            session, notice_id, NoticeStatus(answer), actor=_actor(), note=(request.form.get("note") or None)
        )
    except NoticeStateError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        session.commit()
        flash(f"Notice marked {answer.replace('_', ' ')}.", "ok")
    return redirect(url_for("takedown.notice", notice_id=notice_id))


@bp.route("/notices/<int:notice_id>.<fmt>")
def download(notice_id: int, fmt: str) -> Any:
    found = _notice_or_404(notice_id)
    if fmt == "txt":
        body, mimetype = found.body_text, "text/plain"
    elif fmt == "html":
        body, mimetype = found.body_html, "text/html"
    elif fmt == "json":
        body, mimetype = json.dumps(found.lumen, indent=2), "application/json"
    else:
        abort(404, "Notices download as .txt, .html or .json.")
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="notice-{notice_id}.{fmt}"'
    # A downloaded HTML notice is the marketplace's to read, not this app's to run.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
