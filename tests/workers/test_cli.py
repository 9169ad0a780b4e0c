"""``copywatch scan`` and ``copywatch worker`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2

from tests.support.images import draw_original, steal, unrelated
from tests.workers.conftest import ROOT, World


def _copywatch(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "copywatch", *argv],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_scan_ranks_the_copied_original_first_for_each_image_of_a_folder(
    world: World, tmp_path: Path
) -> None:
    folder = tmp_path / "to-scan"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.jpg"), steal(draw_original(5)))
    cv2.imwrite(str(folder / "b.jpg"), unrelated(1))
    (folder / "c.jpg").write_bytes(b"GIF89a broken")

    done = _copywatch(world.env, "scan", str(folder), "--k", "3", "--json")

    assert done.returncode == 0, done.stderr
    results = {Path(r["image"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert results["a.jpg"]["matches"][0]["original_id"] == "5"
    assert results["a.jpg"]["detections"][0]["original_id"] == 5
    assert len(results["a.jpg"]["matches"]) <= 3
    assert results["c.jpg"]["error"] and results["c.jpg"]["matches"] == []


def test_worker_refuses_to_start_without_a_broker(world: World) -> None:
    env = {**world.env, "REDIS_URL": ""}
    done = _copywatch(env, "worker")
    assert done.returncode == 2 and "REDIS_URL" in done.stderr
