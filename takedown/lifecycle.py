"""A notice's life: drafted from confirmed detections, edited, sent (SMTP or filed by hand), resolved.

Statuses and who may move them are in :data:`db.notices.TRANSITIONS`; every change is an event with
its time and actor. Removal is set by the crawler's re-check (:mod:`takedown.recheck`), or by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy.orm import Session

from copywatch.settings import Settings
from db.catalog import get_brand
from db.marketplaces import get_marketplace
from db.models import Notice, NoticeItem, NoticeStatus
from db.notices import (
    ConfirmedHit,
    add_event,
    change_status,
    confirmed_unnoticed,
    group_hits,
    insert_notice,
    lock_notice,
    rights_holder,
)
from takedown.notices import Holder, Infringement, recipient_for, render_notice, template_for


class NoticeError(ValueError):
    """A notice cannot be drafted or sent; the message says what is missing."""


def _holder(session: Session, brand_id: int) -> tuple[Holder, str | None]:
    profile = rights_holder(session, brand_id)
    if profile is None:
        brand = get_brand(session, brand_id)
        raise NoticeError(
            f"brand {brand.name if brand else brand_id!r} has no rights-holder profile; add one with "
            "`copywatch notice holder --brand NAME ...` or on the brand's notices page"
        )
    holder = Holder(
        legal_name=profile.legal_name,
        postal_address=profile.postal_address,
        email=profile.email,
        phone=profile.phone,
        agent_name=profile.agent_name,
        signature=profile.signature,
        registrations=tuple(str(r) for r in profile.registrations or ()),
    )
    return holder, profile.works_url_template


def _original_description(hit: ConfirmedHit) -> str:
    name = hit.original_title or "product photograph"
    sku = f", SKU {hit.original_sku}" if hit.original_sku else ""
    return f'Original photograph "{name}"{sku} (SHA-256 {hit.original_sha256[:16]}…)'


def _original_url(template: str | None, hit: ConfirmedHit) -> str | None:
    if not template:
        return None
    return template.format(
        sku=hit.original_sku or hit.original_id, id=hit.original_id, sha256=hit.original_sha256
    )


def draft_notices(
    session: Session,
    *,
    actor: str,
    brand_id: int | None = None,
    marketplace_id: int | None = None,
    seller: str | None = None,
    brand_ids: Collection[int] | None = None,
) -> list[int]:
    """One draft notice per (brand, marketplace, seller) of confirmed detections not yet noticed.

    Returns:
        The new notices' ids.

    Raises:
        NoticeError: a brand with hits has no rights-holder profile.
    """
    created = []
    hits = confirmed_unnoticed(
        session, brand_id=brand_id, marketplace_id=marketplace_id, seller=seller, brand_ids=brand_ids
    )
    for (group_brand, group_marketplace, group_seller), group in group_hits(hits).items():
        holder, works_url = _holder(session, group_brand)
        marketplace = get_marketplace(session, group_marketplace)
        assert marketplace is not None
        template = template_for(marketplace.settings)
        recipient = recipient_for(marketplace.settings)
        items = [
            Infringement(
                listing_url=h.listing_url,
                image_url=h.image_url,
                original_description=_original_description(h),
                original_url=_original_url(works_url, h),
                listing_title=h.listing_title,
                score=h.score,
            )
            for h in group
        ]
        rendered = render_notice(
            holder,
            brand=group[0].brand,
            marketplace=marketplace.name,
            seller=group_seller,
            items=items,
            template=template,
            recipient=recipient,
        )
        notice = Notice(
            brand_id=group_brand,
            marketplace_id=group_marketplace,
            seller=group_seller,
            template=template.name,
            recipient=recipient,
            subject=rendered.subject[:500],
            body_text=rendered.text,
            body_html=rendered.html,
            lumen=rendered.lumen,
            fields=rendered.fields,
            status=NoticeStatus.DRAFT,
            created_by=actor,
        )
        insert_notice(
            session,
            notice,
            [
                NoticeItem(
                    detection_id=hit.detection_id,
                    listing_id=hit.listing_id,
                    listing_url=hit.listing_url,
                    image_url=hit.image_url,
                    original_id=hit.original_id,
                    original_description=item.original_description,
                    original_url=item.original_url,
                )
                for hit, item in zip(group, items, strict=True)
            ],
        )
        add_event(session, notice, NoticeStatus.DRAFT, actor, note=f"{len(group)} listing(s)")
        session.flush()
        created.append(notice.id)
    return created


def edit_notice(
    session: Session, notice_id: int, *, actor: str, subject: str | None = None, body_text: str | None = None,
    recipient: str | None = None,
) -> Notice:  # fmt: skip
    """Change a draft's subject, text or recipient (sent notices are a record and stay as sent)."""
    notice = lock_notice(session, notice_id)
    if notice is None:
        raise LookupError(f"no notice {notice_id}")
    if notice.status != NoticeStatus.DRAFT:
        raise NoticeError(f"notice {notice_id} is {notice.status.value}; only drafts can be edited")
    if subject is not None and subject.strip():
        notice.subject = subject.strip()[:500]
    if body_text is not None and body_text.strip():
        notice.body_text = body_text.replace("\r\n", "\n")
    if recipient is not None:
        notice.recipient = recipient.strip() or None
    add_event(session, notice, NoticeStatus.DRAFT, actor, note="edited", from_status=NoticeStatus.DRAFT)
    session.flush()
    return notice


def notice_email(settings: Settings, notice: Notice, reply_to: str | None = None) -> EmailMessage:
    """The notice as an e-mail: text and HTML alternatives, the Lumen JSON attached."""
    import json

    if not notice.recipient:
        raise NoticeError(
            f"notice {notice.id} has no recipient: set the marketplace's takedown e-mail "
            '(settings {"takedown": {"email": ...}}) or edit the notice, or download it and file it by hand'
        )
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = settings.smtp_sender
    message["To"] = notice.recipient
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(notice.body_text)
    message.add_alternative(notice.body_html, subtype="html")
    message.add_attachment(
        json.dumps(notice.lumen, indent=2).encode(),
        maintype="application",
        subtype="json",
        filename=f"notice-{notice.id}.json",
    )
    return message


def send_notice(
    settings: Settings,
    session: Session,
    notice_id: int,
    *,
    actor: str,
    via_smtp: bool = True,
    deliver: Callable[[Settings, EmailMessage], None] | None = None,
) -> Notice:
    """Send a draft by SMTP (``via_smtp``, through ``deliver``: the project's SMTP client,
    ``workers.mail.deliver``) or record that it was filed by hand; marks it sent.

    Raises:
        NoticeError: no recipient (or no ``deliver``) for an SMTP send. smtplib.SMTPException,
            OSError: not sent (stays a draft).
    """
    notice = lock_notice(session, notice_id)
    if notice is None:
        raise LookupError(f"no notice {notice_id}")
    if notice.status != NoticeStatus.DRAFT:
        raise NoticeError(f"notice {notice_id} is {notice.status.value}, not a draft")
    sent_at = datetime.now(UTC)
    notice.lumen = {**notice.lumen, "date_sent": sent_at.isoformat().replace("+00:00", "Z")}
    if via_smtp:
        if deliver is None:
            raise NoticeError("no SMTP client given to send the notice with")
        profile = rights_holder(session, notice.brand_id)
        deliver(settings, notice_email(settings, notice, reply_to=profile.email if profile else None))
    return change_status(
        session,
        notice_id,
        NoticeStatus.SENT,
        actor=actor,
        note=f"e-mailed to {notice.recipient}" if via_smtp else "filed by hand",
        at=sent_at,
    )
