"""A large pool of innocent images: pictures that share no artwork with any catalog under test.

A benchmark's few hundred not-in-catalog queries cannot measure a 0.1 % false-alarm rate (0.1 %
of 280 is no image at all). The pool adds thousands of unrelated pictures as extra
not-in-catalog queries (``copywatch eval --innocents DIR``). :func:`build_pool` makes it from
folders of images — icon themes, game art, wallpapers installed from public packages
(``copywatch bench innocents``, docs/benchmarks.md names the packages and their licences):

* an image with transparency (an icon, a sprite) is cut to its opaque extent and centred on a
  plain light background with a margin, the way a product drawing is shown in a shop;
* an opaque picture (a wallpaper, a photo) is scaled to at most ``PHOTO_SIDE`` px;
* one image per name and source (an icon theme ships each icon at several sizes: the largest is
  kept) and no two with the same difference hash.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

POOL_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MIN_SIDE = 64  # px, longest side: smaller icons hold too little to be a listing picture
DRAWING_SIDE = 420  # px: a drawing's longest side at most (the dev originals' rule)
MAX_UPSCALE = 2.5
PHOTO_SIDE = 800
MIN_EDGE_SHARE = 0.01  # share of edge pixels below which a picture is a blank (a plain swatch)
POOL_TRANSFORM = "innocent_pool"
POOL_PREFIX = "pool_"


@dataclass(frozen=True)
class PoolCounts:
    """What :func:`build_pool` found and kept."""

    files: int
    kept: int
    duplicates: int
    unusable: int


def source_folders_and_output(
    sources: Sequence[str | Path], out_dir: str | Path, suffixes: Sequence[str]
) -> tuple[list[Path], Path]:
    """The source folders and the created output folder, before any image is written.

    Raises:
        ValueError: a source is not a folder.
        FileExistsError: ``out_dir`` holds images (``suffixes``) already.
    """
    folders = [Path(s) for s in sources]
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"not a folder: {folder}")
    out = Path(out_dir)
    if out.exists() and any(p.suffix.lower() in suffixes for p in out.iterdir()):
        raise FileExistsError(f"{out} already holds images")
    out.mkdir(parents=True, exist_ok=True)
    return folders, out


def _candidates(sources: Sequence[Path]) -> list[Path]:
    """The largest file per (source, name): an icon theme's 16-px and 256-px copies are one icon."""
    best: dict[tuple[int, str], tuple[int, Path]] = {}
    for number, source in enumerate(sources):
        for path in sorted(source.rglob("*")):
            if path.suffix.lower() not in POOL_SUFFIXES or not path.is_file() or path.is_symlink():
                continue
            key = (number, path.stem.lower())
            size = path.stat().st_size
            if key not in best or size > best[key][0]:
                best[key] = (size, path)
    return sorted(path for _, path in best.values())


def compose(image: np.ndarray, rng: random.Random) -> np.ndarray | None:
    """The listing picture made from a source image (BGR or BGRA), or None when it is unusable."""
    cut = _cut(image)
    return None if cut is None else _presented(cut, rng)


def _cut(image: np.ndarray | None) -> np.ndarray | None:
    """A drawing (BGRA) cut to its opaque extent, or an opaque picture's BGR; None if too small."""
    if image is None or image.ndim != 3 or max(image.shape[:2]) < MIN_SIDE:
        return None
    if image.shape[2] == 4 and int(image[:, :, 3].min()) < 250:
        ys, xs = np.nonzero(image[:, :, 3] > 16)
        if ys.size == 0:
            return None
        cut = image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        return cut if max(cut.shape[:2]) >= MIN_SIDE // 2 else None
    return image[:, :, :3]


