"""The seed's preprocessing: grayscale, 105x125, normalised, as a ``1 x 125 x 105`` tensor.

The seed calls ``cv2.resize(image, (105, 125))``; OpenCV's ``dsize`` is ``(width, height)``, so the
network sees images 105 px wide and 125 px high (a portrait canvas, like most product photos).
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import torch
from albumentations.pytorch import ToTensorV2

#: Width and height after resizing, in OpenCV's ``dsize`` order (width first).
INPUT_WIDTH = 105
INPUT_HEIGHT = 125
#: The seed's normalisation of grayscale intensities scaled to [0, 1] (its dataset's mean and std).
SEED_MEAN = 0.8444
SEED_STD = 0.5329

_TO_TENSOR = A.Compose([A.Normalize(mean=SEED_MEAN, std=SEED_STD, max_pixel_value=255.0), ToTensorV2()])


def to_gray(image: np.ndarray) -> np.ndarray:
    """Return a single-channel uint8 image from BGR, BGRA or grayscale input.

    Args:
        image: ``HxW``, ``HxWx1``, ``HxWx3`` (BGR) or ``HxWx4`` (BGRA) uint8 array.

    Returns:
        ``HxW`` uint8 grayscale image.
    """
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    raise ValueError(f"expected an HxW or HxWx{{1,3,4}} image, got shape {image.shape}")


def preprocess(image: np.ndarray) -> torch.Tensor:
    """Turn one image into the seed network's input.

    Args:
        image: uint8 image (BGR, BGRA or grayscale), any size.

    Returns:
        float32 tensor of shape ``(1, INPUT_HEIGHT, INPUT_WIDTH)``, ``(gray / 255 - 0.8444) / 0.5329``.
    """
    gray = cv2.resize(to_gray(image), (INPUT_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_AREA)
    tensor = _TO_TENSOR(image=gray)["image"]
    return tensor.float()


def preprocess_batch(images: list[np.ndarray]) -> torch.Tensor:
    """Stack :func:`preprocess` of several images into a ``(N, 1, 125, 105)`` tensor."""
    if not images:
        return torch.empty((0, 1, INPUT_HEIGHT, INPUT_WIDTH))
    return torch.stack([preprocess(image) for image in images])
