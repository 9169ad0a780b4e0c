"""The catalog index chosen by size: its kind, its recall against an exhaustive search, save/load."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

import detection.catalog_index as catalog_index
from detection.catalog import Catalog
from detection.matching import Matcher, build_catalog
from tests.support.catalogs import rewrite_as_format
from tests.support.images import product_image


def _clustered_codes(rng: np.random.Generator, centres: int, copies: int, flipped: int) -> np.ndarray:
    """``centres`` random codes, each with ``copies`` near copies (``flipped`` random bits each):
    clustered as ORB descriptors of many originals are."""
    base = rng.integers(0, 256, (centres, 32), dtype=np.uint8)
    codes = np.repeat(base, copies, axis=0)
    return _flipped(codes, rng, flipped)


def _flipped(codes: np.ndarray, rng: np.random.Generator, bits: int) -> np.ndarray:
    codes = codes.copy()
    rows = np.arange(len(codes))
    for _ in range(bits):
        bit = rng.integers(0, 256, len(codes))
        codes[rows, bit // 8] ^= (1 << (bit % 8)).astype(np.uint8)
    return codes


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The size thresholds of a million-descriptor catalog, scaled down to a test's few thousand."""
    monkeypatch.setattr(catalog_index, "IVF_FROM", 500)
    monkeypatch.setattr(catalog_index, "LARGE_FROM", 4000)
    monkeypatch.setattr(catalog_index, "MAX_LISTS", 16)
    monkeypatch.setattr(catalog_index, "CODES_PER_LIST", 32)


def test_the_index_kind_follows_the_catalogs_size(small_thresholds: None) -> None:
    rng = np.random.default_rng(0)
    exact = catalog_index.make_index(_clustered_codes(rng, 40, 10, 8))  # 400 codes
    assert isinstance(exact, faiss.IndexBinaryFlat) and catalog_index.describe(exact) == "exact"
    assert catalog_index.centres(exact) is None
    middle = catalog_index.make_index(_clustered_codes(rng, 100, 10, 8))  # 1,000 codes
    assert (
        isinstance(middle, faiss.IndexBinaryIVF)
        and middle.nlist == 16
        and middle.nprobe == catalog_index.NPROBE
    )
    large = catalog_index.make_index(_clustered_codes(rng, 400, 20, 8))  # 8,000 codes
    assert isinstance(faiss.downcast_IndexBinary(large.quantizer), faiss.IndexBinaryIVF)
    assert large.nlist == 8000 // 32 and large.nprobe == catalog_index.LARGE_NPROBE and large.ntotal == 8000
    assert catalog_index.describe(large).startswith("two-level inverted file (250 lists in 64 groups")
    # Lists follow the catalog: twice the codes, twice the lists, each list as long as before.
    larger = catalog_index.make_index(_clustered_codes(rng, 800, 20, 8))
    assert larger.nlist == 2 * large.nlist
    # The centres are catalog codes, one a list, in the lists' order.
    centres = catalog_index.centres(large)
    assert centres is not None and centres.shape == (large.nlist, 32)
    distances, lists = large.quantizer.search(centres[:20], 1)
    assert (distances[:, 0] == 0).all() and lists[:, 0].tolist() == list(range(20))


def test_the_two_level_file_finds_nearly_what_an_exhaustive_search_finds(small_thresholds: None) -> None:
    rng = np.random.default_rng(1)
    codes = _clustered_codes(rng, 100, 90, 10)  # 9,000 codes in 281 lists, ~3 a cluster
    index = catalog_index.make_index(codes)
    exact = faiss.IndexBinaryFlat(256)
    exact.add(codes)
    queries = _flipped(codes[rng.choice(len(codes), 500, replace=False)], rng, 12)
    found, _ = index.search(queries, 2)
    want, _ = exact.search(queries, 2)
    assert isinstance(faiss.downcast_IndexBinary(index.quantizer), faiss.IndexBinaryIVF)
    # Neighbours as near as the exhaustive search's (a tie counts as found), nearly always.
    assert (found[:, 0] <= want[:, 0]).mean() >= 0.95
    assert (found <= want).mean() >= 0.95
    # Each query's own cluster is found: its nearest neighbour is within its cluster's spread.
    assert (found[:, 0] <= 40).mean() >= 0.99


