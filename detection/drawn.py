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
