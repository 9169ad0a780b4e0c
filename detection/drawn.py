"""Drawn "product photos" for benchmarks that need many distinct originals without any files."""

from __future__ import annotations

import cv2
import numpy as np


def textured_photo(seed: int, side: int = 320, swap_letter: tuple[int, int] | None = None) -> np.ndarray:
    """A textured drawn photo (shapes and letters) that ORB-style features lock on to, different
    for every seed: BGR uint8, ``side`` x ``side``.

    Args:
        swap_letter: (word, letter): that letter of that word (0-3, 0-4) drawn as another one,
            the rest of the drawing unchanged — a variant of the same artwork.
    """
    rng = np.random.default_rng(seed)
    image = np.full((side, side, 3), rng.integers(150, 250, 3), np.uint8)
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = (int(v) for v in rng.integers(0, side, 2))
        r = int(rng.integers(6, side // 6))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), r, colour, -1)
        else:
            cv2.rectangle(image, (x, y), (x + r, y + int(rng.integers(6, side // 6))), colour, -1)
    for i in range(4):
        word = "".join(chr(int(c)) for c in rng.integers(65, 91, 5))
        if swap_letter is None or swap_letter[0] != i:
            cv2.putText(image, word, (10, 60 + 70 * i), *_LETTERING)
            continue
        # Letter by letter at the places the whole word puts them, one of them another letter.
        k = swap_letter[1]
        other = chr((ord(word[k]) - 65 + 13) % 26 + 65)
        for start, text in ((0, word[:k]), (k, other), (k + 1, word[k + 1 :])):
            x = 10 + cv2.getTextSize(word[:start], _LETTERING[0], _LETTERING[1], _LETTERING[3])[0][0]
            cv2.putText(image, text, (x, 60 + 70 * i), *_LETTERING)
    return image


_LETTERING = (cv2.FONT_HERSHEY_DUPLEX, 1.2, (20, 20, 20), 2)


def add_arrow(image: np.ndarray, seed: int) -> tuple[np.ndarray, tuple[float, float]]:
    """A part added to a drawing in its own way: a filled, outlined arrow (as on a variant of a
    box), somewhere near the middle; returns the drawing and the arrow's centre."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    h, w = out.shape[:2]
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.65)
    shape = np.array([[-1, -0.35], [0.2, -0.35], [0.2, -0.8], [1.1, 0], [0.2, 0.8], [0.2, 0.35], [-1, 0.35]])
    points = (shape * w * 0.09 + [cx, cy]).astype(np.int32)
    cv2.fillPoly(out, [points], (40, 170, 60))
    cv2.polylines(out, [points], True, (20, 20, 20), 2, cv2.LINE_AA)
    return out, (float(cx), float(cy))


def with_sticker(image: np.ndarray, seed: int) -> np.ndarray:
    """A price sticker: a red disc with a white price on it, somewhere on the photo."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    h, w = out.shape[:2]
    r = int(min(h, w) * 0.13)
    cx, cy = int(rng.integers(r, w - r)), int(rng.integers(r, h - r))
    cv2.circle(out, (cx, cy), r, (30, 30, 220), -1)
    price = f"${int(rng.integers(10, 99))}"
    cv2.putText(
        out,
        price,
        (cx - r // 2, cy + r // 4),
        cv2.FONT_HERSHEY_SIMPLEX,
        r / 30,
        (255, 255, 255),
        2,
        cv2.LINE_AA,
    )
    return out


def sale_banner(image: np.ndarray, text: str = "SALE -50%") -> np.ndarray:
    """A sale banner across the bottom of the photo."""
    out = image.copy()
    h, w = out.shape[:2]
    band = int(h * 0.15)
    cv2.rectangle(out, (0, h - band), (w, h), (0, 140, 255), -1)
    org = (int(w * 0.05), h - band + int(band * 0.75))
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, band / 40, (255, 255, 255), 2, cv2.LINE_AA)
    return out