def _presented(cut: np.ndarray, rng: random.Random) -> np.ndarray | None:
    """A drawing scaled and centred on a light background with a margin, a photo scaled down;
    None when the result is nearly blank."""
    if cut.shape[2] == 4:
        scale = min(MAX_UPSCALE, DRAWING_SIDE / max(cut.shape[:2]))
        size = (max(1, round(cut.shape[1] * scale)), max(1, round(cut.shape[0] * scale)))
        cut = cv2.resize(cut, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        margin = rng.uniform(0.15, 0.35)
        width, height = int(size[0] * (1 + margin)), int(size[1] * (1 + margin))
        canvas = np.full((height, width, 3), rng.randint(240, 255), np.float32)
        x0, y0 = (width - size[0]) // 2, (height - size[1]) // 2
        weight = cut[:, :, 3:4].astype(np.float32) / 255.0
        patch = canvas[y0 : y0 + size[1], x0 : x0 + size[0]]
        canvas[y0 : y0 + size[1], x0 : x0 + size[0]] = weight * cut[:, :, :3] + (1 - weight) * patch
        picture: np.ndarray = canvas.astype(np.uint8)
    else:
        picture = cut
        scale = PHOTO_SIDE / max(picture.shape[:2])
        if scale < 1:
            size = (round(picture.shape[1] * scale), round(picture.shape[0] * scale))
            picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY), 80, 160)
    return picture if float((edges > 0).mean()) >= MIN_EDGE_SHARE else None


def difference_hash(image: np.ndarray) -> bytes:
    """A 64-bit difference hash (of the colour channels): equal for the same picture at another
    size or encoding."""
    gray = cv2.resize(cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY), (9, 8), interpolation=cv2.INTER_AREA)
    return np.packbits(gray[:, 1:] > gray[:, :-1]).tobytes()


def build_pool(
    sources: Sequence[str | Path], out_dir: str | Path, *, limit: int | None = None, seed: int = 11
) -> PoolCounts:
    """Write the innocent pool into ``out_dir`` (created; it must not hold images already).

    Args:
        sources: folders searched recursively for PNG, JPEG and WebP images.
        out_dir: where ``pool_<hash>.jpg`` files go (names from the source path, so reruns agree).
        limit: keep at most this many (a seeded sample of the usable ones).
        seed: the random seed of the margins, shades and the sample.

    Returns:
        :class:`PoolCounts`.
    """
    folders, out = source_folders_and_output(sources, out_dir, POOL_SUFFIXES)
    rng = random.Random(seed)
    paths = _candidates(folders)
    if limit is not None and len(paths) > limit * 2:
        paths = sorted(rng.sample(paths, limit * 2))  # room for the unusable and the duplicates
    seen: set[bytes] = set()
    duplicates = unusable = 0
    for path in paths:
        if limit is not None and len(seen) >= limit:
            break
        cut = _cut(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))
        picture = None if cut is None else _presented(cut, rng)
        if cut is None or picture is None:
            unusable += 1
            continue
        digest = difference_hash(cut)
        if digest in seen:
            duplicates += 1
            continue
        seen.add(digest)
        name = hashlib.sha1(str(path).encode()).hexdigest()[:12]
        cv2.imwrite(str(out / f"{POOL_PREFIX}{name}.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 88])
    counts = PoolCounts(len(paths), len(seen), duplicates, unusable)
    log.info("innocent pool: %s", counts)
    return counts


def pool_images(folder: str | Path, limit: int | None = None) -> dict[str, Path]:
    """``{query_id: path}`` of a pool folder's images (sorted by name; the first ``limit``)."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"not a folder: {root}")
    paths = sorted(p for p in root.iterdir() if p.suffix.lower() in POOL_SUFFIXES)
    return {f"{POOL_PREFIX}{p.stem.removeprefix(POOL_PREFIX)}": p for p in paths[:limit]}


def with_pool(
    queries: dict[str, Path], truth: dict[str, tuple[str | None, str]], pool: dict[str, Path]
) -> list[str]:
    """Add ``pool``'s images to a benchmark's ``queries`` and ``truth`` as not-in-catalog queries
    (family ``innocent_pool``); returns the ids added. An id the benchmark has already is refused."""
    clash = sorted(set(pool) & set(queries))
    if clash:
        raise ValueError(f"pool ids clash with the benchmark's queries: {clash[:3]}")
    for query_id, path in pool.items():
        queries[query_id] = path
        truth[query_id] = (None, POOL_TRANSFORM)
    return list(pool)
