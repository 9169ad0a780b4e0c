"""Real photographs for a development benchmark, gathered from folders of installed packages.

``copywatch bench photos`` collects the photos, ``copywatch bench make --originals`` turns them
into a benchmark (its held-back share are the innocent photos, among them other views of the
same products: a second shot of the same box, the other stereo view of a motorcycle).
docs/benchmarks.md names the packages and their licences. Each picture is scaled so its longest
side lies between ``MIN_SIDE`` and ``MAX_SIDE`` px (a seeded draw), the size of a shop's photo.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detection.innocent_pool import difference_hash, source_folders_and_output

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MIN_SIDE, MAX_SIDE = 800, 1600
MIN_SOURCE_SIDE = 300  # smaller pictures are thumbnails, not product photos
MIN_EDGE_SHARE = 0.01
# Not photographs of a product: calibration targets, synthetic test charts, an edited twin.
EXCLUDED = re.compile(
    r"^(left|right)\d+|chessboard|calib|gradient|digits|alphabet|ela_modified|text|page|phantom|"
    r"logo|ellipses|imageText|detect_blob|pic\d|stuff|smarties|orange|notes|mask",
    re.IGNORECASE,
)
# Wallpaper packages ship one picture at several resolutions: <Name>/contents/images/<WxH>.jpg.
RESOLUTION = re.compile(r"^\d+x\d+$")


@dataclass(frozen=True)
class PhotoCounts:
    files: int
    kept: int
    duplicates: int
    unusable: int


def photo_key(path: Path) -> str:
    """One key per picture: for a wallpaper's resolution variants (``<Name>/contents/images/<WxH>``,
    or ``images_dark``) the wallpaper's name, else the file's stem."""
    parts = path.parts
    if RESOLUTION.match(path.stem) and "contents" in parts[:-1]:
        name = parts[parts.index("contents") - 1]
        variant = path.parent.name
        return (name if variant == "images" else f"{name}_{variant}").lower()
    return path.stem.lower()


def _sources(folders: Sequence[Path]) -> list[Path]:
    best: dict[str, tuple[int, Path]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in PHOTO_SUFFIXES or not path.is_file():
                continue
            if EXCLUDED.search(path.stem) or path.parent.name == "images_dark":
                continue  # not a product photo, or a night shade of a wallpaper kept already
            key, size = photo_key(path), path.stat().st_size
            if key not in best or size > best[key][0]:
                best[key] = (size, path)
    # A day/night pair (gnome's name_l / name_d) is one picture re-shaded: the light one is kept.
    night = {key for key in best if key[-2:] in ("_d", "-d") and f"{key[:-1]}l" in best}
    return sorted(path for key, (_, path) in best.items() if key not in night)


def is_photo(image: np.ndarray | None) -> bool:
    """Large enough, in colour, opaque and with detail (not a flat gradient or a drawing on white)."""
    if image is None or min(image.shape[:2]) < MIN_SOURCE_SIDE:
        return False
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4 and int(image[:, :, 3].min()) < 250:
        return False
    colour = image[:, :, :3]
    gray = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    if float((cv2.Canny(gray, 80, 160) > 0).mean()) < MIN_EDGE_SHARE:
        return False
    spread = colour.astype(np.int16).max(axis=2) - colour.astype(np.int16).min(axis=2)
    white = float(((gray > 245) & (spread < 8)).mean())
    return white < 0.5  # a drawing on white is clip-art, not a photo


def gather_photos(sources: Sequence[str | Path], out_dir: str | Path, *, seed: int = 11) -> PhotoCounts:
    """Write the usable photos of ``sources`` into ``out_dir`` as ``<key>.jpg`` (quality 92).

    Raises:
        ValueError: a source is not a folder. FileExistsError: ``out_dir`` holds images already.
    """
    folders, out = source_folders_and_output(sources, out_dir, PHOTO_SUFFIXES)
    rng = random.Random(seed)
    paths = _sources(folders)
    seen: set[bytes] = set()
    duplicates = unusable = 0
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None or not is_photo(image):
            unusable += 1
            continue
        picture = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[:, :, :3]
        digest = difference_hash(picture)
        if digest in seen:
            duplicates += 1
            continue
        seen.add(digest)
        side = rng.randint(MIN_SIDE, MAX_SIDE)
        scale = side / max(picture.shape[:2])
        if scale < 1:
            size = (round(picture.shape[1] * scale), round(picture.shape[0] * scale))
            picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
        name = stem = re.sub(r"[^a-z0-9_]+", "_", photo_key(path))
        number = 1
        while (out / f"{name}.jpg").exists():  # two packages may name two pictures alike
            number += 1
            name = f"{stem}_{number}"
        cv2.imwrite(str(out / f"{name}.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return PhotoCounts(len(paths), len(seen), duplicates, unusable)
