"""How the demo's dishonest sellers alter the brand's photos before listing them.

These are the edits the issue names (the seed's crop, colour changes, collages, text overlays,
mirroring). They are deterministic given the generator, and small on purpose: the demo shows
the pipeline, and ``detection.augment`` is what the benchmarks draw their harder edits from.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

STOLEN_EDITS = ("crop", "colour", "collage", "text_overlay", "mirrored")


def crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keep a 65–80 % window of the photo (the seed's crop), rescaled to a listing size."""
    h, w = image.shape[:2]
    frac = rng.uniform(0.65, 0.8)
    ch, cw = int(h * frac), int(w * frac)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = image[y : y + ch, x : x + cw]
    side = int(rng.integers(480, 720))
    return cv2.resize(out, (side, int(side * ch / cw)), interpolation=cv2.INTER_AREA)


def colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shift hue, change saturation, brightness and contrast — a 'new colourway' of the same photo."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.int32)
    hsv[..., 0] = (hsv[..., 0] + int(rng.integers(15, 45)) * int(rng.choice([-1, 1]))) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.7, 1.3), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out = (out - 128) * rng.uniform(0.85, 1.15) + 128 + rng.uniform(-20, 20)
    return np.clip(out, 0, 255).astype(np.uint8)


def collage(image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray]) -> np.ndarray:
    """A 2x2 'bundle' picture: the stolen photo in one cell, the seller's other products in the rest."""
    cell = 400
    tiles = [cv2.resize(o, (cell, cell), interpolation=cv2.INTER_AREA) for o in others[:3]]
    tiles.insert(int(rng.integers(0, 4)), cv2.resize(image, (cell, cell), interpolation=cv2.INTER_AREA))
    canvas = np.full((2 * cell + 30, 2 * cell + 30, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        y, x = 10 + (i // 2) * (cell + 10), 10 + (i % 2) * (cell + 10)
        canvas[y : y + cell, x : x + cell] = tile
    return canvas


def text_overlay(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A price banner, a 'SALE' stamp and a shop watermark across the photo."""
    out = image.copy()
    h, w = out.shape[:2]
    colour = tuple(int(c) for c in rng.integers(0, 200, 3))
    cv2.rectangle(out, (0, h - 70), (w, h), colour, -1)
    cv2.putText(out, f"ONLY {int(rng.integers(9, 60))}.99 EUR", (20, h - 22), cv2.FONT_HERSHEY_DUPLEX, 1.3,
                (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
    cv2.putText(out, "SALE", (int(w * 0.62), 80), cv2.FONT_HERSHEY_TRIPLEX, 2.0, (0, 0, 230), 4, cv2.LINE_AA)
    mark = out.copy()
    cv2.putText(mark, "bestdeals-shop", (int(w * 0.1), h // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.6,
                (255, 255, 255), 3, cv2.LINE_AA)  # fmt: skip
    return cv2.addWeighted(mark, 0.45, out, 0.55, 0)


def mirrored(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip left-right (a cheap way around naive duplicate checks), slightly rescaled."""
    side = int(rng.integers(520, 700))
    return cv2.resize(cv2.flip(image, 1), (side, side), interpolation=cv2.INTER_AREA)


def apply_edit(
    name: str, image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """Apply the stolen-photo edit ``name`` (one of :data:`STOLEN_EDITS`)."""
    if name == "crop":
        return crop(image, rng)
    if name == "colour":
        return colour(image, rng)
    if name == "collage":
        if len(others) < 3:
            raise ValueError("a collage needs three other photos")
        return collage(image, rng, others)
    if name == "text_overlay":
        return text_overlay(image, rng)
    if name == "mirrored":
        return mirrored(image, rng)
    raise ValueError(f"unknown edit {name!r}; expected one of {STOLEN_EDITS}")
