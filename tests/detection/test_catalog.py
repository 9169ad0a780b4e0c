"""The catalog index: save/load/add round-trips, versions, and a compact footprint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detection.catalog import Catalog
from detection.matcher import Matcher
from tests.detection.drawing import product_image


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.build((f"o{i}", product_image(i)) for i in range(12))


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
    catalog = Catalog.build((f"o{i}", product_image(i)) for i in range(6))
    catalog.save(tmp_path / "index")
    loaded = Catalog.load(tmp_path / "index")
    old_version = loaded.version
    loaded.add("new", product_image(50))
    loaded.save(tmp_path / "index")
    reloaded = Catalog.load(tmp_path / "index")
    assert reloaded.version != old_version and "new" in reloaded
    assert Matcher(reloaded).match(product_image(50)[:240], k=1)[0].original_id == "new"
    assert Matcher(reloaded).match(product_image(2), k=1)[0].original_id == "o2"


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
    catalog = Catalog.build([("blank", np.full((200, 200, 3), 255, np.uint8)), ("o1", product_image(1))])
    assert catalog.ids() == ["blank", "o1"]
    assert Matcher(catalog).match(product_image(1), k=1)[0].original_id == "o1"
