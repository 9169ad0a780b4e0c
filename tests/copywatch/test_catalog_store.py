"""Registering a brand's originals and keeping the catalog index in step with the database."""

from __future__ import annotations

import json
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


def _brand_logo(path: Path) -> Path:
    """The brand's logo file: 'KOVA' and a flag on a transparent background."""
    image = np.zeros((90, 260, 4), np.uint8)
    cv2.putText(image, "KOVA", (8, 70), cv2.FONT_HERSHEY_DUPLEX, 2.2, (30, 30, 200, 255), 5, cv2.LINE_AA)
    cv2.fillPoly(image, [np.array([[205, 12], [255, 12], [205, 50]], np.int32)], (30, 30, 200, 255))
    cv2.imwrite(str(path), image)
    return path


def test_the_brands_own_logo_is_stored_by_hash_and_found_on_the_original(
    settings: Settings, tmp_path: Path
) -> None:
    from detection.logo import LogoReference, check
    from detection.logo.bench import paste_mark
    from detection.logo.brand_mark import BrandMark

    logo = _brand_logo(tmp_path / "kova.png")
    mark = BrandMark.from_bytes(logo.read_bytes())
    image, _ = draw_product_with_logo(np.random.default_rng(4), None, None)
    paste_mark(image, mark.alpha, (240, 240), 110, np.array([245.0, 245.0, 245.0], np.float32))
    path = tmp_path / "kova-bag.png"
    cv2.imwrite(str(path), image)
    (original_id,) = catalog_store.register_originals(settings, "Kova", [path])

    reference = catalog_store.register_logo(settings, original_id, None, image_path=logo)
    assert reference is not None and reference["position"] == "CM" and reference["mark"]
    stored = settings.media_root / reference["mark_path"]
    assert stored.read_bytes() == logo.read_bytes() and reference["mark_path"].startswith("logos/")
    x, _, w, _ = reference["box"]
    assert abs((x + w / 2) - 240) < 8  # the mark's place on the original, where it was found

    moved = image.copy()
    moved[200:280, 170:310] = image[150, 240]  # paint the print over, then print it further right
    paste_mark(moved, mark.alpha, (330, 240), 100, np.array([245.0, 245.0, 245.0], np.float32))
    verdict = check(moved, LogoReference.from_dict(reference))
    assert verdict.verdict == "shifted" and verdict.position in {"RC", "RS"} and len(verdict.marks) == 1


def test_a_logo_file_that_is_no_image_is_refused(settings: Settings, tmp_path: Path) -> None:
    image, _ = draw_product_with_logo(np.random.default_rng(2), "CM", "square")
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), image)
    (original_id,) = catalog_store.register_originals(settings, "Acme", [path])
    bad = tmp_path / "logo.png"
    bad.write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="not an image"):
        catalog_store.register_logo(settings, original_id, None, image_path=bad)
    assert catalog_store.list_originals(settings)[0]["logo"] is False  # nothing was stored


def test_cli_catalog_logo_with_the_brands_image(settings: Settings, tmp_path: Path) -> None:
    image, _ = draw_product_with_logo(np.random.default_rng(2), "CM", "square")
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), image)
    (original_id,) = catalog_store.register_originals(settings, "Acme", [path])
    env = dict(os.environ, DATABASE_URL=settings.database_url, DATA_DIR=str(settings.data_dir))
    env.pop("REDIS_URL", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "copywatch", "catalog", "logo", str(original_id), *args],
                              env=env, capture_output=True, text=True, timeout=120)  # fmt: skip

    nothing = run()
    assert nothing.returncode == 2 and "give --image, --box or --auto" in nothing.stderr
    missing = run("--image", str(tmp_path / "nope.png"))
    assert missing.returncode == 1 and "nope.png" in missing.stderr
    done = run("--image", str(_brand_logo(tmp_path / "kova.png")), "--box", "200,200,60,60")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert (
        printed["mark_path"].startswith("logos/")
        and "mark" not in printed
        and printed["box"] == [200, 200, 60, 60]
    )
