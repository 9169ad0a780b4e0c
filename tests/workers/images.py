"""Procedurally drawn test images: textured "product photos", copies of them, and broken files."""

from __future__ import annotations

import cv2
import numpy as np


def draw_original(seed: int, size: int = 320) -> np.ndarray:
    """A textured photo that ORB-style features can lock on to, different for every seed."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size, 3), rng.integers(150, 250, 3), np.uint8)
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = (int(v) for v in rng.integers(0, size, 2))
        r = int(rng.integers(6, size // 6))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), r, colour, -1)
        else:
            cv2.rectangle(image, (x, y), (x + r, y + int(rng.integers(6, size // 6))), colour, -1)
    for i in range(4):
        text = "".join(chr(int(c)) for c in rng.integers(65, 91, 5))
        cv2.putText(image, text, (10, 60 + 70 * i), cv2.FONT_HERSHEY_DUPLEX, 1.2, (20, 20, 20), 2)
    return image


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
