"""The logo check's cheaper computations give the values of the plain ones they replace, and the
work a verdict does not need is not done."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import detection.logo.band as band
import detection.logo.locate as locate_module
from detection.logo import check
from detection.logo.band import border_pixels, foreground_difference, plane_distance
from detection.logo.edges import sobel_strength
from detection.logo.locate import locate


def _drawn_planes(gx: np.ndarray, gy: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The colour planes drawn as the logo check drew them before: a plane per channel of ``c``
    (3, channels), merged into one (len(gy), len(gx), channels) image."""
    planes = [(gx * c[0, k])[None, :] + (gy * c[1, k])[:, None] + c[2, k] for k in range(c.shape[1])]
    merged = cv2.merge(planes)
    return merged if merged.ndim == 3 else merged[:, :, None]


_RIGHT = np.array([[0, 0, 1], [0, 0, 2], [0, 0, 1]], np.float32)
_TOP = np.array([[1, 2, 1], [0, 0, 0], [0, 0, 0]], np.float32)


def _seed_strength(gray: np.ndarray) -> np.ndarray:
    """The seed's ``|S_x| + |S_y|`` written out with its four masks, in float32."""
    g = gray.astype(np.float32)
    s_x = np.abs(cv2.filter2D(g, -1, _RIGHT)) - np.abs(cv2.filter2D(g, -1, _RIGHT[:, ::-1].copy()))
    s_y = np.abs(cv2.filter2D(g, -1, _TOP)) - np.abs(cv2.filter2D(g, -1, _TOP[::-1, :].copy()))
    return np.abs(s_x) + np.abs(s_y)


def _product(logo_x: int = 200) -> np.ndarray:
    """A dark product on a light sweep with a light mark at ``logo_x`` (as the outline tests)."""
    image = np.full((400, 400, 3), 235, np.uint8)
    cv2.rectangle(image, (50, 60), (349, 340), (90, 60, 40), -1)
    cv2.rectangle(image, (logo_x - 12, 188), (logo_x + 12, 212), (230, 230, 240), -1)
    return cv2.GaussianBlur(image, (0, 0), 1.2)


@pytest.mark.parametrize(
    ("height", "width", "strip"), [(16, 16, 4), (9, 30, 4), (8, 8, 4), (50, 3, 1), (40, 61, 5)]
)
def test_border_pixels_are_a_border_masks_pixels_in_row_major_order(
    height: int, width: int, strip: int
) -> None:
    mask = np.zeros((height, width), bool)
    mask[:strip], mask[-strip:], mask[:, :strip], mask[:, -strip:] = True, True, True, True
    rows, columns = border_pixels(height, width, strip)
    expected_rows, expected_columns = np.nonzero(mask)
    assert np.array_equal(rows, expected_rows) and np.array_equal(columns, expected_columns)


def test_plane_distance_sums_the_channels_as_a_transform_of_the_drawn_planes() -> None:
    rng = np.random.default_rng(3)
    for height, width in [(37, 53), (120, 90), (1, 5)]:
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        coefficients = (rng.standard_normal((3, 3)) * [[40.0], [40.0], [120.0]]).astype(np.float32)
        gx = np.arange(width, dtype=np.float32) / width - 0.5
        gy = np.arange(height, dtype=np.float32) / height - 0.5
        planes = _drawn_planes(gx, gy, coefficients)
        expected = cv2.transform(cv2.absdiff(image.astype(np.float32), planes), np.ones((1, 3), np.float32))
        assert np.array_equal(plane_distance(image, gx, gy, coefficients), expected.reshape(height, width))


def test_sobel_strength_of_an_8_bit_image_is_the_seeds_strength() -> None:
    rng = np.random.default_rng(5)
    for height, width in [(1, 1), (2, 7), (31, 17), (64, 64)]:
        gray = rng.integers(0, 256, (height, width), dtype=np.uint8)
        strength = sobel_strength(gray)
        assert strength.dtype == np.float32 and np.array_equal(strength, _seed_strength(gray))


def test_an_image_without_a_product_is_not_labelled(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an empty mask was labelled")

    monkeypatch.setattr(band.cv2, "connectedComponentsWithStats", refuse)
    mask, difference = foreground_difference(np.full((80, 120, 3), 200, np.uint8))
    assert not mask.any() and difference.shape == (80, 120)


def test_the_products_colour_is_fitted_once_and_the_logo_mask_drawn_only_for_the_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fits, inks = [], []
    fit, ink = locate_module._product_colour, locate_module._ink
    monkeypatch.setattr(locate_module, "_product_colour", lambda *a: fits.append(1) or fit(*a))
    monkeypatch.setattr(locate_module, "_ink", lambda *a: inks.append(1) or ink(*a))
    located = locate(_product(120))
    assert located is not None
    assert len(fits) == 1 and len(inks) == 1  # the logo box's ink; no logo mask yet
    mask = located.shape_inputs[0]
    x, y, w, h = located.box
    assert len(fits) == 1 and len(inks) == 2 and mask.shape == (h, w) and mask.any()
    assert check(_product(120)).shape == located.shape
