"""Safe image decoding: every untrusted image (download, upload, original) goes through here.

Dimensions are read from the header *before* pixels are decoded, so a decompression bomb costs
nothing; alpha is composited on white (a transparent PNG or WebP must not turn black), 16-bit,
CMYK, palette and grayscale images become 8-bit BGR, an animated image gives its first frame.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MIN_SIDE = 32


class InvalidImageError(ValueError):
    """The bytes are not an image we can score; the message says why."""


def _describe_head(data: bytes) -> str:
    return repr(data[:8])


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = DEFAULT_MIN_SIDE
) -> np.ndarray:
    """Decode untrusted bytes into an 8-bit BGR array.

    Args:
        data: the file's bytes.
        max_pixels: refuse images whose header declares more pixels than this.
        min_side: refuse images narrower or shorter than this.

    Returns:
        ``uint8`` array of shape (height, width, 3), BGR order (OpenCV's).

    Raises:
        InvalidImageError: empty, not an image, truncated/corrupt, too large or too small.

    Example:
        >>> decode_image(Path("photo.jpg").read_bytes()).shape
        (512, 400, 3)
    """
    if not data:
        raise InvalidImageError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImageError(f"too many pixels: {width}x{height} > {max_pixels}")
            if width < min_side or height < min_side:
                raise InvalidImageError(f"too small: {width}x{height} < {min_side}x{min_side}")
            image.seek(0)  # animated GIF/WebP/APNG: the first frame
            image.load()
    except InvalidImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise InvalidImageError(f"not an image (starts with {_describe_head(data)})") from None
        raise InvalidImageError(f"too many pixels (decompression bomb refused): {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImageError(f"corrupt or truncated image: {exc}") from None
    return _to_bgr(image)


def _to_bgr(image: Image.Image) -> np.ndarray:
    with contextlib.suppress(Exception):  # a broken EXIF block must not lose the image
        # exif_transpose copies even an image it has nothing to turn: ask first.
        if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
            image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in {"I;16", "I;16B", "I;16L", "I"}:
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        scale = 255.0 / (65535.0 if top > 255 else 255.0)
        gray = np.clip(array * scale, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        span = (array.max() - array.min()) or 1.0
        gray = ((array - array.min()) / span * 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    has_alpha = mode in {"RGBA", "LA", "PA"} or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        rgb = image if mode == "RGB" else image.convert("RGB")  # CMYK, palette, grayscale, YCbCr…
    # PIL packs BGR itself: twice as fast as reversing the channels of an RGB array in NumPy.
    width, height = rgb.size
    return np.frombuffer(bytearray(rgb.tobytes("raw", "BGR")), np.uint8).reshape(height, width, 3)


def load_image(
    path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = DEFAULT_MIN_SIDE
) -> np.ndarray:
    """Read and decode an image file; a missing file raises ``FileNotFoundError``."""
    return decode_image(Path(path).read_bytes(), max_pixels=max_pixels, min_side=min_side)


def read_bgr(path: str | Path) -> np.ndarray:
    """OpenCV's own read of an image file we wrote (benchmarks, the demo), as BGR uint8.

    Raises:
        InvalidImageError: the file is missing or not an image OpenCV reads.
    """
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidImageError(f"{path}: missing, or not an image OpenCV can read")
    return np.asarray(image)


def decode_bgr(data: np.ndarray | bytes) -> np.ndarray:
    """OpenCV's own decode of encoded image bytes, as BGR uint8.

    Raises:
        InvalidImageError: the bytes are not an image OpenCV decodes.
    """
    import cv2

    buffer = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidImageError("not an image OpenCV can decode")
    return np.asarray(image)
