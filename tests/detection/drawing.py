"""Procedurally drawn product-like images for detection tests (no files, no downloads)."""

from __future__ import annotations

import cv2
import numpy as np


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
