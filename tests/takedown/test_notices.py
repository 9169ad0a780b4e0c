"""Takedown notices: every legal element and every form field, per template; edit, send by real
SMTP, status history."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from copywatch.cli import main
from db.models import Marketplace, Notice, NoticeItem, NoticeStatus
from db.notices import NoticeStateError, change_status, notice_events
from takedown.lifecycle import NoticeError, draft_notices, edit_notice, send_notice
from takedown.notices import LEGAL_ELEMENTS, TEMPLATES, template_for
from tests.takedown.conftest import EvidenceShop, TakedownWorld
from tests.workers.conftest import Inbox, free_port
from workers.mail import deliver

# What each marketplace's form asks for (the labels on its report form), checked field by field.
FORM_LABELS = {
    "email": set(),
    "ebay_vero": {
        "VeRO participant (rights owner) name", "Contact name", "Email", "Phone", "Address",
        "Item URLs (one per line)", "Reason code", "Description of the copyrighted work", "Good-faith statement",
        "Accuracy and authority statement (penalty of perjury)", "Signature", "Date",
    },
    "etsy": {
        "Your full name", "Rights owner (company)", "Your relationship to the rights owner", "Email", "Phone",
        "Address", "Type of intellectual property", "Description of your original work",
        "Link to your original work", "Etsy listing URLs (one per listing)", "Good-faith statement",
        "Accuracy and authority statement (penalty of perjury)", "Electronic signature",
    },
    "shopify": {
        "Name", "Email", "Phone", "Address", "Are you the rights owner or an authorised agent?", "Rights owner",
        "Type of complaint", "Description of the copyrighted work", "URL of the original work",
        "Infringing product page URLs (one per product)", "Good-faith statement",
        "Accuracy and authority statement (penalty of perjury)", "Signature",
    },
}  # fmt: skip


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _flat(text: str) -> str:
    return " ".join(text.split())


def _draft(world: TakedownWorld, shop: EvidenceShop, template: str) -> Notice:
    with world.sessions() as session, session.begin():
        session.get(Marketplace, world.marketplace_id).settings = {
            "local": True,
            "takedown": {"template": template, "email": "ip-notices@market.example"},
        }
    world.add_hit(shop, f"{template}-a", seller="copycat", original=0)
    world.add_hit(shop, f"{template}-b", seller="copycat", original=1)
    world.add_hit(shop, f"{template}-c", seller="other-seller", original=0)
    world.add_hit(shop, f"{template}-d", seller="copycat", original=0, confirm=False)  # not confirmed
    with world.sessions() as session, session.begin():
        ids = draft_notices(session, actor="reviewer@acme.example")
    assert len(ids) == 2  # one per marketplace and seller
    with world.sessions() as session:
        notice = session.execute(
            select(Notice).where(Notice.id.in_(ids), Notice.seller == "copycat")
        ).scalar_one()
        notice.items  # noqa: B018 - load before the session closes
        session.expunge_all()
    return notice


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_a_notice_has_every_required_element_and_form_field(
    tworld: TakedownWorld, shop: EvidenceShop, template: str
) -> None:
    notice = _draft(tworld, shop, template)
    assert notice.template == template and notice.status == NoticeStatus.DRAFT
    assert notice.recipient == "ip-notices@market.example"
    urls = sorted(i.listing_url for i in notice.items)
    assert urls == sorted(shop.url(f"/p/{template}-{x}") for x in "ab")  # not c (other seller), not d
    text, html = _flat(notice.body_text), _html_text(notice.body_html)

    # 17 U.S.C. § 512(c)(3)(A)(i)-(vi) and DSA Art. 16(2)(a)-(d), element by element, in text and HTML.
    holder = {
        "signature": "/Jane Agent/",
        "works": [
            "Acme product 0",
            "SKU ACME-0",
            "Acme product 1",
            "SKU ACME-1",
            "US Copyright Reg. VA 2-345-678",
        ],
        "contact": ["Hauptstraße 1, 10115 Berlin, Germany", "+49 30 1234567", "legal@acme-photo.example"],
    }
    expected = {
        "usc512_i_signature": [holder["signature"]],
        "usc512_ii_work": holder["works"],
        "usc512_iii_material": urls,
        "usc512_iv_contact": holder["contact"],
        "usc512_v_good_faith": [
            "good faith belief",
            "not authorized by the copyright owner, its agent, or the law",
        ],
        "usc512_vi_accuracy": [
            "under penalty of perjury",
            "accurate",
            "authorized to act on behalf of the owner",
        ],
        "dsa_a_explanation": [
            "copied from Acme Photo GmbH's original product photographs",
            "without licence",
        ],
        "dsa_b_locations": urls,
        "dsa_c_submitter": ["Jane Agent", "legal@acme-photo.example"],
        "dsa_d_bona_fide": ["bona fide belief", "accurate and complete"],
    }
    assert set(expected) == set(LEGAL_ELEMENTS)
    for element, needles in expected.items():
        for needle in needles:
            assert needle in text, (template, element, needle)
            assert needle in html, (template, element, needle)
    # Each infringing URL beside its original, on one line of the text and one row of the HTML table.
    for item in notice.items:
        sku = "ACME-0" if item.original_description.count("ACME-0") else "ACME-1"
        block = notice.body_text.split(item.listing_url, 1)[1].split("\n\n", 1)[0]
        assert f"SKU {sku}" in block and f"https://acme-photo.example/products/{sku}" in block
        row = re.search(
            rf"<tr><td>\d+</td>\s*<td><a href=\"{re.escape(item.listing_url)}\">.*?</tr>",
            notice.body_html,
            re.S,
        )
        assert row and f"SKU {sku}" in row.group(0)

    # The marketplace's form, field by field: every label it asks for, each with a value.
    assert set(notice.fields) == FORM_LABELS[template]
    for label, value in notice.fields.items():
        assert value.strip(), (template, label)
        assert label in notice.body_text and label in notice.body_html
    if template != "email":
        url_field = next(v for k, v in notice.fields.items() if "URLs" in k and "original" not in k.lower())
        assert sorted(url_field.splitlines()) == urls  # one page URL per listing, not a shop link

    # Lumen's shape: works with copyrighted and infringing URLs, entities by role, date sent.
    lumen = notice.lumen
    assert lumen["date_sent"] is None
    works = {w["description"]: w for w in lumen["works"]}
    assert len(works) == 2 and all(w["kind"] == "photograph" for w in works.values())
    assert sorted(u for w in works.values() for u in w["infringing_urls"]) == urls
    assert {u for w in works.values() for u in w["copyrighted_urls"]} == {
        "https://acme-photo.example/products/ACME-0", "https://acme-photo.example/products/ACME-1",
    }  # fmt: skip
    roles = {e["role"]: e for e in lumen["entities"]}
    assert set(roles) == {"sender", "principal", "recipient"}
    assert roles["sender"]["name"] == "Jane Agent" and roles["principal"]["name"] == "Acme Photo GmbH"
    assert roles["recipient"]["email"] == "ip-notices@market.example"
    json.dumps(lumen)


def test_templates_follow_the_marketplace_settings() -> None:
    assert template_for({}).name == "email"
    assert template_for({"platform": "etsy"}).name == "etsy"
    assert template_for({"platform": "shopify"}).name == "shopify"
    assert template_for({"platform": "ebay"}).name == "ebay_vero"
    assert template_for({"platform": "etsy", "takedown": {"template": "email"}}).name == "email"
    with pytest.raises(ValueError, match="unknown notice template"):
        template_for({"takedown": {"template": "fax"}})


def test_no_notice_without_a_rights_holder_profile(tworld: TakedownWorld, shop: EvidenceShop) -> None:
    from db.models import RightsHolder

    tworld.add_hit(shop, "nobody")
    with tworld.sessions() as session, session.begin():
        session.execute(RightsHolder.__table__.delete())
    with tworld.sessions() as session, pytest.raises(NoticeError, match="no rights-holder profile"):
        draft_notices(session, actor="x")


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_edit_send_by_smtp_and_the_status_history(
    tworld: TakedownWorld, shop: EvidenceShop, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    notice = _draft(tworld, shop, "email")
    settings = tworld.settings.with_overrides(
        smtp_host="127.0.0.1", smtp_port=port, smtp_sender="cw@acme.example"
    )
    with tworld.sessions() as session, session.begin():
        edit_notice(session, notice.id, actor="reviewer@acme.example", subject="Copyright notice: 2 listings")
    with tworld.sessions() as session, session.begin(), pytest.raises(NoticeStateError):
        change_status(session, notice.id, NoticeStatus.REMOVED, actor="x")  # a draft cannot be removed
    with tworld.sessions() as session, session.begin():
        send_notice(settings, session, notice.id, actor="reviewer@acme.example", deliver=deliver)
    assert len(box.messages) == 1
    message = box.messages[0]
    assert (
        message["To"] == "ip-notices@market.example" and message["Subject"] == "Copyright notice: 2 listings"
    )
    assert message["Reply-To"] == "legal@acme-photo.example"
    parts = {p.get_content_type(): p for p in message.walk()}
    assert "text/plain" in parts and "text/html" in parts and "application/json" in parts
    attached = json.loads(parts["application/json"].get_content())
    assert attached["date_sent"].endswith("Z")
    with tworld.sessions() as session, session.begin():
        with pytest.raises(NoticeError, match="only drafts can be edited"):
            edit_notice(session, notice.id, actor="x", subject="changed after sending")
        change_status(
            session, notice.id, NoticeStatus.NO_ANSWER, actor="reviewer@acme.example", note="2 weeks"
        )
        change_status(session, notice.id, NoticeStatus.COUNTER_NOTICE, actor="admin@acme.example")
    with tworld.sessions() as session:
        events = [(e.from_status, e.to_status, e.actor) for e in notice_events(session, notice.id)]
        stored = session.get(Notice, notice.id)
        assert stored.sent_at is not None and stored.resolved_at is not None
    assert events == [
        (None, "draft", "reviewer@acme.example"),
        ("draft", "draft", "reviewer@acme.example"),
        ("draft", "sent", "reviewer@acme.example"),
        ("sent", "no_answer", "reviewer@acme.example"),
        ("no_answer", "counter_notice", "admin@acme.example"),
    ]


def test_a_failed_smtp_send_leaves_the_draft(tworld: TakedownWorld, shop: EvidenceShop) -> None:
    notice = _draft(tworld, shop, "email")
    settings = tworld.settings.with_overrides(smtp_host="127.0.0.1", smtp_port=free_port())
    with tworld.sessions() as session, session.begin(), pytest.raises(OSError):
        send_notice(settings, session, notice.id, actor="x", deliver=deliver)
    with tworld.sessions() as session:
        assert session.get(Notice, notice.id).status == NoticeStatus.DRAFT


def test_the_notice_command_drafts_shows_and_records_a_hand_filed_send(
    tworld: TakedownWorld, shop: EvidenceShop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path,  # noqa: ANN001
) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", tworld.settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(tworld.settings.data_dir))
    monkeypatch.delenv("REDIS_URL", raising=False)
    tworld.add_hit(shop, "cli-a")
    assert main(["notice", "draft", "--brand", "Acme Photo", "--as", "cli-user"]) == 0
    assert "1 notice(s) drafted" in capsys.readouterr().out
    with tworld.sessions() as session:
        notice_id = session.execute(select(NoticeItem.notice_id)).scalar_one()
    assert main(["notice", "show", str(notice_id), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["works"][0]["infringing_urls"] == [shop.url("/p/cli-a")]
    assert main(["notice", "download", str(notice_id), "--out", str(tmp_path)]) == 0
    assert {p.suffix for p in tmp_path.glob(f"notice-{notice_id}.*")} == {".txt", ".html", ".json"}
    assert main(["notice", "status", str(notice_id), "removed"]) == 2  # a draft is not removed
    assert main(["notice", "send", str(notice_id), "--by-hand", "--as", "cli-user"]) == 0
    assert main(["notice", "list"]) == 0
    assert f"#{notice_id}  sent" in capsys.readouterr().out
