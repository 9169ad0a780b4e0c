"""Decode an uploaded image safely, in memory: size and pixel limits before decoding, never a file on disk."""

from __future__ import annotations

import numpy as np

from detection.imageio import InvalidImageError, decode_image
from detection.imagetype import sniff_image_type

# What a marketplace photo can be; Pillow's other readers (PSD, ICO, EPS…) are not offered to uploads.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


def sniff_format(data: bytes) -> str | None:
    """The accepted format the bytes start with, or None: the type is decided by content, not by name."""
    image_type = sniff_image_type(data)
    return None if image_type is None else image_type.upper()


class UploadRejected(ValueError):
    """The upload is not an image we accept; the message says why, for the reviewer."""


def decode_upload(data: bytes, *, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Check and decode an uploaded image.

    Args:
        data: the uploaded bytes (never written to disk, so the client's file name plays no part).
        max_bytes: the largest accepted upload.
        max_pixels: the largest accepted width × height, checked from the header before decoding.

    Returns:
        The image as BGR uint8, H×W×3.

    Raises:
        UploadRejected: empty, too large, not an image, too many pixels, corrupt.
    """
    if not data:
        raise UploadRejected("The file is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(f"The file is too large: {len(data):,} bytes > {max_bytes:,}.")
    if sniff_format(data) is None:
        raise UploadRejected(
            f"Not an image in a supported format ({', '.join(ACCEPTED_FORMATS)}); the file starts with {data[:8]!r}."
        )
    try:
        return decode_image(data, max_pixels=max_pixels)
    except InvalidImageError as exc:
        raise UploadRejected(f"Not a usable image: {exc}.") from exc
