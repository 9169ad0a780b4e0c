"""`copywatch bench scale` on small catalogs: both sizes measured, queries still find their original."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

import detection.catalog
import detection.catalog_index
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
    monkeypatch.setattr(detection.catalog_index, "MAX_LISTS", 128)
    monkeypatch.setattr(detection.catalog_index, "TRAIN_PER_LIST", 40)
    argv = ["scale", "--sizes", "3000,300", "--queries", "6", "--recall-queries", "3", "--json"]
    code = bench_scale.run(_parse(argv), None)
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert code == 0
    assert result["sizes"] == [300, 3000]
    assert all(ms > 0 for ms in result["ms_per_query"])
    assert all(p95 >= ms for p95, ms in zip(result["ms_p95"], result["ms_per_query"], strict=True))
    assert result["top1"] == [1.0, 1.0]
    assert result["index"][0] == "inverted file (128 lists, 6 probes)"
    # The first 3 queries again, with an exhaustive search of the same catalog: same answers.
    assert result["recall_queries"] == 3 and result["top1_exact"] == [1.0, 1.0]
    assert result["outcome_agreement"] == [1.0, 1.0] and result["top1_vs_exact"] == [1.0, 1.0]
    assert all(0.5 < recall <= 1.0 for recall in result["neighbour_recall"])
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


def test_neighbour_recall_counts_ties_as_found_and_ignores_far_neighbours() -> None:
    class Fixed:
        def __init__(self, distances: list[list[int]]) -> None:
            self.distances = np.array(distances)

        def search(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, None]:
            return self.distances, None

    exact = Fixed([[3, 5], [10, 90], [70, 80]])
    approximate = Fixed([[3, 6], [10, 95], [75, 99]])  # a tie found, one missed; row 3 too far to count
    codes = np.zeros((3, 32), np.uint8)
    assert bench_scale.neighbour_recall(approximate, exact, codes, 2, 64) == pytest.approx(2 / 3)
    assert bench_scale.neighbour_recall(exact, exact, codes, 2, 64) == 1.0


def test_a_cached_catalog_is_the_one_a_fresh_run_builds(tmp_path) -> None:  # noqa: ANN001
    rng = np.random.default_rng(2)
    base = detection.catalog.Catalog.build([(f"d{i}", bench_scale.drawn_original(rng)) for i in range(3)])
    built, _ = bench_scale._scaled_catalog(base, 8, 0, "drawn", tmp_path)
    cached, _ = bench_scale._scaled_catalog(base, 8, 0, "drawn", tmp_path)
    fresh, _ = bench_scale._scaled_catalog(base, 8, 0, "drawn", None)
    assert cached.ids() == built.ids() == fresh.ids() and len(fresh) == 8
    assert np.array_equal(cached.all_descriptors(), fresh.all_descriptors())


def test_growth_exponent_is_the_log_log_slope() -> None:
    assert bench_scale.growth_exponent([1000, 100000], [2.0, 20.0]) == pytest.approx(0.5)
    assert math.isnan(bench_scale.growth_exponent([1000], [2.0]))
