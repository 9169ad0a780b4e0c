"""Copy or variant, for the matches that get a detection row.

The original's pixels — decoded reduced (a JPEG decodes at 1/2, 1/4 or 1/8 of its size for little
more than the cost of reading it), kept in a small per-process cache since the same originals
come up again and again — are compared with the listing under the match's alignment
(:func:`detection.matching.variant.compare`). Only matched pairs are compared, never a listing
that matched nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from db.catalog import OriginalFile
from detection.matcher import Match
from detection.matching.variant import WORK_SIDE, compare

log = logging.getLogger(__name__)

CACHED_ORIGINALS = 256  # reduced originals kept per process (~200 KB each at most)
_REDUCED = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


class OriginalPixels:
    """Originals decoded at about the comparison's size, cached (thread-safe)."""

    def __init__(self, media_root: Path, capacity: int = CACHED_ORIGINALS) -> None:
        self.media_root = media_root
        self.capacity = capacity
        self._cache: OrderedDict[tuple[int, str], tuple[np.ndarray, tuple[int, int]] | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, original_id: int, file: OriginalFile) -> tuple[np.ndarray, tuple[int, int]] | None:
        """The original's pixels (reduced) and its full (width, height); None when unreadable."""
        key = (original_id, file.path)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        loaded = self._load(file)
        with self._lock:
            self._cache[key] = loaded
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return loaded

    def _load(self, file: OriginalFile) -> tuple[np.ndarray, tuple[int, int]] | None:
        stored = Path(file.path)
        path = stored if stored.is_absolute() else self.media_root / stored
        factor = 1
        if file.width and file.height:
            while factor < 8 and max(file.width, file.height) / (2 * factor) >= WORK_SIDE:
                factor *= 2
        image = cv2.imread(str(path), _REDUCED[factor])
        if image is None:
            log.warning("original image %s could not be read; its matches stay unlabelled copies", path)
            return None
        size = (file.width, file.height) if file.width and file.height else (image.shape[1], image.shape[0])
        return image, (int(size[0]), int(size[1]))


def variant_fields(
    image: np.ndarray, match: Match, original: tuple[np.ndarray, tuple[int, int]] | None
) -> dict[str, Any]:
    """The ``label`` and ``variant_region`` of a detection row for ``match`` of ``image``."""
    if original is None or match.homography is None:
        return {"label": "copy", "variant_region": None}
    pixels, size = original
    try:
        difference = compare(pixels, size, image, match.homography)
    except (ValueError, cv2.error) as exc:  # a degenerate alignment: no verdict, not a lost image
        log.warning("variant check skipped for original %s: %s", match.original_id, exc)
        return {"label": "copy", "variant_region": None}
    if not difference.is_variant:
        return {"label": "copy", "variant_region": None}
    return {
        "label": "variant",
        "variant_region": {
            "original": list(difference.region_original or ()),
            "query": list(difference.region_query or ()),
            "share": round(difference.share, 4),
        },
    }


_pixels: dict[Path, OriginalPixels] = {}
_pixels_lock = threading.Lock()


def original_pixels(
    files: Mapping[int, OriginalFile], media_root: Path
) -> Callable[[int], tuple[np.ndarray, tuple[int, int]] | None]:
    """The pixels of the originals of ``files``, by id (decoded when first asked for, from this
    process's cache)."""
    with _pixels_lock:
        cache = _pixels.setdefault(media_root, OriginalPixels(media_root))

    def pixels(original_id: int) -> tuple[np.ndarray, tuple[int, int]] | None:
        file = files.get(original_id)
        return None if file is None else cache.get(original_id, file)

    return pixels
