"""Composing the dev benchmark's originals from clip-art packages, and `copywatch bench make-dev`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from copywatch.cli import main
from detection.devset import (
    OPENCLIPART_ROOT,
    TUXPAINT_CATEGORIES,
    TUXPAINT_ROOT,
    candidate_drawings,
    compose_originals,
)


def _drawing(path: Path, seed: int, *, blank: bool = False) -> None:
    """A transparent PNG with a few opaque shapes (a clip-art drawing)."""
    rng = np.random.default_rng(seed)
    rgba = np.zeros((300, 260, 4), np.uint8)
    if not blank:
        for _ in range(3):  # a body of a few parts, different in every drawing
            body = tuple(int(c) for c in rng.integers(60, 255, 3)) + (255,)
            centre = (int(rng.integers(60, 200)), int(rng.integers(60, 240)))
            axes = (int(rng.integers(30, 90)), int(rng.integers(30, 100)))
            cv2.ellipse(rgba, centre, axes, float(rng.uniform(0, 180)), 0, 360, body, -1)
        for _ in range(40):  # ink lines inside the body, as a drawing's details
            colour = tuple(int(c) for c in rng.integers(0, 160, 3)) + (255,)
            a, b = rng.integers(60, 240, 2), rng.integers(60, 240, 2)
            cv2.line(rgba, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour, 2)
    else:
        rgba[100:200, 80:180] = (200, 200, 200, 255)  # one flat square: hardly any edge
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba, "RGBA").save(path)


@pytest.fixture
def packages(tmp_path: Path) -> Path:
    root = tmp_path / "packages"
    for n in range(6):
        _drawing(root / TUXPAINT_ROOT / "animals" / f"animal{n}.png", n)
    _drawing(root / TUXPAINT_ROOT / "animals" / "variants" / "animal0.png", 100)  # a repeated stem
    _drawing(root / TUXPAINT_ROOT / "symbols" / "alphabet" / "a.png", 200)  # letters are no products
    _drawing(root / TUXPAINT_ROOT / "cartoon" / "c.png", 300)  # not a dev category
    _drawing(root / OPENCLIPART_ROOT / "office" / "stapler.png", 7)
    _drawing(root / OPENCLIPART_ROOT / "office" / "stapler-copy.png", 7)  # the same drawing again
    _drawing(root / OPENCLIPART_ROOT / "office" / "blank.png", 8, blank=True)
    return root


def test_originals_are_composed_and_repeats_dropped(packages: Path, tmp_path: Path) -> None:
    drawings = candidate_drawings(packages / TUXPAINT_ROOT, TUXPAINT_CATEGORIES) + candidate_drawings(
        packages / OPENCLIPART_ROOT, ("office",)
    )
    assert not any("alphabet" in str(p) or "cartoon" in str(p) for p in drawings)
    counts = compose_originals(drawings, tmp_path / "originals")
    assert counts == {"kept": 7, "repeated_stem": 1, "unreadable": 0, "flat": 1, "near_duplicate": 1}
    photos = sorted((tmp_path / "originals").glob("*.jpg"))
    assert [p.name for p in photos] == [f"o{n:05d}.jpg" for n in range(1, 8)]
    for path in photos:
        image = cv2.imread(str(path))
        assert image is not None and max(image.shape[:2]) <= 512
        h, w = image.shape[:2]
        assert round(w / h, 2) in {1.0, 0.8, 0.75}
        corner = image[:5, :5].reshape(-1, 3)
        assert corner.min() >= 235, "a plain white or very light background"


def test_make_dev_builds_a_benchmark(
    packages: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dev"
    assert main(["bench", "make-dev", "--packages", str(packages), "--out", str(out), "--per-family", "2",
                 "--distractors-per-family", "1"]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["drawings"] == 10 and summary["originals"] >= 4
    with open(out / "truth.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["queries"] and {r["transform"] for r in rows} >= {
        "crop_strip",
        "hflip",
        "combo",
    }


def test_make_dev_without_the_packages_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "make-dev", "--packages", str(tmp_path), "--out", str(tmp_path / "dev")]) == 2
    assert "tuxpaint-stamps-default" in capsys.readouterr().err
