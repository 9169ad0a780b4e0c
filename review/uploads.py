"""Decode an uploaded image safely, in memory: size and pixel limits before decoding, never a file on disk."""

from __future__ import annotations

import io

import numpy as np

# What a marketplace photo can be; Pillow's other readers (PSD, ICO, EPS…) are not offered to uploads.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def sniff_format(data: bytes) -> str | None:
    """The accepted format the bytes start with, or None: the type is decided by content, not by name."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    return None


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
        from detection.imageio import InvalidImageError, decode_image
    except ImportError:
        return _decode_with_pillow(data, max_pixels)
    try:
        return decode_image(data, max_pixels=max_pixels)
    except InvalidImageError as exc:
        raise UploadRejected(f"Not a usable image: {exc}.") from exc


def _decode_with_pillow(data: bytes, max_pixels: int) -> np.ndarray:
    """Fallback when ``detection.imageio`` is absent: Pillow reads the header lazily, so the pixel
    count is checked before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise UploadRejected(f"Too many pixels: {width}x{height} > {max_pixels:,}.")
            img.seek(0)
            rgb = img.convert("RGB")
    except UnidentifiedImageError:
        raise UploadRejected(f"Not an image (starts with {data[:8]!r}).") from None
    except Image.DecompressionBombError as exc:
        raise UploadRejected(f"Too many pixels: {exc}.") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UploadRejected(f"The image is corrupt: {exc}.") from None
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
