import csv

import cv2
import pytest

from detection.benchmark import QUERY_FAMILIES, STRONG_FAMILIES, make_benchmark
from detection.drawn import textured_photo
from detection.evaluate import load_benchmark
from tests.support.images import write_photos


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    write_photos(root / "photos", 12)
    counts = make_benchmark(
        root / "photos", root / "bench", seed=3, strip_originals=4, per_family=1, distractors_per_family=1
    )
    return root / "bench", counts


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_counts_and_layout(bench):
    root, counts = bench
    assert counts == {
        "originals": 10,
        "queries": 4 * 3 + len(QUERY_FAMILIES) + len(QUERY_FAMILIES) + 2,
        "distractors": 12,
        "variants_left_out": 0,
    }
    assert len(list((root / "originals").iterdir())) == 10
    assert len(list((root / "queries").iterdir())) == counts["queries"]


def test_strong_adds_the_stronger_families(tmp_path):
    write_photos(tmp_path / "photos", 12)
    counts = make_benchmark(
        tmp_path / "photos", tmp_path / "bench", seed=3, strip_originals=1, per_family=1,
        distractors_per_family=0, strong=True,
    )  # fmt: skip
    families = {row["transform"] for row in _rows(tmp_path / "bench" / "truth.csv")}
    assert set(STRONG_FAMILIES) <= families
    assert counts["queries"] == 3 + len(QUERY_FAMILIES) + len(STRONG_FAMILIES)


def test_families_replace_the_defaults_and_may_chain_edits(tmp_path):
    write_photos(tmp_path / "photos", 12)
    counts = make_benchmark(
        tmp_path / "photos", tmp_path / "bench", seed=3, strip_originals=1, per_family=2,
        distractors_per_family=1, families=["hflip+small_insert", "color+text_overlay", "jpeg"],
    )  # fmt: skip
    rows = _rows(tmp_path / "bench" / "truth.csv")
    in_catalog = [r for r in rows if r["original_id"]]
    assert {r["transform"] for r in in_catalog} == {
        "crop_strip",
        "hflip+small_insert",
        "color+text_overlay",
        "jpeg",
    }
    assert counts["queries"] == 3 + 3 * 2 + 3 + 2  # strips, edits, their distractors, none + strip
    # A chain ending in JPEG keeps its own compression, as plain jpeg does.
    suffixes = {
        r["transform"]: (tmp_path / "bench" / "queries" / f"{r['query_id']}.png").exists() for r in rows
    }
    assert suffixes["jpeg"] and not suffixes["color+text_overlay"]