def test_a_two_level_catalog_saves_loads_grows_and_matches(
    small_thresholds: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_index, "LARGE_FROM", 1500)
    catalog = build_catalog((f"o{i}", product_image(i)) for i in range(10))
    assert catalog.descriptor_count >= catalog_index.LARGE_FROM
    kind = catalog_index.describe(catalog.index)
    assert kind.startswith("two-level inverted file")
    catalog.add("late", product_image(60))
    catalog.save(tmp_path / "index")
    loaded = Catalog.load(tmp_path / "index")
    assert catalog_index.describe(loaded.index) == catalog_index.describe(catalog.index)
    assert np.array_equal(loaded.all_descriptors(), catalog.all_descriptors())
    lists = loaded.inverted_lists()
    assert lists is not None and len(lists.centres) == loaded.index.nlist
    matcher = Matcher(loaded)
    assert matcher.match(product_image(60)[100:400], k=1)[0].original_id == "late"
    assert matcher.match(product_image(3)[:240], k=1)[0].original_id == "o3"
    assert Matcher(loaded.exact_twin()).match(product_image(3)[:240], k=1)[0].original_id == "o3"


def test_the_exact_twin_searches_every_code(small_thresholds: None) -> None:
    catalog = build_catalog((f"o{i}", product_image(i)) for i in range(6))
    twin = catalog.exact_twin()
    assert isinstance(twin.index, faiss.IndexBinaryFlat) and twin.ids() == catalog.ids()
    assert np.array_equal(twin.all_descriptors(), catalog.all_descriptors())
    assert not isinstance(catalog.index, faiss.IndexBinaryFlat)  # the original keeps its own index


def test_memory_per_code_counts_ids_and_centres(small_thresholds: None) -> None:
    rng = np.random.default_rng(2)
    codes = _clustered_codes(rng, 400, 20, 8)
    large = catalog_index.make_index(codes)
    # 8-byte id + (32-byte centre + 8-byte centre id) per 32 codes.
    assert catalog_index.extra_bytes_per_code(large) == pytest.approx(8 + 40 * 250 / 8000)
    assert catalog_index.extra_bytes_per_code(catalog_index.make_index(codes[:400])) == 0.0


