"""`copywatch bench scale` on small catalogs: both sizes measured, queries still find their original."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

import detection.catalog
from copywatch.commands import bench_scale


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_scale.register(parser.add_subparsers())
    return parser.parse_args(argv)


@pytest.mark.timeout(300)  # generous: CI machines are shared
def test_bench_scale_measures_each_size_and_keeps_the_right_answer(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Training and filling thousands of inverted lists is what takes time at 3000 originals; fewer
    # lists change the search's cost, not what this test checks (figures present, right answers).
    monkeypatch.setattr(detection.catalog, "MAX_LISTS", 128)
    monkeypatch.setattr(detection.catalog, "TRAIN_PER_LIST", 40)
    code = bench_scale.run(_parse(["scale", "--sizes", "3000,300", "--queries", "6", "--json"]), None)
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert code == 0
    assert result["sizes"] == [300, 3000]
    assert all(ms > 0 for ms in result["ms_per_query"])
    assert all(p95 >= ms for p95, ms in zip(result["ms_p95"], result["ms_per_query"], strict=True))
    assert result["top1"] == [1.0, 1.0]
    assert result["device"] == "cpu"  # --device cuda searches on the GPU
    assert all(b > 0 for b in result["index_bytes_per_original"])
    expected = math.log(result["ms_per_query"][1] / result["ms_per_query"][0]) / math.log(10)
    assert result["growth_exponent"] == pytest.approx(expected, abs=1e-3)
    assert "originals" in captured.err  # one readable line per size


def test_synthetic_originals_are_near_but_not_copies_of_real_descriptors() -> None:
    rng = np.random.default_rng(1)
    base = detection.catalog.Catalog.build([(f"d{i}", bench_scale.drawn_original(rng)) for i in range(5)])
    real = np.concatenate([base.descriptors_of(i) for i in range(len(base))])
    extra = list(bench_scale.synthetic_originals(base, 3, rng))
    assert [e[0] for e in extra] == ["synthetic-0000000", "synthetic-0000001", "synthetic-0000002"]
    codes = extra[0][1]
    distances = np.unpackbits(codes[:, None, :] ^ real[None, :, :], axis=2).sum(axis=2).min(axis=1)
    assert distances.min() >= 1 and np.median(distances) <= bench_scale.FLIPPED_BITS


def test_growth_exponent_is_the_log_log_slope() -> None:
    assert bench_scale.growth_exponent([1000, 100000], [2.0, 20.0]) == pytest.approx(0.5)
    assert math.isnan(bench_scale.growth_exponent([1000], [2.0]))
