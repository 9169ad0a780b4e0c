"""Safe decoding: odd but valid images are handled, bad ones are refused with a clear reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from detection.imageio import InvalidImageError, decode_image, load_image
from tests.support.files import png_header_only


def _encode(image: Image.Image, fmt: str, **kw: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def test_rgb_jpeg_becomes_bgr() -> None:
    data = _encode(Image.new("RGB", (80, 60), (255, 0, 0)), "JPEG", quality=95)
    image = decode_image(data)
    assert image.shape == (60, 80, 3) and image.dtype == np.uint8
    assert image[30, 40, 2] > 200 and image[30, 40, 0] < 50  # red is the last channel in BGR


def test_a_photo_is_turned_upright_by_its_exif_orientation_and_one_without_is_kept_as_it_is() -> None:
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:, :30] = (255, 0, 0)  # the left half red
    photo = Image.fromarray(pixels)
    exif = photo.getexif()
    exif[0x0112] = 6  # Orientation: rotated 90 degrees clockwise to view
    turned = decode_image(_encode(photo, "PNG", exif=exif.tobytes()))
    assert turned.shape == (60, 40, 3) and turned[5, 20, 2] > 200 and turned[55, 20, 2] < 50
    exif[0x0112] = 1
    assert decode_image(_encode(photo, "PNG", exif=exif.tobytes())).tolist() == pixels[:, :, ::-1].tolist()
    assert decode_image(_encode(photo, "PNG")).tolist() == pixels[:, :, ::-1].tolist()


def test_alpha_png_is_composited_on_white() -> None:
    data = _encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG")
    assert decode_image(data).min() == 255  # transparent must not turn black


def test_cmyk_jpeg_is_converted() -> None:
    data = _encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG")
    image = decode_image(data)
    assert image.shape == (64, 64, 3) and image[..., 2].mean() > 200


def test_16_bit_png_is_scaled_to_8_bit() -> None:
    array = np.full((64, 64), 65535, np.uint16)
    array[:, :32] = 0
    image = decode_image(_encode(Image.fromarray(array), "PNG"))
    assert image.dtype == np.uint8 and image[0, 0, 0] == 0 and image[0, 63, 0] == 255


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("P", (64, 64), i) for i in (10, 200)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    image = decode_image(buffer.getvalue())
    assert image.shape == (64, 64, 3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"<html><body>Not found</body></html>", "not an image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "not an image|corrupt"),
        (png_header_only(20000, 20000), "too many pixels"),
        (png_header_only(1, 1), "too small: 1x1"),
    ],
    ids=["empty", "html", "corrupt-jpeg", "huge-header", "one-pixel"],
)
def test_bad_input_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidImageError, match=reason):
        decode_image(data)


def test_truncated_jpeg_is_refused() -> None:
    data = _encode(Image.effect_noise((256, 256), 60).convert("RGB"), "JPEG")
    with pytest.raises(InvalidImageError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_header_over_our_own_limit_is_refused_before_decoding() -> None:
    with pytest.raises(InvalidImageError, match="too many pixels: 3000x3000 > 1000000"):
        decode_image(png_header_only(3000, 3000), max_pixels=1_000_000)


def test_missing_file_raises_file_not_found(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "nope.jpg")
