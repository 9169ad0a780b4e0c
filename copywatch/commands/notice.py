"""``copywatch notice``: rights-holder profiles, takedown notices (draft, edit, send, download) and
their status, as the review page does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from copywatch.settings import Settings

STATUS_CHOICES = ("sent", "removed", "refused", "counter_notice", "no_answer")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("notice", help="draft, edit, send and track takedown notices")
    actions = parser.add_subparsers(dest="notice_action", metavar="ACTION", required=True)

    holder = actions.add_parser("holder", help="set a brand's rights-holder profile")
    holder.add_argument("--brand", required=True)
    holder.add_argument("--legal-name", required=True)
    holder.add_argument("--address", required=True, help="postal address")
    holder.add_argument("--email", required=True)
    holder.add_argument("--phone")
    holder.add_argument("--agent", help="authorised agent's name, when not the owner")
    holder.add_argument("--signature", required=True, help="the typed signature line, e.g. the agent's name")
    holder.add_argument("--registration", action="append", default=[], help="a registration (repeatable)")
    holder.add_argument(
        "--works-url", help="where an original is published, e.g. https://brand.example/p/{sku}"
    )
    holder.set_defaults(handler=run_holder)

    draft = actions.add_parser("draft", help="draft one notice per marketplace and seller of confirmed hits")
    draft.add_argument("--brand")
    draft.add_argument("--marketplace")
    draft.add_argument("--seller")
    draft.add_argument("--as", dest="actor", default="cli", help="who drafts (recorded)")
    draft.set_defaults(handler=run_draft)

    listing = actions.add_parser("list", help="list notices")
    listing.add_argument("--status", choices=("draft", *STATUS_CHOICES))
    listing.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="print a notice as text, HTML or Lumen JSON")
    show.add_argument("id", type=int)
    show.add_argument("--format", choices=("text", "html", "json"), default="text")
    show.set_defaults(handler=run_show)

    download = actions.add_parser("download", help="write a notice's .txt, .html and .json files")
    download.add_argument("id", type=int)
    download.add_argument("--out", type=Path, default=Path("."), metavar="DIR")
    download.set_defaults(handler=run_download)

    edit = actions.add_parser("edit", help="change a draft's subject, text or recipient")
    edit.add_argument("id", type=int)
    edit.add_argument("--subject")
    edit.add_argument("--body-file", type=Path, help="the new text body")
    edit.add_argument("--recipient")
    edit.add_argument("--as", dest="actor", default="cli")
    edit.set_defaults(handler=run_edit)

    send = actions.add_parser("send", help="e-mail a draft over SMTP (or record it as filed by hand)")
    send.add_argument("id", type=int)
    send.add_argument("--by-hand", action="store_true", help="it was filed through the marketplace's form")
    send.add_argument("--as", dest="actor", default="cli")
    send.set_defaults(handler=run_send)

    status = actions.add_parser("status", help="record the marketplace's answer")
    status.add_argument("id", type=int)
    status.add_argument("status", choices=STATUS_CHOICES)
    status.add_argument("--note")
    status.add_argument("--as", dest="actor", default="cli")
    status.set_defaults(handler=run_status)

    recheck = actions.add_parser("recheck", help="re-check a marketplace's noticed listings now")
    recheck.add_argument("marketplace")
    recheck.set_defaults(handler=run_recheck)


class _Db:
    def __init__(self, settings: Settings) -> None:
        from db.engine import make_engine, session_factory

        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)

    def __enter__(self) -> _Db:
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()


def _fail(message: str, code: int = 1) -> int:
    print(f"copywatch notice: {message}", file=sys.stderr)
    return code


def _id_by_name(session: Any, kind: str, name: str | None) -> int | None:
    """The id of the ``kind`` ("brand" or "marketplace") named ``name``; None for no name."""
    from db.catalog import brand_id_by_name
    from db.marketplaces import marketplace_id_by_name

    if name is None:
        return None
    found = (brand_id_by_name if kind == "brand" else marketplace_id_by_name)(session, name)
    if found is None:
        raise LookupError(f"no {kind} named {name!r}")
    return found


def run_holder(args: argparse.Namespace, settings: Settings) -> int:
    from db.notices import upsert_rights_holder

    with _Db(settings) as db, db.sessions() as session, session.begin():
        try:
            brand_id = _id_by_name(session, "brand", args.brand)
        except LookupError as exc:
            return _fail(str(exc), 2)
        assert brand_id is not None
        upsert_rights_holder(
            session,
            brand_id,
            legal_name=args.legal_name,
            postal_address=args.address,
            email=args.email,
            phone=args.phone,
            agent_name=args.agent,
            signature=args.signature,
            registrations=list(args.registration),
            works_url_template=args.works_url,
        )
    print(f"rights holder of {args.brand}: {args.legal_name}")
    return 0


def run_draft(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.lifecycle import NoticeError, draft_notices

    with _Db(settings) as db, db.sessions() as session, session.begin():
        try:
            ids = draft_notices(
                session,
                actor=args.actor,
                brand_id=_id_by_name(session, "brand", args.brand),
                marketplace_id=_id_by_name(session, "marketplace", args.marketplace),
                seller=args.seller,
            )
        except (LookupError, NoticeError) as exc:
            return _fail(str(exc), 2)
    print(
        f"{len(ids)} notice(s) drafted"
        + (f": {', '.join(map(str, ids))}" if ids else " (no confirmed hit left)")
    )
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from db.models import NoticeStatus
    from db.notices import notices

    with _Db(settings) as db, db.sessions() as session:
        rows = notices(session, status=NoticeStatus(args.status) if args.status else None)
        for n in rows:
            removed = sum(1 for i in n.items if i.status.value == "removed")
            print(
                f"#{n.id}  {n.status.value:<14} {n.template:<10} seller {n.seller or '-'}  "
                f"{removed}/{len(n.items)} removed  {n.subject}"
            )
        if not rows:
            print("(no notices)")
    return 0


def _load(session: Any, notice_id: int) -> Any:
    from db.notices import get_notice

    notice = get_notice(session, notice_id)
    if notice is None:
        raise LookupError(f"no notice {notice_id}")
    return notice


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    with _Db(settings) as db, db.sessions() as session:
        try:
            notice = _load(session, args.id)
        except LookupError as exc:
            return _fail(str(exc), 2)
        if args.format == "json":
            print(json.dumps(notice.lumen, indent=2))
        else:
            print(notice.body_html if args.format == "html" else notice.body_text)
    return 0


def run_download(args: argparse.Namespace, settings: Settings) -> int:
    with _Db(settings) as db, db.sessions() as session:
        try:
            notice = _load(session, args.id)
        except LookupError as exc:
            return _fail(str(exc), 2)
        args.out.mkdir(parents=True, exist_ok=True)
        stem = args.out / f"notice-{notice.id}"
        stem.with_suffix(".txt").write_text(notice.body_text, encoding="utf-8")
        stem.with_suffix(".html").write_text(notice.body_html, encoding="utf-8")
        stem.with_suffix(".json").write_text(json.dumps(notice.lumen, indent=2), encoding="utf-8")
    print(f"wrote {stem}.txt, .html and .json")
    return 0


def run_edit(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.lifecycle import NoticeError, edit_notice

    body = args.body_file.read_text(encoding="utf-8") if args.body_file else None
    with _Db(settings) as db, db.sessions() as session, session.begin():
        try:
            edit_notice(
                session,
                args.id,
                actor=args.actor,
                subject=args.subject,
                body_text=body,
                recipient=args.recipient,
            )
        except (LookupError, NoticeError) as exc:
            return _fail(str(exc), 2)
    print(f"notice {args.id} edited")
    return 0


def run_send(args: argparse.Namespace, settings: Settings) -> int:
    import smtplib

    from takedown.lifecycle import NoticeError, send_notice
    from workers.mail import deliver

    with _Db(settings) as db, db.sessions() as session, session.begin():
        try:
            notice = send_notice(
                settings, session, args.id, actor=args.actor, via_smtp=not args.by_hand, deliver=deliver
            )
        except (LookupError, NoticeError) as exc:
            return _fail(str(exc), 2)
        except (smtplib.SMTPException, OSError) as exc:
            return _fail(f"not sent ({exc}); the notice stays a draft")
        how = "recorded as filed by hand" if args.by_hand else f"e-mailed to {notice.recipient}"
    print(f"notice {args.id} sent: {how}")
    return 0


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    from db.models import NoticeStatus
    from db.notices import NoticeStateError, change_status

    with _Db(settings) as db, db.sessions() as session, session.begin():
        try:
            change_status(session, args.id, NoticeStatus(args.status), actor=args.actor, note=args.note)
        except (LookupError, NoticeStateError) as exc:
            return _fail(str(exc), 2)
    print(f"notice {args.id}: {args.status}")
    return 0


def run_recheck(args: argparse.Namespace, settings: Settings) -> int:
    from takedown.recheck import recheck_marketplace

    with _Db(settings) as db:
        with db.sessions() as session:
            try:
                marketplace_id = _id_by_name(session, "marketplace", args.marketplace)
            except LookupError as exc:
                return _fail(str(exc), 2)
        assert marketplace_id is not None
        summary = recheck_marketplace(settings, db.sessions, marketplace_id)
    print(json.dumps(summary.as_dict()))
    return 0