def test_unknown_or_empty_families_are_refused_before_anything_is_written(tmp_path):
    write_photos(tmp_path / "photos", 6)
    with pytest.raises(ValueError, match="unknown edit family 'sepia'"):
        make_benchmark(tmp_path / "photos", tmp_path / "a", families=["hflip+sepia"])
    with pytest.raises(ValueError, match="at least one"):
        make_benchmark(tmp_path / "photos", tmp_path / "b", families=[])
    with pytest.raises(ValueError, match="not 'none'"):
        make_benchmark(tmp_path / "photos", tmp_path / "c", families=["none"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_truth_refers_to_catalog_originals_and_distractors_are_held_back(bench):
    root, _ = bench
    catalog = {p.stem for p in (root / "originals").iterdir()}
    rows = _rows(root / "truth.csv")
    in_catalog = [r for r in rows if r["original_id"]]
    assert all(r["original_id"] in catalog for r in in_catalog)
    assert {r["transform"] for r in in_catalog} == {"crop_strip", *QUERY_FAMILIES}
    assert {r["transform"] for r in rows if not r["original_id"]} == {*QUERY_FAMILIES, "none", "crop_strip1"}
    # Query ids do not reveal the original.
    assert all(r["query_id"].startswith("q") and r["original_id"] not in r["query_id"] for r in in_catalog)


def test_strip_queries_are_the_seed_strips_with_candidates(bench):
    root, _ = bench
    truth = {r["query_id"]: r for r in _rows(root / "truth.csv")}
    seed = _rows(root / "seed_candidates.csv")
    strips = [q for q, r in truth.items() if r["transform"] == "crop_strip"]
    assert sorted(r["query_id"] for r in seed) == sorted(strips)
    for row in seed:
        candidates = row["candidates"].split()
        assert len(candidates) == len(set(candidates)) == 10  # the whole catalog when it has < 101
        assert truth[row["query_id"]]["original_id"] in candidates
        query = cv2.imread(str(root / "queries" / f"{row['query_id']}.jpg"))
        original = cv2.imread(str(root / "originals" / f"{truth[row['query_id']]['original_id']}.jpg"))
        assert query.shape[1] == original.shape[1] and query.shape[0] == original.shape[0] // 2


def test_reproducible_and_refuses_a_non_empty_folder(bench, tmp_path):
    root, _ = bench
    write_photos(tmp_path / "photos", 12)
    make_benchmark(
        tmp_path / "photos",
        tmp_path / "again",
        seed=3,
        strip_originals=4,
        per_family=1,
        distractors_per_family=1,
    )
    assert (tmp_path / "again" / "truth.csv").read_text() == (root / "truth.csv").read_text()
    with pytest.raises(FileExistsError):
        make_benchmark(tmp_path / "photos", tmp_path / "again")


def test_load_benchmark_reads_it_back_and_limits(bench):
    root, counts = bench
    loaded = load_benchmark(root)
    assert len(loaded.originals) == 10 and len(loaded.queries) == counts["queries"]
    assert sum(1 for o, _ in loaded.truth.values() if o is None) == 12
    limited = load_benchmark(root, limit=5)
    assert len(limited.queries) == len(limited.truth) == 5
    assert set(limited.seed_candidates) <= set(limited.queries)


def test_bench_make_command_passes_the_families_and_refuses_unknown_ones(tmp_path, capsys):
    import argparse
    import json

    from copywatch.commands import bench_make

    write_photos(tmp_path / "photos", 8)
    parser = argparse.ArgumentParser()
    bench_make.register(parser.add_subparsers())
    common = ["make", "--originals", str(tmp_path / "photos"), "--strip-originals", "1", "--per-family", "1"]
    args = parser.parse_args([*common, "--out", str(tmp_path / "a"), "--families", " hflip+insert , jpeg,"])
    assert args.handler(args, None) == 0
    assert json.loads(capsys.readouterr().out)["out"] == str(tmp_path / "a")
    families = {row["transform"] for row in _rows(tmp_path / "a" / "truth.csv")}
    assert families == {"crop_strip", "hflip+insert", "jpeg", "none", "crop_strip1"}
    args = parser.parse_args([*common, "--out", str(tmp_path / "b"), "--families", "hflip+sepia"])
    assert args.handler(args, None) == 2
    assert "unknown edit family 'sepia'" in capsys.readouterr().err


def test_held_back_variants_of_catalog_drawings_are_not_drawn_as_innocents(tmp_path):
    """Five drawings are in the folder twice, the second recoloured: one held back while its
    twin is in the catalog is left out, unless asked to keep it."""
    (tmp_path / "photos").mkdir()
    for seed in range(5):
        drawing = textured_photo(seed, side=200)
        cv2.imwrite(str(tmp_path / "photos" / f"d{seed}a.png"), drawing)
        cv2.imwrite(str(tmp_path / "photos" / f"d{seed}b.png"), drawing[:, :, ::-1])
    for seed in range(50, 56):
        cv2.imwrite(str(tmp_path / "photos" / f"lone{seed}.png"), textured_photo(seed, side=200))
    options = dict(seed=5, holdout_fraction=0.5, strip_originals=1, per_family=0, distractors_per_family=2)
    cleaned = make_benchmark(tmp_path / "photos", tmp_path / "cleaned", **options)
    kept = make_benchmark(tmp_path / "photos", tmp_path / "kept", keep_variants=True, **options)
    assert cleaned["variants_left_out"] >= 1 and kept["variants_left_out"] == 0
