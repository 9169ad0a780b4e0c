"""Synthetic product photos for the seed-reproduction and benchmark tests (distinct, deterministic)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


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
