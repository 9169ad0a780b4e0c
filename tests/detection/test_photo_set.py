from pathlib import Path

import cv2
import numpy as np
import pytest

from detection.photo_set import MAX_SIDE, MIN_SIDE, gather_photos, is_photo, photo_key


def textured(seed: int, width: int, height: int) -> np.ndarray:
    small = np.random.default_rng(seed).integers(0, 255, (height // 4, width // 4, 3)).astype(np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def test_a_wallpapers_resolutions_are_one_picture():
    assert photo_key(Path("/w/Flow/contents/images/1920x1080.jpg")) == "flow"
    assert photo_key(Path("/w/Flow/contents/images/3840x2160.jpg")) == "flow"
    assert photo_key(Path("/w/Flow/contents/images_dark/1920x1080.jpg")) == "flow_images_dark"
    assert photo_key(Path("/data/Coffee.png")) == "coffee"


def test_photos_are_kept_and_drawings_thumbnails_and_charts_are_not(tmp_path):
    drawing = np.full((600, 600, 3), 255, np.uint8)
    cv2.circle(drawing, (300, 300), 100, (0, 0, 200), 4)
    assert is_photo(textured(1, 900, 600))
    assert not is_photo(drawing)  # clip-art on white
    assert not is_photo(textured(1, 200, 150))  # a thumbnail
    assert not is_photo(np.full((600, 600, 3), 90, np.uint8))  # flat
    source = tmp_path / "src"
    (source / "Wall" / "contents" / "images").mkdir(parents=True)
    for size in ((1280, 800), (2560, 1600)):
        path = source / "Wall" / "contents" / "images" / f"{size[0]}x{size[1]}.jpg"
        cv2.imwrite(str(path), textured(2, *size))
    cv2.imwrite(str(source / "shoe.png"), textured(3, 1000, 700))
    cv2.imwrite(str(source / "shoe_copy.jpg"), textured(3, 1000, 700))  # the same picture again
    cv2.imwrite(str(source / "left01.jpg"), textured(4, 800, 600))  # a calibration shot
    cv2.imwrite(str(source / "drawing.png"), drawing)
    counts = gather_photos([source], tmp_path / "out", seed=3)
    assert (counts.kept, counts.duplicates, counts.unusable) == (2, 1, 1)
    kept = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert kept[0] in ("shoe.jpg", "shoe_copy.jpg") and kept[1] == "wall.jpg"
    wall = cv2.imread(str(tmp_path / "out" / "wall.jpg"))
    assert MIN_SIDE <= max(wall.shape[:2]) <= MAX_SIDE and wall.shape[1] / wall.shape[0] == pytest.approx(
        1.6, abs=0.01
    )
    with pytest.raises(FileExistsError):
        gather_photos([source], tmp_path / "out")
