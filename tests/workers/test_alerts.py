"""Alert digests through a real SMTP server (aiosmtpd): content, exactly-once under concurrency,
nothing marked alerted when the server is unreachable."""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from email.message import EmailMessage

import pytest
from celery.exceptions import Retry
from sqlalchemy import select

from db.models import Detection
from detection.runtime import MatcherCache
from tests.support.detections import upsert_detection
from tests.workers.conftest import ALERT_TO, BRAND, Inbox, World, free_port
from workers.mail import send_alerts
from workers.scoring import score_batch


def _scored_world(world: World) -> tuple[list[int], int]:
    """Two stolen images scored (detections well above the alert threshold) and one weak
    detection below it. Returns (alertable detection ids, the weak one's id)."""
    ids = [world.add_image("stolen", 2), world.add_image("stolen", 6)]
    sessions = world.sessions()
    outcomes = score_batch(sessions, MatcherCache(world.settings.index_dir).get(), world.settings, ids)
    other = world.add_image("other", 3)
    with sessions() as session, session.begin():
        weak, _ = upsert_detection(session, listing_image_id=other, original_id=1, score=0.6)
        strong = session.execute(
            select(Detection.id).where(
                Detection.score >= world.settings.alert_threshold, Detection.id != weak
            )
        ).scalars()
        alertable = sorted(int(i) for i in strong)
    assert len(alertable) >= 2 and all(o.status == "scored" for o in outcomes)
    return alertable, weak


def _mailed_ids(message: EmailMessage) -> list[int]:
    text = message.get_body(("plain",)).get_content()
    return sorted(int(line.rsplit("/", 1)[1]) for line in text.splitlines() if "/detections/" in line)


def test_digest_has_both_parts_inline_thumbnails_and_review_links(
    world: World, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    alertable, weak = _scored_world(world)
    settings = world.settings.with_overrides(
        smtp_host="127.0.0.1", smtp_port=port, base_url="https://cw.test"
    )

    result = send_alerts(settings, world.sessions())

    assert result == {"digests": 1, "detections": len(alertable), "skipped_brands": 0}
    [message] = inbox.messages
    assert message["To"] == ALERT_TO and BRAND in message["Subject"]
    assert _mailed_ids(message) == alertable and weak not in _mailed_ids(message)
    html = message.get_body(("html",)).get_content()
    for detection_id in alertable:
        assert f'href="https://cw.test/detections/{detection_id}"' in html
    assert "https://shop.test/item/" in html and "test shop" in html and "seller-" in html
    images = [p for p in message.walk() if p.get_content_type() == "image/jpeg"]
    assert len(images) == 2 * len(alertable), "listing and original side by side"
    for part in images:
        assert f'src="cid:{part["Content-ID"].strip("<>")}"' in html
        assert part.get_content()[:2] == b"\xff\xd8"
    with world.sessions()() as session:
        alerted = dict(session.execute(select(Detection.id, Detection.alerted_at)).all())
    assert all(alerted[i] is not None for i in alertable) and alerted[weak] is None

    assert send_alerts(settings, world.sessions())["digests"] == 0, "each detection is mailed once"
    assert len(inbox.messages) == 1


def test_two_concurrent_runs_mail_each_detection_once(world: World, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    alertable, _ = _scored_world(world)
    settings = world.settings.with_overrides(smtp_host="127.0.0.1", smtp_port=port)
    results: list[dict[str, int]] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        results.append(send_alerts(settings, world.sessions()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    mailed = [i for m in inbox.messages for i in _mailed_ids(m)]
    assert sorted(mailed) == alertable, "every detection mailed, none twice"
    assert sum(r["detections"] for r in results) == len(alertable)


def test_nothing_is_marked_alerted_when_the_server_is_unreachable(
    world: World, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    alertable, _ = _scored_world(world)
    down = world.settings.with_overrides(smtp_host="127.0.0.1", smtp_port=free_port())

    with pytest.raises(OSError):
        send_alerts(down, world.sessions())

    with world.sessions()() as session:
        assert session.execute(select(Detection.id).where(Detection.alerted_at.is_not(None))).all() == []
    time.sleep(0.1)
    up = world.settings.with_overrides(smtp_host="127.0.0.1", smtp_port=port)
    assert send_alerts(up, world.sessions())["detections"] == len(alertable)


class _RefusingRecipients:
    """aiosmtpd handler that refuses every recipient, as a server does for an unknown mailbox."""

    def __init__(self) -> None:
        self.refused = 0

    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: list[str]
    ) -> str:  # noqa: N802
        self.refused += 1
        return "550 5.1.1 no such mailbox"


def test_a_refused_recipient_is_not_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The send_alerts task retries a connection that failed, not a permanent refusal."""
    from aiosmtpd.controller import Controller

    from workers import tasks

    _scored_world(world)
    handler, port = _RefusingRecipients(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = world.settings.with_overrides(smtp_host="127.0.0.1", smtp_port=port)
        monkeypatch.setattr(tasks.app, "copywatch_settings", settings)
        with pytest.raises(smtplib.SMTPRecipientsRefused):  # raised as it is: no Retry
            tasks.send_alerts.apply()
    finally:
        controller.stop()
    assert handler.refused == 1
    with world.sessions()() as session:
        assert session.execute(select(Detection.id).where(Detection.alerted_at.is_not(None))).all() == []


def test_a_dropped_connection_is_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts the connection and hangs up at once: the task asks to be retried."""
    _scored_world(world)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def hang_up() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    from workers import tasks

    settings = world.settings.with_overrides(smtp_host="127.0.0.1", smtp_port=listener.getsockname()[1])
    monkeypatch.setattr(tasks.app, "copywatch_settings", settings)
    try:
        with pytest.raises(Retry) as retry:
            tasks.send_alerts.apply()
    finally:
        listener.close()
        thread.join(timeout=5)
    assert isinstance(retry.value.exc, smtplib.SMTPServerDisconnected) and accepted == [1]
