"""Fixtures of the takedown tests: a served shop on 127.0.0.1 with hostile pages, and a database
with a brand, its originals, a local marketplace, listings and detections pointing at that shop."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from copywatch.settings import Settings
from db.catalog import add_original, upsert_brand
from db.detections import review_detection
from db.engine import make_engine, session_factory
from db.listings import upsert_listing, upsert_listing_image
from db.marketplaces import upsert_marketplace
from db.models import DetectionStatus
from db.notices import upsert_rights_holder
from tests.crawler.shop import jpeg, product_jsonld
from tests.support.detections import upsert_detection
from tests.support.http import serve_on_loopback
from tests.workers.conftest import WorkerProcess, drop_queue_keys

BIG_BODY_BYTES = 50 * 1024 * 1024


def listing_html(base: str, slug: str, seller: str = "copycat") -> bytes:
    images = [f"{base}/img/{slug}.jpg"]
    head = product_jsonld(f"Listing {slug}", images, seller=seller)
    body = f"<h1>Listing {slug}</h1><img src='{images[0]}' width='320'><p>sold by {seller}</p>"
    return f"<!doctype html><html><head><title>{slug}</title>{head}</head><body>{body}</body></html>".encode()


@dataclass
class EvidenceShop:
    """A shop whose pages tests can change while it is served.

    ``pages`` path → (status, content type, body); ``slow`` paths answer after ``slow_s``;
    ``huge`` paths stream a 50 MB body; ``on_request`` hooks run before a path is answered.
    """

    base: str = ""
    pages: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    slow: set[str] = field(default_factory=set)
    huge: set[str] = field(default_factory=set)
    slow_s: float = 5.0
    on_request: dict[str, Callable[[], None]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_listing(self, slug: str, seller: str = "copycat", seed: int = 1) -> None:
        self.pages[f"/p/{slug}"] = (200, "text/html; charset=utf-8", listing_html(self.base, slug, seller))
        self.pages[f"/img/{slug}.jpg"] = (200, "image/jpeg", jpeg(seed))

    def remove(self, path: str) -> None:
        self.pages[path] = (404, "text/html", b"<html><body><h1>Not found</h1></body></html>")

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def shop() -> Iterator[EvidenceShop]:
    state = EvidenceShop()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            with state.lock:
                state.requests.append(path)
            hook = state.on_request.get(path)
            if hook is not None:
                hook()
            if path in state.slow:
                time.sleep(state.slow_s)
            if path in state.huge:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(BIG_BODY_BYTES))
                self.end_headers()
                chunk = b"<p>" + b"x" * 65_530 + b"</p>"
                try:
                    for _ in range(BIG_BODY_BYTES // len(chunk)):
                        self.wfile.write(chunk)
                except OSError:
                    pass  # the client stopped reading at its cap
                return
            status, ctype, body = state.pages.get(path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serve_on_loopback(Handler, daemon_threads=True) as base:
        state.base = base
        yield state


@dataclass
class TakedownWorld:
    settings: Settings
    sessions: Callable[[], Session]
    brand_id: int
    marketplace_id: int
    original_ids: list[int]
    listings: dict[str, int] = field(default_factory=dict)  # slug -> listing id
    detections: dict[str, int] = field(default_factory=dict)  # slug -> detection id

    def add_hit(self, shop: EvidenceShop, slug: str, *, seller: str = "copycat", score: float = 0.93,
                confirm: bool = True, original: int = 0, serve: bool = True) -> int:  # fmt: skip
        """A listing on the shop with a detection of original ``original`` (confirmed unless told)."""
        if serve:
            shop.add_listing(slug, seller, seed=len(self.listings) + 1)
        data = jpeg(len(self.listings) + 1)
        digest = hashlib.sha256(data).hexdigest()
        relative = f"listings/{digest[:2]}/{digest}.jpg"
        path = self.settings.media_root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        with self.sessions() as session, session.begin():
            listing_id = upsert_listing(
                session, marketplace_id=self.marketplace_id, url=shop.url(f"/p/{slug}"), title=f"Listing {slug}",
                seller=seller, price=10, currency="EUR",
            )  # fmt: skip
            image_id, _ = upsert_listing_image(
                session, listing_id=listing_id, url=shop.url(f"/img/{slug}.jpg"), sha256=digest, path=relative,
                width=320, height=240,
            )  # fmt: skip
            detection_id, _ = upsert_detection(
                session,
                listing_image_id=image_id,
                original_id=self.original_ids[original],
                score=score,
                region_query=[[40, 30], [280, 30], [280, 210], [40, 210]],
                region_original=[[10, 10], [190, 10], [190, 190], [10, 190]],
            )
            if confirm:
                review_detection(
                    session, detection_id, DetectionStatus.CONFIRMED, reviewer_id=None, note=None
                )
        self.listings[slug] = listing_id
        self.detections[slug] = detection_id
        return detection_id


def make_world(settings: Settings, marketplace_settings: dict | None = None) -> TakedownWorld:
    from tests.crawler.shop import png

    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    originals_dir = settings.data_dir / "originals"
    originals_dir.mkdir(parents=True, exist_ok=True)
    with sessions() as session, session.begin():
        brand_id = upsert_brand(session, "Acme Photo")
        ids = []
        for i in range(2):
            data = png(100 + i)
            path = originals_dir / f"original-{i}.png"
            path.write_bytes(data)
            original_id, _ = add_original(
                session, brand_id, image_path=str(path), sha256=hashlib.sha256(data).hexdigest(),
                sku=f"ACME-{i}", title=f"Acme product {i}", width=200, height=200,
            )  # fmt: skip
            ids.append(original_id)
        marketplace_id = upsert_marketplace(
            session, "served shop", ["http://127.0.0.1/"],
            settings={"local": True, **(marketplace_settings or {})},
        )  # fmt: skip
        upsert_rights_holder(
            session,
            brand_id,
            legal_name="Acme Photo GmbH",
            postal_address="Hauptstraße 1, 10115 Berlin, Germany",
            email="legal@acme-photo.example",
            phone="+49 30 1234567",
            agent_name="Jane Agent",
            signature="Jane Agent",
            registrations=["US Copyright Reg. VA 2-345-678"],
            works_url_template="https://acme-photo.example/products/{sku}",
        )
    return TakedownWorld(settings, sessions, brand_id, marketplace_id, ids)


@pytest.fixture
def tworld(settings: Settings) -> TakedownWorld:
    """SQLite, embedded mode; a local marketplace (its settings say ``local``)."""
    return make_world(settings.with_overrides(evidence_timeout_s=3.0))


@pytest.fixture
def pg_world(pg_settings: Settings) -> TakedownWorld:
    return make_world(pg_settings.with_overrides(evidence_timeout_s=3.0))


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = Path("/usr/bin/chromium")
    assert path.exists(), "Debian chromium is needed (make test installs it)"
    return str(path)


@pytest.fixture
def evidence_worker(pg_world: TakedownWorld, tmp_path: Path) -> Iterator[tuple[TakedownWorld, WorkerProcess]]:
    queue = f"td-test-{uuid.uuid4().hex[:8]}"
    world = pg_world
    world.settings = world.settings.with_overrides(scoring_queue=queue, crawl_delay_s=0.0)
    env = {
        "DATABASE_URL": world.settings.database_url,
        "REDIS_URL": world.settings.redis_url,
        "DATA_DIR": str(world.settings.data_dir),
        "MEDIA_ROOT": str(world.settings.media_root),
        "SCORING_QUEUE": queue,
        "EVIDENCE_TIMEOUT_S": "10",
    }
    worker = WorkerProcess(env, world.settings.evidence_queue, tmp_path / "evidence-worker.log").wait_ready()
    try:
        yield world, worker
    finally:
        worker.stop()
        drop_queue_keys(world.settings.redis_url, queue)
