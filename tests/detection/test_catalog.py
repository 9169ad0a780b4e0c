"""The catalog index: save/load/add round-trips, versions, and a compact footprint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detection.catalog import Catalog
from detection.matching import Matcher, build_catalog
from tests.support.images import product_image


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog((f"o{i}", product_image(i)) for i in range(12))


def test_save_load_round_trip_keeps_matches(catalog: Catalog, tmp_path: Path) -> None:
    catalog.save(tmp_path / "index")
    loaded = Catalog.load(tmp_path / "index")
    assert loaded.ids() == catalog.ids()
    assert loaded.version == catalog.version == Catalog.stored_version(tmp_path / "index")
    assert loaded.calibration == catalog.calibration
    query = product_image(7)[50:350]
    before = Matcher(catalog).match(query, k=3)
    after = Matcher(loaded).match(query, k=3)
    assert [(m.original_id, round(m.score, 6)) for m in before] == [
        (m.original_id, round(m.score, 6)) for m in after
    ]


def test_add_indexes_a_new_original_without_rebuild_and_changes_the_version(tmp_path: Path) -> None:
    catalog = build_catalog((f"o{i}", product_image(i)) for i in range(6))
    catalog.save(tmp_path / "index")
    loaded = Catalog.load(tmp_path / "index")
    old_version = loaded.version
    loaded.add("new", product_image(50))
    loaded.save(tmp_path / "index")
    reloaded = Catalog.load(tmp_path / "index")
    assert reloaded.version != old_version and "new" in reloaded
    assert Matcher(reloaded).match(product_image(50)[:240], k=1)[0].original_id == "new"
    assert Matcher(reloaded).match(product_image(2), k=1)[0].original_id == "o2"


def test_owners_follow_additions() -> None:
    catalog = build_catalog((f"o{i}", product_image(i)) for i in range(3))
    last = catalog.descriptor_count - 1
    assert catalog.owners(np.array([0, last])).tolist() == [0, 2]
    loaded_before = catalog.owners(np.array([last]))  # the cached offsets, before the addition
    catalog.add("new", product_image(40))
    assert loaded_before.tolist() == [2]
    assert catalog.owners(np.array([last, catalog.descriptor_count - 1])).tolist() == [2, 3]


def test_duplicate_id_is_refused(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="already in the catalog"):
        catalog.add("o1", product_image(1))


def test_missing_or_foreign_index_is_reported(tmp_path: Path) -> None:
    assert Catalog.stored_version(tmp_path / "none") is None
    with pytest.raises(FileNotFoundError, match="no catalog index"):
        Catalog.load(tmp_path / "none")


def test_save_replaces_atomically(catalog: Catalog, tmp_path: Path) -> None:
    target = tmp_path / "index"
    catalog.save(target)
    catalog.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]  # no staging or old copies left


def test_index_stays_under_10_kb_per_original(catalog: Catalog) -> None:
    assert catalog.nbytes() / len(catalog) <= 10_000


def test_blank_original_is_indexed_without_features() -> None:
    catalog = build_catalog([("blank", np.full((200, 200, 3), 255, np.uint8)), ("o1", product_image(1))])
    assert catalog.ids() == ["blank", "o1"]
    assert Matcher(catalog).match(product_image(1), k=1)[0].original_id == "o1"


def test_inverted_file_index_round_trips_and_grows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import faiss

    import detection.catalog_index as catalog_index

    # Large catalogs switch to an inverted-file index; force it on a small one.
    monkeypatch.setattr(catalog_index, "IVF_FROM", 500)
    catalog = build_catalog((f"o{i}", product_image(i)) for i in range(8))
    assert isinstance(catalog.index, faiss.IndexBinaryIVF)
    catalog.add("late", product_image(60))
    catalog.save(tmp_path / "index")
    loaded = Catalog.load(tmp_path / "index")
    assert isinstance(loaded.index, faiss.IndexBinaryIVF) and len(loaded) == 9
    matcher = Matcher(loaded)
    assert matcher.match(product_image(60)[100:400], k=1)[0].original_id == "late"
    assert matcher.match(product_image(3)[:240], k=1)[0].original_id == "o3"


def test_extra_features_extend_a_copy_and_keep_real_answers(catalog: Catalog) -> None:
    rng = np.random.default_rng(0)
    codes = catalog.descriptors_of(0)
    extra = [
        (f"x{i}", rng.permutation(codes), rng.uniform(0, 400, (len(codes), 2)), (400, 480)) for i in range(5)
    ]
    bigger = catalog.with_extra_features(extra)
    assert len(bigger) == len(catalog) + 5 and len(catalog) == 12
    assert Matcher(bigger).match(product_image(0)[:240], k=1)[0].original_id == "o0"
    with pytest.raises(ValueError, match="already in the catalog"):
        catalog.with_extra_features([("o1", codes, np.zeros((len(codes), 2)), (10, 10))])


def test_thumbnails_survive_save_and_load_and_are_held_compressed(catalog: Catalog, tmp_path: Path) -> None:
    from detection.verify import make_thumbnail, pack, thumbnail_size, unpack

    catalog.save(tmp_path / "index")
    loaded = Catalog.load(tmp_path / "index")
    raw_bytes = 0
    for position in range(len(catalog)):
        expected = pack(make_thumbnail(product_image(position)))
        raw_bytes += expected.nbytes
        width, height = thumbnail_size(*catalog.sizes[position])
        quantised = unpack(expected, width, height)
        assert np.array_equal(catalog.thumbnail_of(position), quantised)
        assert np.array_equal(loaded.thumbnail_of(position), quantised)
    held = sum(len(t) for t in loaded.compressed_thumbnails)
    assert held < raw_bytes  # drawn products are mostly flat background
    assert loaded.nbytes() - catalog.nbytes() == held - sum(len(t) for t in catalog.compressed_thumbnails)
