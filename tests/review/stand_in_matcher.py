"""A stand-in for ``detection.matcher.Matcher`` while that module has not landed.

It has the same ``match(image, k)`` surface and returns objects with the ``Match`` fields; the
score is the cosine similarity of small grey thumbnails, the region the whole image. The review
tests switch to the real matcher as soon as ``detection.matcher`` is importable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass
class StandInMatch:
    original_id: str
    score: float
    components: dict[str, float] = field(default_factory=dict)
    region_query: list[tuple[float, float]] | None = None
    region_original: list[tuple[float, float]] | None = None
    transform: str | None = None


def _vector(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (24, 24), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    small -= small.mean()
    return small / (np.linalg.norm(small) + 1e-6)


def _box(image: np.ndarray) -> list[tuple[float, float]]:
    h, w = image.shape[:2]
    return [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]


class StandInMatcher:
    def __init__(self, originals: dict[int, np.ndarray]) -> None:
        self._ids = [str(i) for i in originals]
        self._images = list(originals.values())
        self._vectors = np.stack([_vector(im) for im in self._images])

    def match(self, image: np.ndarray, k: int = 10) -> list[StandInMatch]:
        sims = self._vectors @ _vector(image)
        order = np.argsort(-sims)[:k]
        return [
            StandInMatch(
                original_id=self._ids[i],
                score=float(np.clip((sims[i] + 1) / 2, 0, 1)),
                components={"global": float(sims[i])},
                region_query=_box(image),
                region_original=_box(self._images[i]),
            )
            for i in order
        ]