@pytest.fixture
def small_file_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The small inverted file's range, scaled down to a test's few thousand codes."""
    monkeypatch.setattr(catalog_index, "SMALL_IVF_FROM", 500)
    monkeypatch.setattr(catalog_index, "SMALL_LISTS", 8)
    monkeypatch.setattr(catalog_index, "SMALL_NPROBE", 2)
    monkeypatch.setattr(catalog_index, "IVF_FROM", 3000)


def test_a_small_catalog_gets_the_small_inverted_file(small_file_thresholds: None) -> None:
    rng = np.random.default_rng(2)
    exact = catalog_index.make_index(_clustered_codes(rng, 40, 10, 8))  # 400 codes
    small = catalog_index.make_index(_clustered_codes(rng, 100, 10, 8))  # 1,000 codes
    middle = catalog_index.make_index(_clustered_codes(rng, 400, 10, 8))  # 4,000 codes
    assert isinstance(exact, faiss.IndexBinaryFlat)
    assert isinstance(small, faiss.IndexBinaryIVF) and (small.nlist, small.nprobe) == (8, 2)
    assert catalog_index.is_small_inverted_file(small)
    assert not catalog_index.is_small_inverted_file(exact) and not catalog_index.is_small_inverted_file(
        middle
    )
    assert middle.nprobe == catalog_index.NPROBE
    # Grown past its kind's range, an index is rebuilt as the larger kind.
    assert catalog_index.outgrown(exact, 500) and not catalog_index.outgrown(exact, 499)
    assert catalog_index.outgrown(small, 3000) and not catalog_index.outgrown(small, 2999)
    assert not catalog_index.outgrown(middle, 10**6)


def test_the_small_file_is_calibrated_with_the_exhaustive_search(
    small_file_thresholds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    calibrate = importlib.import_module("detection.matching.calibrate")  # the module, not its function
    searched_with: list[object] = []
    real_matcher = calibrate.Matcher

    def recording(catalog: Catalog) -> Matcher:
        searched_with.append(catalog.index)
        return real_matcher(catalog)

    monkeypatch.setattr(calibrate, "Matcher", recording)
    catalog = build_catalog((f"o{i}", product_image(i)) for i in range(6))
    assert 500 <= catalog.descriptor_count < 3000
    assert catalog_index.is_small_inverted_file(catalog.index)
    assert len(searched_with) == 1 and isinstance(searched_with[0], faiss.IndexBinaryFlat)
    exhaustive = catalog.for_calibration()
    assert exhaustive.index.ntotal == catalog.descriptor_count
    assert np.array_equal(exhaustive.all_descriptors(), catalog.all_descriptors())
    # Listings are searched in the inverted file, and still find their original.
    assert Matcher(catalog).match(product_image(4)[:260], k=1)[0].original_id == "o4"
    # Grown past the small file's range, the catalog is rebuilt as the usual inverted file.
    for i in range(6, 20):
        catalog.add(f"o{i}", product_image(i))
    assert catalog.descriptor_count >= 3000 and not catalog_index.is_small_inverted_file(catalog.index)
    assert catalog.for_calibration() is catalog
    assert Matcher(catalog).match(product_image(15)[:260], k=1)[0].original_id == "o15"


@pytest.mark.parametrize("count", [1_000, 8_000], ids=["inverted file", "two-level inverted file"])
def test_a_saved_inverted_file_answers_as_before_without_ids_on_disk(
    small_thresholds: None, tmp_path: Path, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_index, "LOAD_CHUNK", 333)  # loaded a few chunks at a time
    rng = np.random.default_rng(3)
    codes = _clustered_codes(rng, count // 20, 20, 8)
    index = catalog_index.make_index(codes)
    index.add(_flipped(codes[:50], rng, 4))  # codes added later go to the lists' ends, as Catalog.add
    stored = catalog_index.write(index, tmp_path)
    loaded = catalog_index.read(tmp_path, stored)
    assert catalog_index.describe(loaded) == catalog_index.describe(index)
    queries = _flipped(codes[rng.choice(count, 300, replace=False)], rng, 12)
    assert [a.tolist() for a in index.search(queries, 4)] == [a.tolist() for a in loaded.search(queries, 4)]
    for (number, ids, listed), (again, loaded_ids, loaded_listed) in zip(
        catalog_index.inverted_file(index), catalog_index.inverted_file(loaded), strict=True
    ):
        assert number == again and ids.tolist() == loaded_ids.tolist()
        assert np.array_equal(listed, loaded_listed)
    faiss.write_index_binary(index, str(tmp_path / "as-faiss-writes-it"))
    saved = sum(p.stat().st_size for p in tmp_path.iterdir() if p.name != "as-faiss-writes-it")
    # 32 bytes a code and a 2-byte list number, where FAISS writes an 8-byte id beside each code.
    assert saved < (tmp_path / "as-faiss-writes-it").stat().st_size - 5 * index.ntotal


def test_a_catalog_saved_with_faiss_inverted_file_still_loads(small_thresholds: None, tmp_path: Path) -> None:
    catalog = build_catalog((f"o{i}", product_image(i)) for i in range(6))
    assert isinstance(catalog.index, faiss.IndexBinaryIVF)
    catalog.save(tmp_path / "index")
    rewrite_as_format(catalog, tmp_path / "index", 3)
    loaded = Catalog.load(tmp_path / "index")
    assert np.array_equal(loaded.all_descriptors(), catalog.all_descriptors())
    assert all(np.array_equal(loaded.thumbnail_of(i), catalog.thumbnail_of(i)) for i in range(6))
    assert Matcher(loaded).match(product_image(2)[:240], k=1)[0].original_id == "o2"


def test_a_code_faiss_put_in_no_list_stays_out_after_save_and_load(
    small_thresholds: None, tmp_path: Path
) -> None:
    rng = np.random.default_rng(4)
    codes = _clustered_codes(rng, 50, 20, 8)
    index = catalog_index.make_index(codes[:900])
    assert isinstance(index, faiss.IndexBinaryIVF)
    late = np.ascontiguousarray(codes[900:])
    numbers = np.full(len(late), -1, np.int64)  # as when the quantizer finds no list for a code
    numbers[::2] = 3
    ids = np.arange(900, 1000, dtype=np.int64)
    index.add_core(len(late), faiss.swig_ptr(late), faiss.swig_ptr(ids), faiss.swig_ptr(numbers))
    loaded = catalog_index.read(tmp_path, catalog_index.write(index, tmp_path))
    assert loaded.ntotal == index.ntotal == 1000
    listed = {number: ids.tolist() for number, ids, _ in catalog_index.inverted_file(loaded)}
    assert listed == {number: ids.tolist() for number, ids, _ in catalog_index.inverted_file(index)}
    assert not set(range(901, 1000, 2)) & {i for ids in listed.values() for i in ids}
    assert [a.tolist() for a in index.search(late, 3)] == [a.tolist() for a in loaded.search(late, 3)]


def test_thumbnails_that_do_not_match_the_catalog_are_refused(tmp_path: Path) -> None:
    import json

    catalog = build_catalog((f"o{i}", product_image(i)) for i in range(3))
    catalog.save(tmp_path / "index")
    meta = json.loads((tmp_path / "index" / "meta.json").read_text())
    meta["thumbnails"][0] += 1
    (tmp_path / "index" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="thumbnails.zlib does not match"):
        Catalog.load(tmp_path / "index")
