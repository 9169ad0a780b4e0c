"""The benchmark format: reading it, and making one from any folder of images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def read_image(path: str | Path) -> np.ndarray:
    """Read one image as BGR uint8 (the matcher's ``detection.imageio`` when present)."""
    try:
        from detection.imageio import load_image
    except ImportError:
        load_image = None
    if load_image is not None:
        return load_image(path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return image


def read_images(directory: str | Path, ids: set[str] | None = None) -> dict[str, np.ndarray]:
    """``{file stem: BGR image}`` for the images of ``directory`` (only ``ids`` when given), sorted."""
    paths = sorted(p for p in Path(directory).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return {p.stem: read_image(p) for p in paths if ids is None or p.stem in ids}
