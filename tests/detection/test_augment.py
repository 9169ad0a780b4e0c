import cv2
import numpy as np
import pytest

from detection.augment import (
    EDIT_FAMILIES,
    apply_edit,
    border,
    crop_random,
    crop_strip,
    hflip,
    insert,
    jpeg,
    rotate,
    scale_down,
)
from detection.stolen import stolen_strips
from tests.support.images import product_photo

IMAGE = product_photo(1)
OTHERS = [product_photo(2), product_photo(3)]


def test_every_dev_family_and_the_stronger_ones_are_there():
    expected = {"crop_strip", "crop_random", "hflip", "rotate", "scale_down", "jpeg", "color"}
    expected |= {"text_overlay", "insert", "border", "combo"}
    expected |= {"perspective", "watermark", "blur_noise", "low_res", "small_insert", "tight_crop"}
    expected |= {"rotate_big", "mirror_combo", "stretch"}
    assert set(EDIT_FAMILIES) == expected


def test_stronger_edits_do_what_they_say():
    rng = np.random.default_rng(4)
    h, w = IMAGE.shape[:2]
    crop = apply_edit("tight_crop", IMAGE, rng)
    assert 0.1 <= crop.shape[0] * crop.shape[1] / (h * w) <= 0.32
    thumb = apply_edit("low_res", IMAGE, rng)
    assert 96 <= max(thumb.shape[:2]) <= 160
    room = apply_edit("small_insert", IMAGE, rng, others=OTHERS)
    assert room.shape[0] * room.shape[1] >= 4 * h * w  # a canvas of 2-3.5x each side
    squeezed = apply_edit("stretch", IMAGE, rng)
    ratios = sorted((squeezed.shape[0] / h, squeezed.shape[1] / w))
    assert 0.59 <= ratios[0] <= 0.81 and ratios[1] == 1.0  # one side squeezed, the other kept
    tilted = apply_edit("perspective", IMAGE, rng)
    assert tilted.shape == IMAGE.shape and (tilted[0, 0] == 255).all()  # a corner left white
    marked = apply_edit("watermark", IMAGE, rng).astype(np.int16)
    changed = np.abs(marked - IMAGE).max(axis=2) > 20
    assert 0.03 < changed.mean() < 0.6  # text strokes over the photo, not a new photo


@pytest.mark.parametrize("name", [*EDIT_FAMILIES, "none"])
def test_edits_give_bgr_uint8_images_reproducibly(name):
    first = apply_edit(name, IMAGE, np.random.default_rng(5), others=OTHERS)
    again = apply_edit(name, IMAGE, np.random.default_rng(5), others=OTHERS)
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3 and min(first.shape[:2]) >= 8
    assert np.array_equal(first, again)
    if name not in ("none", "scale_down", "crop_strip", "crop_random", "hflip"):
        assert first.shape != IMAGE.shape or not np.array_equal(first, IMAGE)


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown edit family"):
        apply_edit("sepia", IMAGE, np.random.default_rng(0))
    with pytest.raises(ValueError, match="'sepia' in 'hflip\\+sepia'"):
        apply_edit("hflip+sepia", IMAGE, np.random.default_rng(0))


def test_chained_families_apply_left_to_right():
    # Mirrored, then pasted into a larger canvas: the canvas holds the mirror image, not the photo.
    pasted = apply_edit("hflip+insert", IMAGE, np.random.default_rng(2), others=OTHERS)
    assert pasted.shape[0] > IMAGE.shape[0] and pasted.shape[1] > IMAGE.shape[1]
    mirrored = cv2.flip(IMAGE, 1)

    # Find the pasted piece by its scale: insert resizes it; the mirror matches it far better.
    def best_match(template):
        for scale in np.linspace(0.2, 1.0, 41):
            size = (int(template.shape[1] * scale), int(template.shape[0] * scale))
            if size[0] < 8 or size[1] < 8 or size[0] > pasted.shape[1] or size[1] > pasted.shape[0]:
                continue
            small = cv2.resize(template, size, interpolation=cv2.INTER_AREA)
            yield float(cv2.matchTemplate(pasted, small, cv2.TM_CCOEFF_NORMED).max())

    assert max(best_match(mirrored)) > 0.95 > max(best_match(IMAGE))
    # The same as applying the two by hand with the same generator.
    rng = np.random.default_rng(2)
    by_hand = apply_edit("insert", apply_edit("hflip", IMAGE, rng), rng, others=OTHERS)
    assert np.array_equal(pasted, by_hand)


def test_seed_strip_and_random_strip_geometry():
    for index, strip in enumerate(stolen_strips(IMAGE)):
        assert np.array_equal(crop_strip(IMAGE, np.random.default_rng(0), index=index), strip)
    rng = np.random.default_rng(1)
    for _ in range(20):
        strip = crop_strip(IMAGE, rng)
        assert strip.shape[1] == IMAGE.shape[1] and 0.3 <= strip.shape[0] / IMAGE.shape[0] <= 0.7


def test_random_crop_covers_a_quarter_to_three_quarters():
    rng = np.random.default_rng(2)
    area = IMAGE.shape[0] * IMAGE.shape[1]
    fractions = [np.prod(crop_random(IMAGE, rng).shape[:2]) / area for _ in range(50)]
    assert min(fractions) > 0.1 and max(fractions) <= 0.8


def test_geometry_of_flip_scale_rotate_border_insert():
    rng = np.random.default_rng(3)
    assert np.array_equal(hflip(IMAGE), IMAGE[:, ::-1])
    small = scale_down(IMAGE, rng)
    assert 0.18 <= small.shape[1] / IMAGE.shape[1] <= 0.52
    turned = rotate(IMAGE, rng)
    assert turned.shape[0] > IMAGE.shape[0] and turned.shape[1] > IMAGE.shape[1]
    framed = border(IMAGE, rng)
    assert framed.shape[0] > IMAGE.shape[0] and framed.shape[1] > IMAGE.shape[1]
    placed = insert(IMAGE, rng, others=OTHERS)
    assert placed.shape[0] * placed.shape[1] > 2 * IMAGE.shape[0] * IMAGE.shape[1]


def test_jpeg_degrades_but_keeps_the_picture():
    out = jpeg(IMAGE, np.random.default_rng(4))
    diff = np.abs(out.astype(int) - IMAGE.astype(int))
    assert out.shape == IMAGE.shape and diff.mean() > 0.1 and diff.mean() < 20
