"""The logo benchmark's generators: typefaces, mark generators, held-out sets, the report."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detection.logo.bench import make_logo_benchmark, select_generators
from detection.logo.bench_eval import evaluate_logo_benchmark
from detection.logo.fonts import HERSHEY_FAMILIES, installed_fonts, select_fonts
from detection.logo.marks import EMBLEM_GENERATORS, GENERATORS, TEXT_GENERATORS, render_mark
from detection.logo.shape import SHAPES, classify_by_rules, shape_features
from detection.logo.shape_model import MODEL_PATH, ShapeModel, default_model, train


def test_every_generator_draws_its_classes_in_any_installed_font() -> None:
    fonts = list(installed_fonts())
    assert {f.family for f in fonts} >= set(HERSHEY_FAMILIES)  # always there, even without font packages
    rng = np.random.default_rng(0)
    for generator in GENERATORS:
        shapes = (
            ("triangular", "square")
            if generator in EMBLEM_GENERATORS
            else ("long_narrow_text", "rectangular_text")
        )
        for shape in shapes:
            alpha, family = render_mark(shape, generator, rng, fonts)
            assert alpha.ndim == 2 and alpha.max() > 0.9 and min(alpha.shape) >= 4
            assert (family != "") == (generator in TEXT_GENERATORS)
    with pytest.raises(ValueError, match="draws no text"):
        render_mark("long_narrow_text", "polygon", rng, fonts)


def test_held_out_fonts_and_generators_never_meet_the_development_ones() -> None:
    dev = {f.family for f in select_fonts("dev", ["Hershey Triplex"])}
    held = {f.family for f in select_fonts("holdout", ["Hershey Triplex"])}
    assert held == {"Hershey Triplex"} and not dev & held
    assert set(select_generators("dev", ["rounded", "ttf_tracked"])).isdisjoint({"rounded", "ttf_tracked"})
    assert set(select_generators("holdout", ["rounded", "ttf_tracked"])) == {"rounded", "ttf_tracked"}
    with pytest.raises(ValueError, match="unknown mark generators"):
        select_generators("dev", ["nonsense"])
    with pytest.raises(ValueError, match="no holdout fonts"):
        select_fonts("holdout", ["No Such Family*"])


def test_make_logo_writes_truth_with_fonts_and_eval_breaks_the_figures_down(tmp_path: Path) -> None:
    out = make_logo_benchmark(tmp_path / "bench", n=28, seed=3, fonts="holdout",
                              holdout_fonts=["Hershey Triplex"], generators="dev", style="mixed")  # fmt: skip
    rows = list(csv.DictReader((out / "truth.csv").open()))
    assert len(rows) == 28 and {"font", "generator", "style"} <= set(rows[0])
    assert {r["font"] for r in rows if "text" in r["shape"]} == {"Hershey Triplex"}
    assert any(r["verdict"] == "no_logo" for r in rows) and {r["style"] for r in rows} == {"seed", "alt"}
    report = evaluate_logo_benchmark(out)
    for key in ("images", "position_accuracy", "confusion", "counterfeit_recall", "false_alarm_rate",
                "shape_accuracy", "ms_per_image", "shape_confusion", "shape_by_font", "position_by_class"):  # fmt: skip
        assert key in report
    assert set(report["shape_confusion"]) == set(SHAPES)
    assert sum(v["images"] for v in report["position_by_class"].values()) == sum(
        1 for r in rows if r["position"]
    )
    assert "Hershey Triplex" in report["shape_by_font"] and "(emblem)" in report["shape_by_font"]


def test_eval_logo_cli_prints_the_breakdowns_and_keeps_the_json_keys(tmp_path: Path) -> None:
    out = make_logo_benchmark(tmp_path / "bench", n=14, seed=5, style="seed")
    result = subprocess.run([sys.executable, "-m", "copywatch", "eval-logo", "--bench", str(out), "--json"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "shape truth" in result.stdout and "shape accuracy by font family" in result.stdout
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["images"] == 14 and "shape_by_position" in report


def test_make_logo_cli_refuses_an_unknown_generator(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "copywatch", "bench", "make-logo", "--out", str(tmp_path / "b"), "--n", "3",
         "--generators", "holdout", "--holdout-generators", "sparkles"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "unknown mark generators" in result.stdout


def _mask(draw) -> np.ndarray:  # noqa: ANN001
    import cv2

    canvas = np.zeros((120, 360), np.uint8)
    draw(canvas, cv2)
    return canvas > 0


def test_the_shipped_model_reads_layout_not_a_single_aspect_cut() -> None:
    assert MODEL_PATH.stat().st_size < 200_000 and default_model() is not None
    one_line = _mask(lambda c, cv2: cv2.putText(c, "BRAND", (10, 80), cv2.FONT_HERSHEY_TRIPLEX, 2.0, 255, 4))
    two_lines = _mask(lambda c, cv2: (cv2.putText(c, "BR", (10, 50), cv2.FONT_HERSHEY_TRIPLEX, 1.6, 255, 4),
                                      cv2.putText(c, "AND", (10, 108), cv2.FONT_HERSHEY_TRIPLEX, 1.6, 255, 4)))  # fmt: skip
    triangle = _mask(
        lambda c, cv2: cv2.fillPoly(c, [np.array([[60, 10], [10, 110], [140, 100]], np.int32)], 255)
    )
    outlined = _mask(lambda c, cv2: cv2.rectangle(c, (20, 10), (120, 110), 255, 12))
    from detection.logo.shape import classify_shape

    assert classify_shape(shape_features(one_line)) == "long_narrow_text"
    assert classify_shape(shape_features(two_lines)) == "rectangular_text"
    assert classify_shape(shape_features(triangle)) == "triangular"
    assert classify_shape(shape_features(outlined)) == "square"
    assert classify_by_rules(shape_features(triangle)) == "triangular"  # the fallback still works
    assert shape_features(np.zeros((10, 10), bool)) == {}


def test_the_network_trains_saves_and_loads_without_pickle(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(4, 1, (60, 2))])
    y = np.array([0] * 60 + [1] * 60)
    model = train(x, y, ("a", "b"), ("low", "high"), hidden=4, epochs=200)
    assert model.predict({"a": 4.0, "b": 4.0}) == "high" and model.predict({"a": 0.0, "b": 0.0}) == "low"
    model.save(tmp_path / "m.npz")
    again = ShapeModel.load(tmp_path / "m.npz")
    assert again.predict({"a": 4.2, "b": 3.9}) == "high" and again.names == ("a", "b")
