"""Registering a brand's originals and keeping the catalog index in step with the database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from copywatch import catalog_store
from copywatch.settings import Settings
from db.engine import make_engine, session_factory
from db.models import Original
from detection.catalog import Catalog
from detection.imageio import InvalidImageError
from detection.logo.bench import draw_product_with_logo
from tests.support.images import product_image


def _write(folder: Path, seeds: range) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"sku-{seed}.png"
        cv2.imwrite(str(path), product_image(seed))
        paths.append(path)
    return paths


def test_register_and_index_incrementally(settings: Settings, tmp_path: Path) -> None:
    ids = catalog_store.register_originals(
        settings, "Acme", _write(tmp_path / "a", range(4)), alert_emails=["t@x"]
    )
    again = catalog_store.register_originals(settings, "Acme", [tmp_path / "a"])
    assert sorted(again) == sorted(ids) and len(set(ids)) == 4

    first = catalog_store.build_index(settings)
    assert sorted(first.ids()) == sorted(str(i) for i in ids)
    assert Catalog.stored_version(settings.index_dir) == first.version

    added = catalog_store.register_originals(settings, "Acme", _write(tmp_path / "b", range(10, 12)))
    second = catalog_store.build_index(settings)
    assert second.version != first.version
    assert second.ids()[:4] == first.ids() and sorted(second.ids()[4:]) == sorted(str(i) for i in added)

    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        stored = session.execute(select(Original.image_path)).scalars().all()
    engine.dispose()
    assert all((settings.media_root / p).exists() and p.startswith("originals/") for p in stored)


def test_a_bad_original_is_refused_with_its_file_name(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really")
    with pytest.raises(InvalidImageError, match="broken.jpg"):
        catalog_store.register_originals(settings, "Acme", [bad])


def test_logo_reference_is_registered_automatically(settings: Settings, tmp_path: Path) -> None:
    image, _ = draw_product_with_logo(np.random.default_rng(2), "CM", "square")
    path = tmp_path / "logo-product.png"
    cv2.imwrite(str(path), image)
    (original_id,) = catalog_store.register_originals(settings, "Acme", [path])
    reference = catalog_store.register_logo(settings, original_id, None)
    assert reference is not None and reference["position"] == "CM"
    assert catalog_store.list_originals(settings)[0]["logo"] is True


def test_cli_catalog_build_on_postgresql(pg_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _write(folder, range(3))
    env = dict(
        os.environ,
        DATABASE_URL=pg_settings.database_url,
        DATA_DIR=str(pg_settings.data_dir),
    )
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "copywatch", "catalog", "build", str(folder), "--brand", "Acme"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "3 originals registered for Acme; index has 3" in result.stdout
    assert len(Catalog.load(pg_settings.index_dir)) == 3
