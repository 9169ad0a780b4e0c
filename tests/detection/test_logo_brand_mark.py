"""The brand's own mark: found wherever and however often it is printed, mirrored prints flagged."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.logo import LogoReference, check, reference_from_original
from detection.logo.bench import draw_product_with_logo, paste_mark
from detection.logo.brand_mark import BrandMark, find_marks


def _logo_file(alpha_channel: bool = True) -> np.ndarray:
    """A brand logo as a file would hold it: 'KOVA' and a flag, red, on transparency or on white."""
    image = np.zeros((90, 260, 4), np.uint8)
    cv2.putText(image, "KOVA", (8, 70), cv2.FONT_HERSHEY_DUPLEX, 2.2, (30, 30, 200, 255), 5, cv2.LINE_AA)
    cv2.fillPoly(image, [np.array([[205, 12], [255, 12], [205, 50]], np.int32)], (30, 30, 200, 255))
    if alpha_channel:
        return image
    plain = np.full((90, 260, 3), 255, np.uint8)
    ink = image[:, :, 3:] / 255.0
    return (plain * (1 - ink) + image[:, :, :3] * ink).astype(np.uint8)


def _product(prints: list[tuple[float, float, int]], mirrored: bool = False, seed: int = 4) -> np.ndarray:
    """A product photo with the mark printed at (offset, row share, width) in white, any times."""
    image, _ = draw_product_with_logo(np.random.default_rng(seed), None, None)
    mark = BrandMark.from_image(_logo_file())
    alpha = mark.alpha[:, ::-1] if mirrored else mark.alpha
    mask = (np.abs(image.astype(int) - image[5, 5].astype(int)).sum(axis=2) > 60).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    for offset, row, width in prints:
        centre = (int((x0 + x1) / 2 + offset * (x1 - x0)), int(y0 + row * (y1 - y0)))
        paste_mark(image, alpha, centre, width, np.array([245.0, 245.0, 245.0], np.float32))
    return image


@pytest.mark.parametrize("alpha_channel", [True, False])
def test_a_mark_is_read_from_alpha_or_from_a_plain_background(alpha_channel: bool) -> None:
    mark = BrandMark.from_image(_logo_file(alpha_channel))
    assert 3.6 < mark.alpha.shape[1] / mark.alpha.shape[0] < 4.6  # cropped to the ink (244 x 59)
    again = BrandMark.from_png(mark.to_png())
    assert np.abs(again.alpha - mark.alpha).max() < 0.01


def test_a_blank_logo_file_is_refused() -> None:
    with pytest.raises(ValueError, match="no mark"):
        BrandMark.from_image(np.full((50, 50, 3), 255, np.uint8))
    with pytest.raises(ValueError, match="not an image"):
        BrandMark.from_bytes(b"not an image at all")


def test_the_mark_is_found_at_another_scale_and_colour() -> None:
    mark = BrandMark.from_image(_logo_file())
    image = _product([(0.0, 0.5, 96)])
    hits = find_marks(image, mark)
    assert len(hits) == 1 and not hits[0].mirrored and hits[0].score > 0.8
    x, y, w, h = hits[0].box
    assert 80 <= w <= 112


def test_a_mark_printed_twice_is_found_twice() -> None:
    mark = BrandMark.from_image(_logo_file())
    image = _product([(-0.22, 0.45, 70), (0.2, 0.6, 80)])
    hits = find_marks(image, mark)
    assert len(hits) == 2
    centres = sorted(x + w / 2 for x, _, w, _ in (hit.box for hit in hits))
    assert centres[1] - centres[0] > 100


def test_no_print_no_hit_and_a_mirrored_print_is_flagged() -> None:
    mark = BrandMark.from_image(_logo_file())
    assert find_marks(_product([]), mark) == []
    hits = find_marks(_product([(0.0, 0.5, 96)], mirrored=True), mark)
    assert len(hits) == 1 and hits[0].mirrored


def _reference() -> LogoReference:
    original = _product([(0.0, 0.5, 96)])
    mark = BrandMark.from_image(_logo_file())
    hit = find_marks(original, mark)[0]
    reference = reference_from_original(original, hit.box)
    assert reference is not None and reference.position == "CM"
    from dataclasses import replace

    return LogoReference.from_dict(replace(reference, mark=mark, mark_path="logos/ab/x.png").to_dict())


def test_the_check_with_a_brand_mark_judges_place_mirror_twice_and_absence() -> None:
    reference = _reference()
    assert reference.mark is not None and reference.mark_path == "logos/ab/x.png"
    genuine = check(_product([(0.0, 0.5, 110)], seed=6), reference)
    assert genuine.verdict == "genuine" and genuine.position == "CM" and len(genuine.marks) == 1
    moved = check(_product([(0.3, 0.5, 80)], seed=6), reference)
    assert moved.verdict == "shifted" and moved.position == "RC" and moved.offset > 0.2
    mirrored = check(_product([(0.0, 0.5, 96)], mirrored=True, seed=6), reference)
    assert mirrored.verdict == "shape_differs" and "mirrored" in mirrored.reason
    twice = check(_product([(-0.3, 0.5, 70), (0.3, 0.5, 70)], seed=6), reference)
    assert twice.verdict == "shifted" and len(twice.marks) == 2 and "2 times" in twice.reason
    assert {m["position"] for m in twice.marks} == {"LC", "RC"}
    absent = check(_product([], seed=6), reference)
    assert absent.verdict == "missing" and absent.suspicious and absent.marks == []
    assert absent.to_dict()["marks"] == []
