"""Alert digests: one email per brand listing its new detections at or above the alert threshold.

Exactly-once as far as the database can make it: each brand's candidate detections are locked
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL) for the whole send, so a second ``send_alerts``
running at the same time skips them; they are marked ``alerted_at`` in the same transaction only
after the SMTP server accepted the message. A failed send rolls back — nothing is marked and the
next run (or the task's retry) mails them. The one gap left is a crash between the server's
acceptance and the commit, which can repeat a digest (never lose one).

Logo-only hits (no matched original) belong to no brand and are left to the review queue.
"""

from __future__ import annotations

import contextlib
import html
import logging
import smtplib
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from sqlalchemy.orm import Session

from copywatch.links import http_url
from copywatch.settings import Settings, is_loopback_host
from db.alerts import alert_rows, brand_recipients, brands_with_candidates, lock_candidates, mark_alerted
from db.common import is_postgresql
from db.sellers import seller_risk_of_detections

log = logging.getLogger(__name__)

Sessions = Callable[[], Session]
MAX_PER_DIGEST = 200  # more waits for the next digest: a mail client chokes on thousands of images
THUMBNAIL_SIDE = 240

# SQLite has no row locks to skip; the embedded mode runs one process, so a lock here suffices.
_sqlite_lock = threading.Lock()


@dataclass
class AlertItem:
    """One detection as it appears in a digest."""

    detection_id: int
    score: float
    kind: str
    listing_url: str
    listing_title: str | None
    seller: str | None
    marketplace: str
    original_label: str
    logo_verdict: str | None
    listing_file: Path | None
    original_file: Path | None
    seller_risk: float = 0.0  # the seller's risk score (db.risk): the digest leads with the riskiest sellers


# Worth another try later: the server could not be reached, or dropped or timed out the
# connection. A refusal (recipients refused, sender refused, authentication failed, message
# rejected) is permanent: sending the same digest again only gets the same answer.
RETRYABLE_SEND_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,  # socket.timeout is TimeoutError
)


def _stored(settings: Settings, path: str | None) -> Path | None:
    if not path:
        return None
    p = Path(path)
    return p if p.is_absolute() else settings.media_root / p


def _thumbnail(path: Path | None) -> bytes | None:
    """A small JPEG of a stored image, or None when it cannot be read (the mail still goes)."""
    if path is None:
        return None
    try:
        import cv2

        from detection.imageio import load_image

        image = load_image(path)
        h, w = image.shape[:2]
        scale = THUMBNAIL_SIDE / max(h, w)
        if scale < 1:
            image = cv2.resize(
                image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA
            )
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return bytes(data) if ok else None
    except Exception as exc:  # noqa: BLE001 - a missing thumbnail must not block the alert
        log.warning("no thumbnail for %s: %s", path, exc)
        return None


def compose_digest(
    settings: Settings, brand: str, recipients: Sequence[str], items: Sequence[AlertItem]
) -> EmailMessage:
    """The digest email: plain-text and HTML parts, thumbnails as inline (CID) images.

    Args:
        settings: sender address and ``base_url`` for the review links.
        brand: the brand's name.
        recipients: the brand's alert addresses.
        items: the detections, best first.
    """
    message = EmailMessage()
    message["Subject"] = f"Copywatch: {len(items)} new detection{'s' if len(items) != 1 else ''} for {brand}"
    message["From"] = settings.smtp_sender
    message["To"] = ", ".join(recipients)
    base = settings.base_url.rstrip("/")

    lines = [
        f"{len(items)} new detection(s) for {brand} at or above score {settings.alert_threshold:.2f}.",
        "",
    ]
    for item in items:
        lines += [
            f"* score {item.score:.2f} — {item.kind.replace('_', ' ')} of {item.original_label}",
            f"  listing:     {item.listing_url}" + (f" ({item.listing_title})" if item.listing_title else ""),
            f"  marketplace: {item.marketplace}",
            f"  seller:      {item.seller or 'unknown'} (risk {item.seller_risk:.0f})",
        ]
        if item.logo_verdict:
            lines.append(f"  logo:        {item.logo_verdict}")
        lines += [f"  review:      {base}/detections/{item.detection_id}", ""]
    message.set_content("\n".join(lines))

    images: list[tuple[str, bytes]] = []
    rows = []
    for item in items:
        cells = []
        for label, path in (("listing photo", item.listing_file), ("original", item.original_file)):
            data = _thumbnail(path)
            if data is None:
                cells.append(f"<td>({label} unavailable)</td>")
                continue
            cid = make_msgid(domain="copywatch")
            images.append((cid, data))
            cells.append(f'<td><img src="cid:{cid[1:-1]}" alt="{label}" width="{THUMBNAIL_SIDE}"></td>')
        e = html.escape
        logo = f"<br>logo: {e(item.logo_verdict)}" if item.logo_verdict else ""
        link_text = e(item.listing_title or item.listing_url)
        listing_href = http_url(item.listing_url)
        # Only http(s) becomes a link: a javascript: or data: URL a seller chose stays text.
        listing = (
            f'<a href="{e(listing_href, quote=True)}">{link_text}</a>'
            if listing_href
            else f"{link_text} <code>{e(item.listing_url)}</code>"
        )
        rows.append(
            "<tr>"
            + "".join(cells)
            + f"<td><b>score {item.score:.2f}</b> — {e(item.kind.replace('_', ' '))} of {e(item.original_label)}<br>"
            f"{listing}<br>"
            f"marketplace: {e(item.marketplace)}<br>seller: {e(item.seller or 'unknown')}{logo}<br>"
            f'<a href="{e(base, quote=True)}/detections/{item.detection_id}">review detection {item.detection_id}</a>'
            "</td></tr>"
        )
    body = (
        f"<html><body><h2>{len(items)} new detection(s) for {html.escape(brand)}</h2>"
        '<table cellpadding="6"><tr><th>listing</th><th>original</th><th></th></tr>'
        + "".join(rows)
        + "</table></body></html>"
    )
    message.add_alternative(body, subtype="html")
    html_part = message.get_body(("html",))
    assert html_part is not None  # the alternative added just above
    for cid, data in images:
        html_part.add_related(data, maintype="image", subtype="jpeg", cid=cid)
    return message


