"""The review pages of takedowns: evidence on the detail page, the bundle button, notices drafted,
edited, filed and answered from the browser's forms."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from db.models import Notice, NoticeStatus, Role, User
from db.scoping import grant_brands
from review.app import create_app
from takedown.bundle import verify_bundle
from takedown.capture import capture_listing
from takedown.screenshot import Screenshotter
from tests.review.conftest import PASSWORD, login
from tests.takedown.conftest import EvidenceShop, TakedownWorld

pytestmark = pytest.mark.browser


@pytest.fixture
def client(tworld: TakedownWorld) -> Any:
    with tworld.sessions() as session, session.begin():
        user = User(
            email="rev@acme.example", password_hash=generate_password_hash(PASSWORD), role=Role.REVIEWER
        )
        session.add(user)
        session.flush()
        grant_brands(session, user.id, [tworld.brand_id])  # a reviewer sees the brands granted to them
    app = create_app(tworld.settings)
    app.config["TESTING"] = True
    return app.test_client()


def test_detail_page_shows_the_evidence_and_the_bundle_button_downloads_a_verifiable_zip(
    tworld: TakedownWorld, shop: EvidenceShop, client: Any, chromium_path: str, tmp_path: Path
) -> None:
    detection_id = tworld.add_hit(shop, "page-1")
    login(client, "rev@acme.example")
    assert "No evidence captured yet" in client.get(f"/detections/{detection_id}").get_data(as_text=True)
    with Screenshotter(chromium_path, user_agent="t") as browser:
        capture_listing(tworld.settings, tworld.sessions, tworld.listings["page-1"], screenshotter=browser)
    html = client.get(f"/detections/{detection_id}").get_data(as_text=True)
    assert 'id="evidence-table"' in html and html.count("<td>captured") == 2
    assert f"/detections/{detection_id}/evidence.zip" in html
    links = [
        part.split('"', 1)[0]
        for part in html.split('href="')[1:]
        if f"/detections/{detection_id}/evidence/" in part.split('"', 1)[0]
    ]
    assert len(links) == 2
    for link in links:
        assert client.get(link).status_code == 200
    download = client.get(f"/detections/{detection_id}/evidence.zip")
    assert download.mimetype == "application/zip"
    path = tmp_path / "from-page.zip"
    path.write_bytes(download.data)
    report = verify_bundle(path)
    assert report.ok and report.files_checked == 6
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        assert any(n.endswith("page.warc.gz") for n in archive.namelist())
    assert client.get("/detections/99999/evidence.zip").status_code == 404


def test_a_notice_is_drafted_edited_filed_and_answered_from_the_pages(
    tworld: TakedownWorld, shop: EvidenceShop, client: Any
) -> None:
    tworld.add_hit(shop, "form-1")
    token = login(client, "rev@acme.example")
    page = client.get("/notices").get_data(as_text=True)
    assert 'id="ready-groups"' in page and "copycat" in page
    response = client.post(
        "/notices/draft",
        data={
            "csrf_token": token,
            "brand_id": tworld.brand_id,
            "marketplace_id": tworld.marketplace_id,
            "seller": "copycat",
        },
    )
    assert response.status_code == 302
    with tworld.sessions() as session:
        notice_id = session.execute(select(Notice.id)).scalar_one()
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert shop.url("/p/form-1") in page and 'id="notice-edit"' in page
    client.post(
        f"/notices/{notice_id}/edit",
        data={
            "csrf_token": token,
            "subject": "Edited subject",
            "body_text": "Edited text",
            "recipient": "ip@m.example",
        },
    )
    client.post(f"/notices/{notice_id}/send", data={"csrf_token": token, "how": "by_hand"})
    client.post(
        f"/notices/{notice_id}/status",
        data={"csrf_token": token, "status": "refused", "note": "seller disputes"},
    )
    with tworld.sessions() as session:
        notice = session.get(Notice, notice_id)
        assert (notice.subject, notice.body_text, notice.recipient) == (
            "Edited subject",
            "Edited text",
            "ip@m.example",
        )
        assert notice.status == NoticeStatus.REFUSED and notice.sent_at and notice.resolved_at
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "rev@acme.example · sent → refused · seller disputes" in page
    json_download = client.get(f"/notices/{notice_id}.json")
    assert json_download.mimetype == "application/json" and json_download.json["date_sent"]
    assert "sandbox" in client.get(f"/notices/{notice_id}.html").headers["Content-Security-Policy"]
    assert (
        client.post(f"/notices/{notice_id}/status", data={"csrf_token": token, "status": "bogus"}).status_code
        == 400
    )


def test_the_rights_holder_form_requires_the_legal_parts(tworld: TakedownWorld, client: Any) -> None:
    token = login(client, "rev@acme.example")
    page = client.post(
        f"/brands/{tworld.brand_id}/rights-holder", data={"csrf_token": token, "legal_name": "X"}
    )
    assert "Required: postal address, email, signature." in page.get_data(as_text=True)
