import random

import cv2
import numpy as np
import pytest

from detection.innocent_pool import POOL_TRANSFORM, build_pool, compose, pool_images, with_pool
from tests.support.images import product_photo


def icon(seed: int, size: int) -> np.ndarray:
    """A drawing with transparency around it (BGRA)."""
    picture = cv2.resize(product_photo(seed, 120, 120), (size, size), interpolation=cv2.INTER_AREA)
    alpha = np.zeros((size, size), np.uint8)
    cv2.circle(alpha, (size // 2, size // 2), size // 2 - 2, 255, -1)
    return np.dstack([picture, alpha])


def test_an_icon_is_centred_on_a_light_background_and_a_photo_is_scaled_down():
    rng = random.Random(1)
    drawing = compose(icon(3, 128), rng)
    assert drawing is not None and drawing.shape[2] == 3
    # cut to its opaque extent (~124 px), scaled up 2.5x at most, with a 15-35 % margin
    assert 1.15 <= drawing.shape[0] / 310 <= 1.36
    assert drawing[0, 0].min() >= 240  # the corners are background
    texture = np.random.default_rng(4).integers(0, 255, (100, 160, 3)).astype(np.uint8)
    photo = compose(cv2.resize(texture, (1600, 1000), interpolation=cv2.INTER_NEAREST), rng)
    assert photo is not None and max(photo.shape[:2]) == 800
    assert compose(np.full((300, 300, 3), 128, np.uint8), rng) is None  # blank
    assert compose(icon(3, 40), rng) is None  # too small


def test_the_pool_keeps_one_image_per_name_and_drops_duplicates(tmp_path):
    source = tmp_path / "theme"
    for size in (64, 128, 256):  # one icon at three sizes: the largest is kept
        (source / f"{size}x{size}").mkdir(parents=True)
        cv2.imwrite(str(source / f"{size}x{size}" / "app.png"), icon(1, size))
    cv2.imwrite(str(source / "other.png"), icon(2, 128))
    cv2.imwrite(str(source / "other_copy.png"), icon(2, 128))  # same picture, another name
    cv2.imwrite(str(source / "blank.png"), np.full((128, 128, 3), 200, np.uint8))
    (source / "notes.txt").write_text("not an image")
    counts = build_pool([source], tmp_path / "pool")
    assert (counts.files, counts.kept, counts.duplicates, counts.unusable) == (4, 2, 1, 1)
    images = pool_images(tmp_path / "pool")
    assert len(images) == 2 and all(q.startswith("pool_") for q in images)
    assert min(cv2.imread(str(p)).shape[0] for p in images.values()) > 256  # the 256-px icon, composed
    with pytest.raises(FileExistsError):
        build_pool([source], tmp_path / "pool")
    with pytest.raises(ValueError):
        build_pool([tmp_path / "missing"], tmp_path / "other")


def test_pool_images_join_a_benchmark_as_innocents(tmp_path):
    for number in range(3):
        cv2.imwrite(str(tmp_path / f"pool_{number}.jpg"), product_photo(number))
    queries, truth = {"q1": tmp_path / "q1.jpg"}, {"q1": ("o1", "jpeg")}
    added = with_pool(queries, truth, pool_images(tmp_path, limit=2))
    assert added == ["pool_0", "pool_1"]
    assert truth["pool_1"] == (None, POOL_TRANSFORM) and len(queries) == 3
    with pytest.raises(ValueError, match="clash"):
        with_pool(queries, truth, pool_images(tmp_path))
