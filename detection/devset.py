"""The development benchmark's originals, composed from public clip-art packages.

The dev set is built from two Debian packages of transparent PNG drawings, ``tuxpaint-stamps-default``
(2022.06.04-1) and ``openclipart-png`` (0.18), in two steps:

1. :func:`compose_originals` (this module) turns each usable drawing into a product photo: cut to
   its alpha extent, scaled (at most 2.5×, longest side ≤ 420 px), centred on a plain white or
   very light background with a 15–35 % margin, on a 1:1, 4:5 or 3:4 canvas (longest side
   ≤ 512 px), saved as JPEG quality 92. Drawings whose file stem repeats (colour or mirror
   variants), whose edge density is tiny, or whose pHash lies within 8 bits of an earlier one are
   dropped, so each original is its own class.
2. :func:`detection.benchmark.make_benchmark` holds 15 % back as not-in-catalog material and
   draws the queries (seed strips, one edit per family, distractors) with seed 11.

``copywatch bench make-dev`` runs both; ``scripts/make-dev-bench.sh`` fetches the packages first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import imagehash
import numpy as np
from PIL import Image

#: The package folders (first level under each package's image root) the dev set draws from.
TUXPAINT_CATEGORIES = (
    "animals",
    "food",
    "household",
    "hobbies",
    "plants",
    "space",
    "seasonal",
    "sports",
    "symbols",
)
OPENCLIPART_CATEGORIES = (
    "office",
    "education",
    "science",
    "electronics",
    "containers",
    "decorations",
    "plants",
    "unsorted",
    "geography",
)
#: Where Debian installs each package's images.
TUXPAINT_ROOT = Path("usr/share/tuxpaint/stamps")
OPENCLIPART_ROOT = Path("usr/share/openclipart/png")

MAX_UPSCALE = 2.5
OBJECT_SIDE = 420
CANVAS_SIDE = 512
ASPECTS = ((1, 1), (4, 5), (3, 4))  # width : height
MARGIN = (0.15, 0.35)
MIN_EDGE_DENSITY = 0.01  # share of the drawing's inner pixels on a Canny edge (its outline not counted)
PHASH_MIN_DISTANCE = 9  # bits: within 8 of an earlier original is the same drawing
JPEG_QUALITY = 92


def candidate_drawings(root: Path, categories: Sequence[str]) -> list[Path]:
    """The PNG drawings under ``root``'s listed category folders, in a stable order. Tux Paint's
    ``symbols`` folder keeps only its non-alphabet drawings (letters are not products)."""
    found: list[Path] = []
    for category in categories:
        folder = root / category
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.png")):
            if category == "symbols" and "alphabet" in str(path.relative_to(folder)).lower():
                continue
            found.append(path)
    return found


def _cut_to_alpha(rgba: np.ndarray) -> np.ndarray | None:
    alpha = rgba[:, :, 3]
    ys, xs = np.nonzero(alpha > 16)
    if len(xs) == 0:
        return None
    return rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def compose_photo(rgba: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A drawing (RGBA) as a product photo (BGR uint8), or None when it has no visible pixels."""
    cut = _cut_to_alpha(rgba)
    if cut is None:
        return None
    h, w = cut.shape[:2]
    scale = min(MAX_UPSCALE, OBJECT_SIDE / max(h, w))
    w2, h2 = max(1, round(w * scale)), max(1, round(h * scale))
    cut = cv2.resize(cut, (w2, h2), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    aspect_w, aspect_h = ASPECTS[int(rng.integers(len(ASPECTS)))]
    margin = float(rng.uniform(*MARGIN))
    need_w, need_h = w2 / (1 - 2 * margin), h2 / (1 - 2 * margin)
    unit = max(need_w / aspect_w, need_h / aspect_h)
    canvas_w, canvas_h = round(unit * aspect_w), round(unit * aspect_h)
    shrink = min(1.0, CANVAS_SIDE / max(canvas_w, canvas_h))
    if shrink < 1.0:
        canvas_w, canvas_h = round(canvas_w * shrink), round(canvas_h * shrink)
        w2, h2 = max(1, round(w2 * shrink)), max(1, round(h2 * shrink))
        cut = cv2.resize(cut, (w2, h2), interpolation=cv2.INTER_AREA)
    light = int(rng.integers(240, 256)) if rng.random() < 0.5 else 255
    canvas = np.full((canvas_h, canvas_w, 3), light, np.float32)
    x, y = (canvas_w - w2) // 2, (canvas_h - h2) // 2
    alpha = cut[:, :, 3:4].astype(np.float32) / 255
    rgb = cut[:, :, 2::-1].astype(np.float32)  # RGBA -> BGR
    region = canvas[y : y + h2, x : x + w2]
    canvas[y : y + h2, x : x + w2] = alpha * rgb + (1 - alpha) * region
    return np.clip(canvas, 0, 255).astype(np.uint8)


def edge_density(rgba: np.ndarray) -> float:
    """The share of a drawing's inner pixels (its outline left out) that lie on an edge: a flat
    silhouette has next to none, and gives a matcher nothing to recognise it by."""
    alpha = (rgba[:, :, 3] > 16).astype(np.uint8)
    inner = cv2.erode(alpha, np.ones((7, 7), np.uint8))
    if not inner.any():
        return 0.0
    weight = rgba[:, :, 3:4].astype(np.float32) / 255
    on_white = (rgba[:, :, :3].astype(np.float32) * weight + 255 * (1 - weight)).astype(np.uint8)
    edges = cv2.Canny(cv2.cvtColor(on_white, cv2.COLOR_RGB2GRAY), 50, 150)
    return float(np.count_nonzero(edges[inner > 0])) / float(np.count_nonzero(inner))


def compose_originals(drawings: Iterable[Path], out_dir: Path, *, seed: int = 11) -> dict[str, int]:
    """Write each usable drawing as ``out_dir/oNNNNN.jpg``; returns what was kept and dropped."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    seen_stems: set[str] = set()
    hashes: list[imagehash.ImageHash] = []
    counts = {"kept": 0, "repeated_stem": 0, "unreadable": 0, "flat": 0, "near_duplicate": 0}
    for path in drawings:
        stem = path.stem.lower()
        if stem in seen_stems:
            counts["repeated_stem"] += 1
            continue
        seen_stems.add(stem)
        try:
            with Image.open(path) as image:
                rgba = np.asarray(image.convert("RGBA"))
        except (OSError, ValueError):
            counts["unreadable"] += 1
            continue
        if not (rgba[:, :, 3] > 16).any():
            counts["unreadable"] += 1
            continue
        if edge_density(rgba) < MIN_EDGE_DENSITY:
            counts["flat"] += 1
            continue
        photo = compose_photo(rgba, rng)
        if photo is None:
            counts["unreadable"] += 1
            continue
        phash = imagehash.phash(Image.fromarray(photo[:, :, ::-1]))
        if any(phash - earlier < PHASH_MIN_DISTANCE for earlier in hashes):
            counts["near_duplicate"] += 1
            continue
        hashes.append(phash)
        counts["kept"] += 1
        cv2.imwrite(
            str(out_dir / f"o{counts['kept']:05d}.jpg"), photo, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
    return counts
