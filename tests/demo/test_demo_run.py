"""``copywatch demo`` end to end: embedded (SQLite, in-process), then distributed (PostgreSQL, Redis,
two ``copywatch worker`` processes) — the same detections both ways, and figures that match the
ground truth the demo planted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from copywatch.demo.marketplace import load_manifest
from copywatch.demo.network_outcome import collect_networks
from copywatch.demo.results import DemoOutcome, collect_outcome
from copywatch.demo.run import MARKETPLACE_NAME
from db.engine import make_engine, session_factory
from db.models import Listing, Marketplace
from tests.conftest import REDIS_SERVER_URL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

LISTINGS = 48
ORIGINALS_ARGS = ["--listings", str(LISTINGS), "--json-only"]


@dataclass
class DemoRun:
    line: dict[str, float]
    outcome: DemoOutcome
    data_dir: Path


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DATA_DIR", "MEDIA_ROOT"}
    }
    env.update(extra)
    return env


def _outcome(database_url: str, data_dir: Path) -> DemoOutcome:
    shop = load_manifest(data_dir / "demo" / "shop")
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            marketplace_id = session.execute(
                select(Marketplace.id).where(Marketplace.name == MARKETPLACE_NAME)
            ).scalar_one()
            outcome = collect_outcome(session, shop, marketplace_id, data_dir / "media")
            outcome.networks = collect_networks(session, shop.networks, marketplace_id)
            return outcome
    finally:
        engine.dispose()


def _run_demo(data_dir: Path, env: dict[str, str], *extra: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "copywatch", "demo", "--data-dir", str(data_dir), *ORIGINALS_ARGS, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json-only prints one line, got: {done.stdout[-2000:]}"
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    data_dir = tmp_path_factory.mktemp("embedded") / "data"
    line = _run_demo(data_dir, _env())
    return DemoRun(line, _outcome(f"sqlite:///{data_dir / 'copywatch.db'}", data_dir), data_dir)


def test_embedded_figures_match_the_planted_truth(embedded: DemoRun) -> None:
    shop = load_manifest(embedded.data_dir / "demo" / "shop")
    planted = [x for x in shop.listings if x.truth != "innocent"]
    line = embedded.line
    assert set(line) == {
        "listings", "images", "planted", "found", "false_hits", "counterfeits_planted", "counterfeits_found", "seconds",
        "evidence_expected", "evidence_captured", "notices_drafted", "removed_planted", "removed_detected",
        "removed_wrong",
        "networks_planted", "networks_found", "network_false_links",
    }  # fmt: skip
    assert line["listings"] == len(shop.listings) == LISTINGS
    # Every photo of a JSON-LD or microdata page is crawled; of an OpenGraph page (several
    # og:image tags) and of a lazy gallery (data-src) at least the first, depending on the spider.
    named = sum(1 if x.style in ("opengraph", "lazy") else len(x.images) for x in shop.listings)
    assert named <= line["images"] <= sum(len(x.images) for x in shop.listings)
    assert line["planted"] == len(planted)
    assert line["counterfeits_planted"] == sum(x.truth == "counterfeit" for x in shop.listings)
    # The line is what the database holds, recounted here independently of the demo's own tally.
    assert line == {**embedded.outcome.summary(), "seconds": line["seconds"]}
    assert line["found"] >= 0.9 * line["planted"]
    assert line["false_hits"] == 0
    # Takedowns: evidence for every flagged listing, removals seen exactly.
    assert line["evidence_expected"] > 0 and line["evidence_captured"] == line["evidence_expected"]
    flagged_urls = {
        h.listing_url
        for h in embedded.outcome.hits
        if h.score >= embedded.outcome.alert_threshold and h.original_sku
    }
    engine = make_engine(f"sqlite:///{embedded.data_dir / 'copywatch.db'}")
    try:
        with session_factory(engine)() as session:
            # The sellers as the crawler read them (a page that names none groups as "unknown").
            sellers = set(
                session.execute(select(Listing.seller).where(Listing.url.in_(flagged_urls))).scalars()
            )
    finally:
        engine.dispose()
    assert line["notices_drafted"] == len(sellers)  # one per seller with a confirmed copy
    assert line["removed_planted"] == sum(x.taken_down for x in shop.listings) > 0
    assert line["removed_detected"] == line["removed_planted"] and line["removed_wrong"] == 0
    assert line["counterfeits_found"] >= line["counterfeits_planted"] - 1
    # Two planted seller networks (one phone written three ways; one stolen photo served twice), found
    # exactly, and no link between any other sellers.
    assert (line["networks_planted"], line["networks_found"], line["network_false_links"]) == (2, 2, 0)
    networks = embedded.outcome.networks
    assert networks is not None and networks.listings_linked == networks.listings_naming_seller == LISTINGS


def test_embedded_report_shows_each_hit_beside_its_original(embedded: DemoRun) -> None:
    report = (embedded.data_dir / "demo-report.html").read_text()
    hits = len(embedded.outcome.hits)
    assert hits > 0
    assert report.count('alt="listing photo" src="data:image/jpeg;base64,') == hits
    assert report.count('alt="original" src="data:image/jpeg;base64,') == hits
    assert "copywatch serve" in report


@pytest.fixture
def workers(tmp_path: Path, make_pg_database: Callable[[], str]) -> Iterator[tuple[dict[str, str], Path]]:
    """Two ``copywatch worker`` processes on a fresh PostgreSQL database and a private Redis queue."""
    data_dir = tmp_path / "data"
    queue = f"demo-test-{uuid.uuid4().hex[:10]}"
    env = _env(
        DATABASE_URL=make_pg_database(),
        REDIS_URL=REDIS_SERVER_URL + "/0",
        DATA_DIR=str(data_dir),
        SCORING_QUEUE=queue,
        SECRET_KEY="test",
    )
    subprocess.run([sys.executable, "-m", "copywatch", "db", "upgrade"], env=env, check=True, timeout=120)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "copywatch",
                "worker",
                "--concurrency",
                "1",
                "--queue",
                queue,
                "--hostname",
                f"demo{i}-{queue}@%h",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"worker{i}.log", "w"),  # noqa: SIM115
            start_new_session=True,
        )  # fmt: skip
        for i in range(2)
    ]
    try:
        yield env, data_dir
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        _drop_queue(queue)


def _drop_queue(queue: str) -> None:
    """Delete only this test's queue keys from the shared Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_SERVER_URL + "/0")
    keys = [k for k in client.scan_iter(match=f"*{queue}*")]
    if keys:
        client.delete(*keys)


def test_distributed_run_finds_the_same_detections(
    embedded: DemoRun, workers: tuple[dict[str, str], Path]
) -> None:
    env, data_dir = workers
    line = _run_demo(
        data_dir, env, "--distributed", "--worker-timeout", "240", "--queue", env["SCORING_QUEUE"]
    )
    outcome = _outcome(env["DATABASE_URL"], data_dir)
    assert outcome.detection_pairs() == embedded.outcome.detection_pairs()
    assert {k: v for k, v in line.items() if k != "seconds"} == {
        k: v for k, v in embedded.line.items() if k != "seconds"
    }