def deliver(settings: Settings, message: EmailMessage) -> None:
    """Hand ``message`` to the SMTP server from the settings; returns once the server accepted it.

    Raises:
        smtplib.SMTPException, OSError: not sent (the caller leaves the detections unalerted).
    """
    if not settings.smtp_host:
        raise smtplib.SMTPException("SMTP_HOST is not set; cannot send alert mail")
    if settings.smtp_user and not settings.smtp_tls and not is_loopback_host(settings.smtp_host):
        # Checked before connecting: the password must never cross the network in clear text.
        raise smtplib.SMTPException(
            f"SMTP_USER is set but SMTP_TLS is false: refusing to send the password to "
            f"{settings.smtp_host} unencrypted (set SMTP_TLS=true)"
        )
    context = ssl.create_default_context()
    if settings.smtp_tls and settings.smtp_port == 465:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=30, context=context
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    with client:
        if settings.smtp_tls and not isinstance(client, smtplib.SMTP_SSL):
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        refused = client.send_message(message)
        if refused and len(refused) == len(message["To"].split(",")):
            raise smtplib.SMTPRecipientsRefused(refused)


def _items(session: Session, settings: Settings, ids: Sequence[int]) -> list[AlertItem]:
    """The digest's items, riskiest sellers first (``db.risk``), then best score."""
    risks = seller_risk_of_detections(session, ids)
    items = [
        AlertItem(
            detection_id=d.id,
            score=d.score,
            kind=str(getattr(d.kind, "value", d.kind)),
            listing_url=listing.url,
            listing_title=listing.title,
            seller=listing.seller,
            marketplace=marketplace.name,
            original_label=original.sku or original.title or f"original {original.id}",
            logo_verdict=(d.logo_verdict or {}).get("verdict"),
            listing_file=_stored(settings, image.path),
            original_file=_stored(settings, original.image_path),
            seller_risk=risks.get(d.id, 0.0),
        )
        for d, image, listing, marketplace, original in alert_rows(session, ids)
    ]
    return sorted(items, key=lambda item: (-item.seller_risk, -item.score, item.detection_id))


def send_alerts(settings: Settings, sessions: Sessions) -> dict[str, int]:
    """Send one digest per brand of its new, not yet alerted detections at or above
    ``settings.alert_threshold``; mark them alerted once the server accepted the mail.

    Returns:
        ``{"digests": sent, "detections": alerted, "skipped_brands": without an address}``.

    Raises:
        smtplib.SMTPException, OSError: a digest could not be sent (earlier brands' stay sent).
    """
    if not settings.smtp_host:
        log.warning("SMTP_HOST is not set: alert digests are not sent (detections stay unalerted)")
        return {"digests": 0, "detections": 0, "skipped_brands": 0}
    threshold = settings.alert_threshold
    with sessions() as session:
        brand_ids = brands_with_candidates(session, threshold)
        sqlite = not is_postgresql(session)
    sent = alerted = skipped = 0
    for brand_id in brand_ids:
        with _sqlite_lock if sqlite else contextlib.nullcontext(), sessions() as session, session.begin():
            brand_name, recipients = brand_recipients(session, brand_id) or ("", [])
            if not recipients:
                skipped += 1
                continue
            ids = lock_candidates(session, brand_id, threshold, MAX_PER_DIGEST)
            if not ids:
                continue  # another send_alerts holds them
            message = compose_digest(settings, brand_name, recipients, _items(session, settings, ids))
            deliver(settings, message)
            mark_alerted(session, ids)
            sent += 1
            alerted += len(ids)
            log.info("alert digest for %s: %d detections to %s", brand_name, len(ids), ", ".join(recipients))
    return {"digests": sent, "detections": alerted, "skipped_brands": skipped}
