"""Every drawn test image, in one place: procedurally drawn "product photos" (no files, no
downloads), copies of them as a thief would post them, and scenes they are pasted into.

Each family keeps its own look, because tests are tuned to it: ``draw_original`` (the textured
photo the benchmarks draw too, :func:`detection.drawn.textured_photo`), ``product_image`` (noisy
background, shapes and a line of text), ``product_photo`` (shapes on white, small), and
``synthetic_original`` (a product box with an SKU label).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from detection.drawn import add_arrow, sale_banner, textured_photo, with_sticker

__all__ = ["add_arrow", "sale_banner", "with_sticker"]  # drawn edits the benchmarks share


def draw_original(seed: int, size: int = 320) -> np.ndarray:
    """A textured photo that ORB-style features can lock on to, different for every seed."""
    return textured_photo(seed, size)


def steal(image: np.ndarray) -> np.ndarray:
    """A listing's copy: cropped, rescaled, re-encoded as JPEG."""
    h, w = image.shape[:2]
    crop = image[h // 10 : h - h // 12, w // 12 : w - w // 10]
    crop = cv2.resize(crop, (int(crop.shape[1] * 1.3), int(crop.shape[0] * 1.3)))
    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def unrelated(seed: int) -> np.ndarray:
    """A photo of something not in the catalog."""
    return draw_original(10_000 + seed)


def product_image(seed: int, size: tuple[int, int] = (400, 480)) -> np.ndarray:
    """A distinctive BGR image: textured background, random shapes and a line of text."""
    rng = np.random.default_rng(seed)
    width, height = size
    image = np.full((height, width, 3), 245, np.uint8)
    noise = rng.integers(0, 40, size=(height // 8, width // 8, 3)).astype(np.uint8)
    image -= cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(14):
        colour = tuple(int(c) for c in rng.integers(0, 220, 3))
        kind = rng.integers(0, 3)
        x, y = int(rng.integers(20, width - 20)), int(rng.integers(20, height - 20))
        if kind == 0:
            cv2.circle(image, (x, y), int(rng.integers(8, 60)), colour, int(rng.integers(-1, 5)) or -1)
        elif kind == 1:
            w, h = int(rng.integers(15, 120)), int(rng.integers(15, 120))
            cv2.rectangle(image, (x, y), (min(width - 1, x + w), min(height - 1, y + h)), colour, -1)
        else:
            pts = rng.integers(0, [width, height], size=(5, 2)).astype(np.int32)
            cv2.polylines(image, [pts], True, colour, int(rng.integers(2, 6)))
    text = "".join(chr(int(c)) for c in rng.integers(65, 91, 6))
    cv2.putText(image, text, (20, height - 30), cv2.FONT_HERSHEY_DUPLEX, 1.4, (20, 20, 20), 2)
    return image


def insert_into_canvas(
    image: np.ndarray, seed: int, factor: float = 2.0
) -> tuple[np.ndarray, tuple[int, int]]:
    """Paste ``image`` into a larger canvas beside another drawing; returns (canvas, top-left)."""
    height, width = image.shape[:2]
    canvas = cv2.resize(
        product_image(seed + 1000, (int(width * factor), int(height * factor))), None, fx=1, fy=1
    )
    x, y = int(width * (factor - 1) * 0.8), int(height * (factor - 1) * 0.3)
    canvas[y : y + height, x : x + width] = image
    return canvas, (x, y)


def product_photo(seed: int, width: int = 160, height: int = 200) -> np.ndarray:
    """A white canvas with random coloured shapes and lines (each seed gives a different object)."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 255, np.uint8)
    for _ in range(12):
        colour = tuple(int(c) for c in rng.integers(0, 220, 3))
        x, y = int(rng.integers(10, width - 10)), int(rng.integers(10, height - 10))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            cv2.circle(image, (x, y), int(rng.integers(5, 30)), colour, -1)
        elif kind == 1:
            cv2.rectangle(
                image, (x, y), (x + int(rng.integers(8, 50)), y + int(rng.integers(8, 50))), colour, -1
            )
        else:
            cv2.line(image, (x, y), (int(rng.integers(0, width)), int(rng.integers(0, height))), colour, 3)
    return image


def write_photos(directory: Path, count: int, width: int = 160, height: int = 200) -> dict[str, np.ndarray]:
    """Write ``count`` photos as ``p000.png``... into ``directory``; return ``{stem: image}``."""
    directory.mkdir(parents=True, exist_ok=True)
    photos = {f"p{i:03d}": product_photo(i, width, height) for i in range(count)}
    for stem, image in photos.items():
        cv2.imwrite(str(directory / f"{stem}.png"), image)
    return photos


def synthetic_original(seed: int, size: int = 320) -> np.ndarray:
    """A product-photo-like image: a light background with a few distinct coloured shapes."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size, 3), 235, np.uint8)
    cv2.rectangle(image, (60, 40), (260, 290), tuple(int(c) for c in rng.integers(30, 220, 3)), -1)
    for _ in range(10):
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        center = tuple(int(c) for c in rng.integers(40, size - 40, 2))
        if rng.random() < 0.5:
            cv2.circle(image, center, int(rng.integers(8, 40)), color, -1)
        else:
            w, h = (int(v) for v in rng.integers(10, 60, 2))
            cv2.rectangle(image, center, (center[0] + w, center[1] + h), color, -1)
    cv2.putText(image, f"SKU{seed}", (90, 170), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (255, 255, 255), 3)
    return image
