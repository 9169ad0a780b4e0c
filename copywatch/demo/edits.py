"""How the demo's dishonest sellers alter the brand's photos before listing them.

These are the edits the issue names (the seed's half-height strip, colour changes, collages, text overlays,
mirroring). They are deterministic given the generator, and small on purpose: the demo shows
the pipeline, and ``detection.augment`` is what the benchmarks draw their harder edits from.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

STOLEN_EDITS = ("crop_strip", "colour", "collage", "text_overlay", "mirrored")


def crop_strip(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The seed's crop: the full width and half the height, from the top, middle or bottom."""
    h, w = image.shape[:2]
    start = (0, h // 4, h // 2)[int(rng.integers(0, 3))]
    out = image[start : start + h // 2]
    side = int(rng.integers(560, 720))
    return cv2.resize(out, (side, side * out.shape[0] // w), interpolation=cv2.INTER_AREA)


def colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shift hue, change saturation, brightness and contrast — a 'new colourway' of the same photo."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.int32)
    hsv[..., 0] = (hsv[..., 0] + int(rng.integers(8, 22)) * int(rng.choice([-1, 1]))) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.7, 1.3), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out = (out - 128) * rng.uniform(0.85, 1.15) + 128 + rng.uniform(-20, 20)
    return np.clip(out, 0, 255).astype(np.uint8)


def collage(image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray]) -> np.ndarray:
    """A 'bundle' picture: the stolen photo large on one side, two of the seller's other products
    stacked small on the other."""
    big, small, gap = 600, 295, 10
    canvas = np.full((big + 2 * gap, big + small + 3 * gap, 3), 255, np.uint8)
    left = bool(rng.integers(0, 2))
    x_big = gap if left else small + 2 * gap
    x_small = big + 2 * gap if left else gap
    canvas[gap : gap + big, x_big : x_big + big] = cv2.resize(image, (big, big), interpolation=cv2.INTER_AREA)
    for i, other in enumerate(others[:2]):
        y = gap + i * (small + gap)
        canvas[y : y + small, x_small : x_small + small] = cv2.resize(
            other, (small, small), interpolation=cv2.INTER_AREA
        )
    return canvas


def text_overlay(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A price banner, a 'SALE' stamp and a shop watermark across the photo."""
    out = image.copy()
    h, w = out.shape[:2]
    colour = tuple(int(c) for c in rng.integers(0, 200, 3))
    cv2.rectangle(out, (0, h - 56), (w, h), colour, -1)
    cv2.putText(out, f"ONLY {int(rng.integers(9, 60))}.99 EUR", (20, h - 18), cv2.FONT_HERSHEY_DUPLEX, 1.0,
                (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
    cv2.putText(out, "SALE", (int(w * 0.66), 60), cv2.FONT_HERSHEY_TRIPLEX, 1.5, (0, 0, 230), 3, cv2.LINE_AA)
    mark = out.copy()
    cv2.putText(mark, "bestdeals-shop", (int(w * 0.1), h // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.4,
                (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
    return cv2.addWeighted(mark, 0.35, out, 0.65, 0)


def mirrored(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip left-right (a cheap way around naive duplicate checks), slightly rescaled."""
    side = int(rng.integers(520, 700))
    return cv2.resize(cv2.flip(image, 1), (side, side), interpolation=cv2.INTER_AREA)


def apply_edit(
    name: str, image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """Apply the stolen-photo edit ``name`` (one of :data:`STOLEN_EDITS`)."""
    if name == "crop_strip":
        return crop_strip(image, rng)
    if name == "colour":
        return colour(image, rng)
    if name == "collage":
        if len(others) < 2:
            raise ValueError("a collage needs two other photos")
        return collage(image, rng, others)
    if name == "text_overlay":
        return text_overlay(image, rng)
    if name == "mirrored":
        return mirrored(image, rng)
    raise ValueError(f"unknown edit {name!r}; expected one of {STOLEN_EDITS}")
