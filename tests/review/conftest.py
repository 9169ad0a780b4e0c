"""Fixtures for the review page: a seeded database, synthetic originals on disk, a matcher, users,
the app in a thread on a free port, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from flask import Flask
from werkzeug.serving import make_server

from copywatch.settings import Settings
from db.catalog import add_original, upsert_brand
from db.crawl_runs import finish_crawl_run, start_crawl_run
from db.engine import make_engine, session_factory
from db.listings import upsert_listing, upsert_listing_image
from db.marketplaces import upsert_marketplace
from db.models import DetectionKind, Role
from db.scoping import grant_brands
from review import create_app
from review.auth import create_user
from tests.support.detections import upsert_detection
from tests.support.images import synthetic_original

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "review"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
ACME_REVIEWER = "acme-reviewer@example.com"
N_ORIGINALS = 14


def _store(media_root: Path, folder: str, image: np.ndarray) -> tuple[str, str]:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    data = encoded.tobytes()
    sha = hashlib.sha256(data).hexdigest()
    relative = f"{folder}/{sha[:2]}/{sha}.png"
    path = media_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative, sha


def listing_copy(original: np.ndarray) -> np.ndarray:
    """A stolen copy: cropped, rescaled, on a different canvas."""
    crop = original[20:300, 30:290]
    crop = cv2.resize(crop, (220, 237))
    canvas = np.full((300, 300, 3), 250, np.uint8)
    canvas[30:267, 40:260] = crop
    return canvas


@dataclass
class Seeded:
    settings: Settings
    originals: dict[int, np.ndarray]
    detection_ids: list[int]
    admin_email: str = "admin@example.com"
    reviewer_email: str = "reviewer@example.com"


def seed(settings: Settings) -> Seeded:
    """Brands, originals (files + rows), two marketplaces with a crawl run each, listings, detections, users."""
    media = settings.media_root
    engine = make_engine(settings.database_url)
    originals: dict[int, np.ndarray] = {}
    detection_ids: list[int] = []
    with session_factory(engine)() as s, s.begin():
        brand_ids = [upsert_brand(s, "Acme Outdoor"), upsert_brand(s, "Borealis")]
        for i in range(N_ORIGINALS):
            image = synthetic_original(i)
            relative, sha = _store(media, "originals", image)
            oid, _ = add_original(
                s,
                brand_ids[i % 2],
                image_path=relative,
                sha256=sha,
                sku=f"SKU-{i:03d}",
                title=f"Trail jacket {i}",
                width=image.shape[1],
                height=image.shape[0],
            )
            originals[oid] = image
        markets = [
            upsert_marketplace(s, "shopA", ["http://a.invalid/"]),
            upsert_marketplace(s, "shopB", ["http://b.invalid/"]),
        ]
        for m, error in zip(markets, (None, "HTTP 503 from start URL"), strict=True):
            run = start_crawl_run(s, m)
            finish_crawl_run(s, run, stats={"items": 3}, error=error)
        for n, (oid, image) in enumerate(list(originals.items())[:8]):
            listing_id = upsert_listing(
                s,
                marketplace_id=markets[n % 2],
                url=f"http://{'ab'[n % 2]}.invalid/item/{n}",
                title=f"Cheap trail jacket {n}",
                price=19.99 + n,
                currency="EUR",
                seller=f"seller{n % 3}",
            )
            relative, sha = _store(media, "listings", listing_copy(image))
            image_id, _ = upsert_listing_image(
                s,
                listing_id=listing_id,
                url=f"http://img.invalid/{n}.png",
                sha256=sha,
                path=relative,
                width=300,
                height=300,
            )
            detection_id, _ = upsert_detection(
                s,
                listing_image_id=image_id,
                original_id=oid,
                score=0.95 - n * 0.05,
                components={"global": 0.9 - n * 0.04, "inliers": 80 - n * 5, "inlier_ratio": 0.7},
                region_query=[[40, 30], [260, 30], [260, 267], [40, 267]],
                region_original=[[30, 20], [290, 20], [290, 300], [30, 300]],
                logo_verdict={
                    "verdict": "shifted" if n % 3 == 0 else "genuine",
                    "position": "LC",
                    "offset": -0.2,
                    "shape": "square",
                    "confidence": 0.8,
                    "reason": "logo left of centre",
                },
                kind=DetectionKind.STOLEN_IMAGE,
            )
            detection_ids.append(detection_id)
        # A counterfeit logo on a photo that matched no original: a logo-only detection.
        listing_id = upsert_listing(
            s, marketplace_id=markets[0], url="http://a.invalid/item/logo", seller="seller9"
        )
        relative, sha = _store(media, "listings", synthetic_original(99))
        image_id, _ = upsert_listing_image(
            s, listing_id=listing_id, url="http://img.invalid/logo.png", sha256=sha, path=relative
        )
        detection_id, _ = upsert_detection(
            s,
            listing_image_id=image_id,
            original_id=None,
            score=0.55,
            logo_verdict={
                "verdict": "missing",
                "confidence": 0.7,
                "reason": "no logo where the brand puts it",
            },
            kind=DetectionKind.COUNTERFEIT_LOGO,
        )
        detection_ids.append(detection_id)
        create_user(s, "admin@example.com", PASSWORD, Role.ADMIN)
        reviewer = create_user(s, "reviewer@example.com", PASSWORD, Role.REVIEWER)
        grant_brands(s, reviewer, brand_ids)
        # Granted one brand only: the cross-brand tests (test_brand_scoping.py) log in as this account.
        grant_brands(s, create_user(s, ACME_REVIEWER, PASSWORD, Role.REVIEWER), brand_ids[:1])
    engine.dispose()
    return Seeded(settings=settings, originals=originals, detection_ids=detection_ids)


_MATCHERS: dict[tuple[int, ...], Any] = {}


def make_matcher(originals: dict[int, np.ndarray]) -> Any:
    """The real matcher over a catalog of the seeded originals, built once per test session (every
    fresh database numbers the same synthetic originals the same way)."""
    key = tuple(originals)
    if key not in _MATCHERS:
        _MATCHERS[key] = _build_matcher(originals)
    return _MATCHERS[key]


def _build_matcher(originals: dict[int, np.ndarray]) -> Any:
    from detection.matching import Matcher, build_catalog

    catalog = build_catalog((str(oid), image) for oid, image in originals.items())
    return Matcher(catalog, device="cpu")


@pytest.fixture
def seeded(settings: Settings) -> Seeded:
    return seed(settings)


@pytest.fixture
def app(seeded: Seeded) -> Flask:
    app = create_app(seeded.settings, matcher_loader=lambda: make_matcher(seeded.originals))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


def csrf_from(html: str) -> str:
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def login(client: Any, email: str, password: str = PASSWORD) -> str:
    """Log the test client in; returns a CSRF token valid for its session."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_from(client.get("/search").get_data(as_text=True))


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
