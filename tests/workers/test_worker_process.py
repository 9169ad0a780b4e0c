"""Real ``celery worker`` processes on the real PostgreSQL and Redis, and the faults they survive:
kill -9 in the middle of a batch, Redis restarted, PostgreSQL refusing connections."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import Detection
from tests.workers.conftest import World, build_world, drop_queue_keys, free_port
from workers.enqueue import enqueue_score_images, producer


def _detection_pairs(world: World) -> list[tuple[int, int | None]]:
    with world.sessions()() as session:
        return [
            (int(i), o) for i, o in session.execute(select(Detection.listing_image_id, Detection.original_id))
        ]


def _assert_no_duplicates(world: World) -> None:
    with world.sessions()() as session:
        duplicated = session.execute(
            select(Detection.listing_image_id, Detection.original_id)
            .group_by(Detection.listing_image_id, Detection.original_id)
            .having(func.count() > 1)
        ).all()
    assert duplicated == []


def _sweep(world: World, lease_s: float = 5.0, lost_after_s: float = 1.0) -> None:
    """Run the real ``enqueue_pending`` task on the test's queue (it re-sends lost messages)."""
    producer(world.settings).send_task(
        "workers.enqueue_pending",
        kwargs={"lease_s": lease_s, "lost_after_s": lost_after_s},
        queue=world.queue,
    )


def test_a_worker_scores_queued_images_and_records_bad_files(world: World, start_worker: Callable) -> None:
    start_worker(world.env, world.queue)
    stolen = {world.add_image("stolen", seed): seed for seed in (1, 4, 7)}
    corrupt, missing = world.add_image("corrupt", 0), world.add_image("missing", 0)
    other = world.add_image("other", 2)
    ids = [corrupt, *stolen, missing, other]

    assert enqueue_score_images(world.settings, ids) == len(ids)
    batch = [world.add_image("stolen", seed) for seed in (3, 8)] + [world.add_image("corrupt", 1)]
    producer(world.settings).send_task("workers.score_images", args=[batch], queue=world.queue)
    statuses = world.wait_done(ids + batch)

    assert statuses[corrupt][0] == "failed"
    assert statuses[corrupt][1].startswith("unreadable image")
    assert statuses[missing][0] == "failed" and statuses[missing][1].startswith("image file missing")
    assert all(statuses[i] == ("scored", None) for i in [*stolen, other, *batch[:2]])
    assert statuses[batch[2]][0] == "failed", "one bad image in a batch fails alone"
    pairs = set(_detection_pairs(world))
    assert {(i, s) for i, s in stolen.items()} | {(batch[0], 3), (batch[1], 8)} <= pairs
    _assert_no_duplicates(world)


def test_kill_9_mid_batch_then_a_new_worker_scores_every_image_once(
    world: World, start_worker: Callable
) -> None:
    worker = start_worker(world.env, world.queue)
    # Enough images that "two scored" leaves most still in flight or queued, however fast the
    # matcher is and however slowly this process polls on a loaded machine (they travel in
    # batches of 8; 40 were all scored between two polls once).
    stolen = {world.add_image("stolen", seed % 8 + 1): seed % 8 + 1 for seed in range(200)}
    ids = list(stolen)
    enqueue_score_images(world.settings, ids)
    deadline = time.monotonic() + 180
    while sum(s == "scored" for s, _ in world.statuses(ids).values()) < 2:
        assert time.monotonic() < deadline, "the worker never started scoring"
        time.sleep(0.05)
    worker.kill()
    statuses = world.statuses(ids)
    assert any(s != "scored" for s, _ in statuses.values()), "killed too late to test anything"

    start_worker(world.env, world.queue)
    # The sweep (every minute from beat in production) recovers the killed worker's claim.
    final = world.wait_done(ids, every=lambda: _sweep(world))

    assert all(s == ("scored", None) for s in final.values())
    assert {(i, s) for i, s in stolen.items()} <= set(_detection_pairs(world))
    _assert_no_duplicates(world)


class PrivateRedis:
    """A throwaway redis-server (no persistence) this test may stop and start."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.tmp, self.proc = free_port(), tmp, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_down_for_seconds_loses_nothing(
    tmp_path: Path,
    fresh_pg_url: str,
    catalog_template: Path,
    private_redis: PrivateRedis,
    start_worker: Callable,
) -> None:
    world = build_world(tmp_path, fresh_pg_url, catalog_template, private_redis.url)
    start_worker(world.env, world.queue)
    before = [world.add_image("stolen", seed) for seed in (1, 2, 3, 4)]
    enqueue_score_images(world.settings, before)
    time.sleep(0.5)
    private_redis.stop()  # messages still queued are gone: no persistence
    during = [world.add_image("stolen", seed) for seed in (5, 6)]
    enqueue_score_images(world.settings, during)  # refused: the rows stay queued
    time.sleep(3)
    private_redis.start()
    after = [world.add_image("stolen", 7)]
    enqueue_score_images(world.settings, after)
    # Messages lost with Redis are re-sent by the sweep (every minute from beat in production).
    final = world.wait_done(before + during + after, every=lambda: _sweep(world))

    assert all(s == ("scored", None) for s in final.values())
    _assert_no_duplicates(world)


class Gate:
    """A TCP proxy to PostgreSQL that can be closed (connections refused) and opened again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.listener: socket.socket | None = None
        self.links: list[socket.socket] = []
        self.lock = threading.Lock()

    def open(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self) -> None:
        """Refuse new connections and cut the live ones (as a database restart does)."""
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone leaves it accepting.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for link in self.links:
                with contextlib.suppress(OSError):
                    link.shutdown(socket.SHUT_RDWR)
                link.close()
            self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()


def test_postgres_refusing_connections_briefly_loses_nothing(
    tmp_path: Path, fresh_pg_url: str, catalog_template: Path, start_worker: Callable
) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(fresh_pg_url)
    gate = Gate((url.host or "127.0.0.1", url.port or 5432))
    gate.open()
    world = build_world(tmp_path, fresh_pg_url, catalog_template, f"{_shared_redis()}")
    worker_env = {
        **world.env,
        "DATABASE_URL": url.set(host="127.0.0.1", port=gate.port).render_as_string(False),
    }
    worker = None
    try:
        worker = start_worker(worker_env, world.queue)
        ids = [world.add_image("stolen", seed) for seed in range(1, 9)]
        enqueue_score_images(world.settings, ids[:2])
        deadline = time.monotonic() + 180
        while "scored" not in {s for s, _ in world.statuses(ids[:2]).values()}:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        gate.close()  # mid-run: live connections cut, new ones refused
        enqueue_score_images(world.settings, ids[2:])
        time.sleep(3)
        gate.open()
        final = world.wait_done(ids)
    finally:
        # Stop the worker while the gate is open: behind a closed gate its shutdown waits on
        # PostgreSQL reconnects, and the database cannot be dropped until its connections end.
        if worker is not None:
            worker.stop()
        gate.close()
        drop_queue_keys(world.redis_db_url, world.queue)

    assert all(s == ("scored", None) for s in final.values()), final
    _assert_no_duplicates(world)
    assert "Retry in" in worker.log_path.read_text(), "the outage was seen and retried, not dodged"


def _shared_redis() -> str:
    import random

    from tests.conftest import REDIS_SERVER_URL

    return f"{REDIS_SERVER_URL}/{random.randint(1, 15)}"
