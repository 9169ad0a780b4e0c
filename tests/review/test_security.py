"""Security of the review page: sessions, CSRF, roles, upload limits, headers, media by id only."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import pytest
from flask import Flask

from review import create_app
from tests.review.conftest import PASSWORD, Seeded, csrf_from, login, synthetic_original

PAGES = [
    "/",
    "/queue",
    "/search",
    "/reports",
    "/reports/top_sellers.csv",
    "/admin/users",
    "/media/original/1",
]


def _png(image) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def _bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header claims 900 million pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 16)  # a few rows are enough: the header is the attack
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_without_a_session_redirects_to_login(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_api_without_a_session_is_401_and_login_page_is_public(client, seeded: Seeded) -> None:
    assert client.post("/api/search").status_code in {400, 401}  # CSRF or login, never served
    page = client.get("/login")
    assert page.status_code == 200
    assert b'name="csrf_token"' in page.data
    assert client.get("/static/app.css").status_code == 200


def test_login_rejects_a_wrong_password_and_redirects_only_to_local_paths(client, seeded: Seeded) -> None:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    bad = client.post(
        "/login", data={"email": seeded.reviewer_email, "password": "wrong-password", "csrf_token": token}
    )
    assert bad.status_code == 401 and b"Wrong e-mail or password" in bad.data
    ok = client.post(
        "/login?next=//evil.example/",
        data={"email": seeded.reviewer_email, "password": PASSWORD, "csrf_token": token},
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/queue"


def test_form_post_without_csrf_token_is_refused(client, seeded: Seeded) -> None:
    login(client, seeded.reviewer_email)
    detection_id = seeded.detection_ids[0]
    response = client.post(f"/detections/{detection_id}/review", data={"action": "confirm"})
    assert response.status_code == 400
    assert b"security token" in response.data
    api = client.post(f"/api/detections/{detection_id}/review", json={"action": "confirm"})
    assert api.status_code == 400
    # Nothing changed: the detection is still in the new queue.
    assert f'data-id="{detection_id}"'.encode() in client.get("/queue").data


def test_login_post_without_csrf_token_is_refused(client, seeded: Seeded) -> None:
    response = client.post("/login", data={"email": seeded.reviewer_email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/queue").status_code == 302


def test_reviewer_cannot_do_admin_actions(client, seeded: Seeded) -> None:
    token = login(client, seeded.reviewer_email)
    assert client.get("/admin/users").status_code == 403
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "action": "add",
            "email": "mallory@example.com",
            "password": "12345678",
            "role": "admin",
        },
    )
    assert response.status_code == 403
    detection_id = seeded.detection_ids[0]
    confirm = client.post(
        f"/detections/{detection_id}/review", data={"csrf_token": token, "action": "confirm"}
    )
    assert confirm.status_code == 302
    # Changing a decision already made is for admins only.
    reopen = client.post(f"/detections/{detection_id}/review", data={"csrf_token": token, "action": "reopen"})
    assert reopen.status_code == 403
    flip = client.post(
        f"/api/detections/{detection_id}/review", json={"action": "dismiss"}, headers={"X-CSRFToken": token}
    )
    assert flip.status_code == 403


def test_admin_can_add_users_and_change_a_review(app: Flask, seeded: Seeded) -> None:
    client = app.test_client()
    token = login(client, seeded.admin_email)
    added = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "action": "add",
            "email": "new@example.com",
            "password": "longenough",
            "role": "reviewer",
        },
    )
    assert added.status_code == 302
    assert b"new@example.com" in client.get("/admin/users").data
    detection_id = seeded.detection_ids[1]
    client.post(
        f"/detections/{detection_id}/review",
        data={"csrf_token": token, "action": "dismiss", "note": "same brand"},
    )
    reopened = client.post(
        f"/api/detections/{detection_id}/review", json={"action": "reopen"}, headers={"X-CSRFToken": token}
    )
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "new"


def _upload(client, token: str, data: bytes, filename: str = "suspect.png"):
    return client.post(
        "/api/search",
        data={"image": (io.BytesIO(data), filename)},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )


def test_oversized_upload_gets_a_clear_error(seeded: Seeded) -> None:
    small = seeded.settings.with_overrides(max_image_bytes=50_000)
    client = create_app(small).test_client()
    token = login(client, seeded.reviewer_email)
    response = _upload(client, token, os.urandom(200_000))
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]


def test_non_image_upload_gets_a_clear_error(client, seeded: Seeded) -> None:
    token = login(client, seeded.reviewer_email)
    response = _upload(client, token, b"<html><script>alert(1)</script></html>", "evil.png")
    assert response.status_code == 400
    assert "image" in response.get_json()["error"].lower()
    empty = _upload(client, token, b"")
    assert empty.status_code == 400 and "empty" in empty.get_json()["error"].lower()


def test_decompression_bomb_is_refused_before_decoding(client, seeded: Seeded) -> None:
    token = login(client, seeded.reviewer_email)
    bomb = _bomb_png()
    assert len(bomb) < seeded.settings.max_image_bytes
    response = _upload(client, token, bomb)
    assert response.status_code == 400
    assert "pixels" in response.get_json()["error"].lower()


def test_crafted_filename_writes_nothing(client, seeded: Seeded, tmp_path: Path) -> None:
    token = login(client, seeded.reviewer_email)
    before = {p for p in tmp_path.rglob("*")}
    target = tmp_path / "pwned.png"
    for name in ("../../pwned.png", str(target), "..\\..\\pwned.png", "a/../../../pwned.png"):
        response = _upload(client, token, _png(synthetic_original(3)), name)
        assert response.status_code == 200, response.get_json()
    after = {p for p in tmp_path.rglob("*")}
    assert not target.exists()
    # Uploads are matched in memory: no new file anywhere under the test's directories.
    assert {p for p in after - before if p.suffix in {".png", ""} and "pwned" in p.name} == set()
    assert not any("pwned" in p.name for p in after)


def test_security_headers_and_no_inline_script(client, seeded: Seeded) -> None:
    login(client, seeded.reviewer_email)
    response = client.get("/queue")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert b"<script>" not in response.data and b"onclick=" not in response.data


def test_media_is_served_by_id_only(client, seeded: Seeded) -> None:
    login(client, seeded.reviewer_email)
    original_id = next(iter(seeded.originals))
    image = client.get(f"/media/original/{original_id}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    thumb = client.get(f"/media/original/{original_id}?size=thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    from PIL import Image

    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 160
    assert client.get("/media/original/999999").status_code == 404
    assert client.get("/media/original/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/media/../copywatch.db").status_code == 404


def test_serve_refuses_to_start_without_secret_key(seeded: Seeded) -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        create_app(seeded.settings.with_overrides(secret_key=""))


def test_repeated_wrong_passwords_lock_that_address_out_of_the_account_for_a_while(
    client, seeded: Seeded
) -> None:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for _ in range(5):
        wrong = {"email": seeded.admin_email, "password": "guess-guess", "csrf_token": token}
        assert client.post("/login", data=wrong).status_code == 401
    right = {"email": seeded.admin_email, "password": PASSWORD, "csrf_token": token}
    refused = client.post("/login", data=right)
    assert refused.status_code == 429 and b"Too many failed logins" in refused.data
    # Another account is not affected.
    other = {"email": seeded.reviewer_email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=other).status_code == 302


def test_image_formats_outside_the_list_are_refused(client, seeded: Seeded) -> None:
    from PIL import Image

    token = login(client, seeded.reviewer_email)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, format="ICO")
    response = _upload(client, token, buffer.getvalue(), "icon.ico")
    assert response.status_code == 400 and "image" in response.get_json()["error"].lower()


def test_deactivation_or_a_new_password_ends_existing_sessions(client, seeded: Seeded) -> None:
    from werkzeug.security import generate_password_hash

    from db.engine import make_engine, session_factory
    from db.models import User

    login(client, seeded.reviewer_email)
    assert client.get("/queue").status_code == 200
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s, s.begin():
        s.query(User).filter_by(email=seeded.reviewer_email).one().password_hash = generate_password_hash(
            "new-pass-123"
        )
    assert client.get("/queue").status_code == 302
    login(client, seeded.reviewer_email, "new-pass-123")
    with session_factory(engine)() as s, s.begin():
        s.query(User).filter_by(email=seeded.reviewer_email).one().active = False
    engine.dispose()
    assert client.get("/queue").status_code == 302
