"""Fixtures for the pipeline tests: a small drawn catalog, listing images on disk, and real
``celery worker`` processes on the real PostgreSQL and Redis (a private Redis db and queue)."""

from __future__ import annotations

import email
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import cv2
import pytest
import redis
from aiosmtpd.controller import Controller
from sqlalchemy import select

from copywatch.settings import Settings
from db.catalog import upsert_brand
from db.engine import make_engine, session_factory
from db.listings import upsert_listing, upsert_listing_image
from db.marketplaces import upsert_marketplace
from db.models import ImageStatus, ListingImage
from tests.conftest import REDIS_SERVER_URL
from tests.support.images import add_arrow, draw_original, steal, unrelated

ROOT = Path(__file__).resolve().parents[2]
ORIGINALS = 8
BRAND = "Acme Test"
ALERT_TO = "alerts@acme.test"


@pytest.fixture(scope="session")
def catalog_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Originals drawn once per session and their index, ids "1".."N" as a fresh database gives."""
    from detection.matching import build_catalog

    root = tmp_path_factory.mktemp("catalog")
    items = []
    for i in range(1, ORIGINALS + 1):
        image = draw_original(i)
        cv2.imwrite(str(root / f"original-{i}.png"), image)
        items.append((str(i), image))
    build_catalog(items).save(root / "index")
    return root


@dataclass
class World:
    """A fresh database with the catalog registered, its index in place, one marketplace."""

    settings: Settings
    env: dict[str, str]
    queue: str
    redis_db_url: str
    marketplace_id: int
    original_ids: list[int]
    _listing_seq: int = 0
    created_files: list[Path] = field(default_factory=list)

    def sessions(self) -> Callable:
        return session_factory(make_engine(self.settings.database_url))

    def add_image(self, kind: str, seed: int) -> int:
        """Queue a listing image: ``stolen`` (a copy of original ``seed``), ``variant`` (a copy of it
        with a part added), ``other`` (not in the catalog), ``corrupt`` (bytes that are no image)
        or ``missing`` (row without its file)."""
        self._listing_seq += 1
        name = f"listings/{uuid.uuid4().hex}.jpg"
        path = self.settings.media_root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "stolen":
            cv2.imwrite(str(path), steal(draw_original(seed)))
        elif kind == "variant":
            cv2.imwrite(str(path), steal(add_arrow(draw_original(seed), seed)[0]))
        elif kind == "other":
            cv2.imwrite(str(path), unrelated(seed))
        elif kind == "corrupt":
            path.write_bytes(b"<html>not an image</html>" * 10)
        elif kind != "missing":
            raise ValueError(kind)
        with self.sessions()() as session, session.begin():
            listing_id = upsert_listing(
                session,
                marketplace_id=self.marketplace_id,
                url=f"https://shop.test/item/{self._listing_seq}-{uuid.uuid4().hex[:6]}",
                title=f"item {self._listing_seq}",
                seller=f"seller-{seed % 3}",
                price=9.99,
                currency="EUR",
            )
            image_id, _ = upsert_listing_image(
                session,
                listing_id=listing_id,
                url=f"https://shop.test/img/{name}",
                sha256=uuid.uuid4().hex * 2,
                path=name,
            )
        return image_id

    def statuses(self, ids: list[int]) -> dict[int, tuple[str, str | None]]:
        with self.sessions()() as session:
            rows = session.execute(
                select(ListingImage.id, ListingImage.status, ListingImage.error).where(
                    ListingImage.id.in_(ids)
                )
            ).all()
        return {int(i): (str(s.value if isinstance(s, ImageStatus) else s), e) for i, s, e in rows}

    def wait_done(
        self, ids: list[int], timeout: float = 180.0, every: Callable[[], None] | None = None
    ) -> dict[int, tuple[str, str | None]]:
        """Wait until every image is scored or failed; returns the final statuses.

        ``every`` is called every few seconds while waiting (e.g. the sweep, as beat would)."""
        deadline = time.monotonic() + timeout
        next_call = time.monotonic()
        while True:
            if every is not None and time.monotonic() >= next_call:
                every()
                next_call = time.monotonic() + 3.0
            statuses = self.statuses(ids)
            if all(s in {"scored", "failed"} for s, _ in statuses.values()):
                return statuses
            if time.monotonic() > deadline:
                pending = {i: s for i, s in statuses.items() if s[0] not in {"scored", "failed"}}
                raise AssertionError(f"not done after {timeout}s: {pending}")
            time.sleep(0.3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_db_url() -> str:
    return f"{REDIS_SERVER_URL}/{random.randint(1, 15)}"


def build_world(tmp_path: Path, database_url: str, catalog_template: Path, redis_url: str) -> World:
    from copywatch.catalog_store import register_originals

    queue = f"score-test-{uuid.uuid4().hex[:10]}"
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(tmp_path / "data"),
        "SCORING_QUEUE": queue,
        "SECRET_KEY": "test",
    }
    settings = Settings.from_env(env)
    settings.ensure_dirs()
    originals = sorted(catalog_template.glob("original-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    ids = register_originals(settings, BRAND, originals, alert_emails=[ALERT_TO])
    assert ids == list(range(1, ORIGINALS + 1)), "a fresh database numbers the originals from 1"
    shutil.copytree(catalog_template / "index", settings.index_dir)
    with session_factory(make_engine(database_url))() as session, session.begin():
        upsert_brand(session, BRAND, [ALERT_TO])
        marketplace_id = upsert_marketplace(session, "test shop", ["https://shop.test/"])
    return World(settings, env, queue, redis_url, marketplace_id, ids)


@pytest.fixture
def world(tmp_path: Path, fresh_pg_url: str, catalog_template: Path) -> Iterator[World]:
    w = build_world(tmp_path, fresh_pg_url, catalog_template, _redis_db_url())
    yield w
    drop_queue_keys(w.redis_db_url, w.queue)


def drop_queue_keys(redis_url: str, queue: str) -> None:
    """Delete only this test's keys from the shared Redis."""
    try:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass


class WorkerProcess:
    """A real ``celery worker`` process in its own process group."""

    def __init__(self, env: dict[str, str], queues: str, log_path: Path, concurrency: int = 1) -> None:
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "workers.app", "worker",
                "-Q", queues, "-c", str(concurrency), "-P", "prefork",
                "-n", f"w-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "-l", "INFO",
            ],
            env=full_env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 180.0) -> WorkerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log_path.read_text():
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"worker not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9 the whole worker (main process and pool children)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], queues: str, concurrency: int = 1) -> WorkerProcess:
        worker = WorkerProcess(env, queues, tmp_path / f"worker{len(started)}.log", concurrency)
        started.append(worker)
        return worker.wait_ready()

    yield start
    for worker in started:
        worker.stop()


class Inbox:
    """aiosmtpd handler keeping every accepted message; ``delay_s`` holds each DATA a while, so
    two senders really overlap."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.messages: list[EmailMessage] = []
        self.delay_s = delay_s

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        import asyncio

        await asyncio.sleep(self.delay_s)
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox(delay_s=0.5)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()
