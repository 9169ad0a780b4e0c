"""The logo check: each seed step on hand-made images with known answers, then the verdicts."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from detection.logo import LogoReference, check, reference_from_original
from detection.logo.band import Extent, logo_band
from detection.logo.bench import draw_product_with_logo
from detection.logo.chaincode import prune_spurs, thin, trace
from detection.logo.edges import sobel_strength
from detection.logo.fourier import complexity, perimeter
from detection.logo.position import POSITIONS, classify_offset, offset_range


def test_sobel_responds_across_a_vertical_step_only_in_x() -> None:
    gray = np.zeros((20, 20), np.uint8)
    gray[:, 10:] = 200
    strength = sobel_strength(gray)
    assert strength[10, 9] == pytest.approx(800) and strength[10, 10] == pytest.approx(800)
    assert strength[10, 3] == 0 and strength[10, 15] == 0


def test_square_outline_traces_closed_with_its_perimeter() -> None:
    mask = np.zeros((20, 20), bool)
    mask[5, 5:15] = mask[14, 5:15] = mask[5:15, 5] = mask[5:15, 14] = True
    chain = trace(thin(mask), (5, 5))
    assert chain.closed
    assert len(chain.codes) == 36 and all(code % 2 == 0 for code in chain.codes)
    assert perimeter(chain) == pytest.approx(36.0)


def test_diagonal_steps_count_root_two() -> None:
    mask = np.zeros((20, 20), bool)
    for i in range(6):
        mask[5 + i, 5 + i] = True
    chain = trace(mask, (5, 5))
    assert not chain.closed and chain.codes == (7,) * 5
    assert perimeter(chain) == pytest.approx(5 * math.sqrt(2))


def test_hairs_are_pruned_but_the_loop_stays() -> None:
    mask = np.zeros((30, 30), bool)
    mask[5, 5:15] = mask[14, 5:15] = mask[5:15, 5] = mask[5:15, 14] = True
    mask[14:20, 10] = True  # a hair hanging from the loop
    pruned = prune_spurs(mask, length=8)
    assert not pruned[19, 10] and pruned[5, 5:15].all()


def _outline(draw) -> np.ndarray:  # noqa: ANN001
    canvas = np.zeros((200, 200), np.uint8)
    draw(canvas)
    contours, _ = cv2.findContours(canvas, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return max(contours, key=cv2.contourArea).reshape(-1, 2)


def test_circle_is_less_complex_than_a_star() -> None:
    circle = _outline(lambda c: cv2.circle(c, (100, 100), 60, 255, -1))
    angles = np.linspace(0, 2 * np.pi, 11)[:-1]
    radii = np.where(np.arange(10) % 2 == 0, 80, 30)
    star_points = np.column_stack([100 + radii * np.cos(angles), 100 + radii * np.sin(angles)]).astype(
        np.int32
    )
    star = _outline(lambda c: cv2.fillPoly(c, [star_points], 255))
    assert complexity(circle) < 0.2 < complexity(star)


def test_band_is_offset_by_the_objects_top() -> None:
    assert logo_band(Extent(0, 100, 50, 400)) == (200, 300)


@pytest.mark.parametrize(
    ("offset", "position"),
    [(0.0, "CM"), (0.06, "CM"), (0.1, "RS"), (-0.25, "LC"), (0.3, "RC"), (0.45, "RM"), (-0.49, "LM")],
)
def test_offsets_fall_into_the_seven_positions(offset: float, position: str) -> None:
    assert classify_offset(offset) == position


def test_position_ranges_tile_the_width() -> None:
    ranges = [offset_range(p) for p in POSITIONS]
    assert ranges[0][0] == -0.5 and ranges[-1][1] == 0.5
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(ranges, ranges[1:], strict=False))


@pytest.mark.parametrize("position", POSITIONS)
def test_logo_drawn_at_a_position_is_classified_there(position: str) -> None:
    hits = 0
    for seed in range(3):
        image, truth = draw_product_with_logo(np.random.default_rng(seed), position, "square")
        verdict = check(image)
        hits += verdict.position == position
        assert (
            verdict.verdict == ("genuine" if position == "CM" else "shifted") or verdict.position != position
        )
    assert hits >= 2


@pytest.mark.parametrize("shape", ["triangular", "square", "long_narrow_text", "rectangular_text"])
def test_shape_classes(shape: str) -> None:
    found = [check(draw_product_with_logo(np.random.default_rng(s), "CM", shape)[0]).shape for s in range(3)]
    assert found.count(shape) >= 2, found


def test_degenerate_inputs_are_undetermined() -> None:
    blank = np.full((300, 300, 3), 255, np.uint8)
    assert check(blank).verdict == "undetermined"
    assert check(np.zeros((4, 4, 3), np.uint8)).verdict == "undetermined"
    plain, _ = draw_product_with_logo(np.random.default_rng(3), None, None)
    assert check(plain).verdict == "undetermined"
    edge = blank.copy()
    cv2.rectangle(edge, (0, 100), (30, 200), (0, 0, 0), -1)  # a "logo" cut by the image border
    assert check(edge).verdict in {"undetermined", "genuine", "shifted"}


def test_reference_round_trips_through_json() -> None:
    image, _ = draw_product_with_logo(np.random.default_rng(5), "CM", "square")
    reference = reference_from_original(image)
    assert reference is not None and reference.position == "CM"
    again = LogoReference.from_dict(reference.to_dict())
    assert again.box == reference.box and again.position == reference.position
    assert again.template.shape == reference.template.shape


def test_reference_box_outside_the_image_is_refused() -> None:
    image, _ = draw_product_with_logo(np.random.default_rng(5), "CM", "square")
    with pytest.raises(ValueError, match="outside"):
        reference_from_original(image, (470, 470, 40, 40))


def _listing(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo scaled to 80 % and pasted into a larger canvas; returns (listing, homography)."""
    homography = np.array([[0.8, 0.0, 90.0], [0.0, 0.8, 40.0], [0.0, 0.0, 1.0]])
    listing = cv2.warpPerspective(image, homography, (600, 520), borderValue=(250, 250, 250))
    return listing, homography


def test_aligned_check_finds_genuine_and_moved_logos() -> None:
    original, _ = draw_product_with_logo(np.random.default_rng(8), "CM", "triangular")
    reference = reference_from_original(original)
    genuine_listing, homography = _listing(original)
    assert check(genuine_listing, reference, homography).verdict == "genuine"

    counterfeit, _ = draw_product_with_logo(np.random.default_rng(8), "RC", "triangular")
    verdict = check(_listing(counterfeit)[0], reference, homography)
    assert verdict.verdict == "shifted" and verdict.position == "RC" and verdict.offset > 0
    assert verdict.suspicious and verdict.to_dict()["suspicious"] is True


def test_aligned_check_reports_a_missing_logo() -> None:
    original, _ = draw_product_with_logo(np.random.default_rng(9), "CM", "square")
    reference = reference_from_original(original)
    x, y, w, h = reference.box
    erased = original.copy()
    # Paint the logo over in the product's own colour (the median of a strip just below its box).
    strip = original[y + h + 8 : y + h + 14, x : x + w].reshape(-1, 3)
    erased[y - 8 : y + h + 8, x - 8 : x + w + 8] = np.median(strip, axis=0).astype(np.uint8)
    listing, homography = _listing(erased)
    assert check(listing, reference, homography).verdict in {"missing", "shape_differs"}


def _count_calls(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """Replace ``module.name`` by a spy that records one entry per call; return the record."""
    calls: list[int] = []
    real = getattr(module, name)

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - test spy
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_contour_features_follow_a_bounded_number_of_curves(monkeypatch: pytest.MonkeyPatch) -> None:
    import detection.logo.locate as locate

    # 200 separate short strokes (open curves) and one closed square: a busy photo's logo box.
    edges = np.zeros((300, 440), bool)
    for i in range(200):
        y, x = 4 + (i // 20) * 10, 4 + (i % 20) * 22
        edges[y, x : x + 16] = True  # longer than the spur pruning takes off
    cv2.rectangle(edges.view(np.uint8), (60, 220), (120, 280), 1, 1)
    starts = [(int(x), int(y)) for y, x in zip(*np.nonzero(edges), strict=True)]
    followed = _count_calls(monkeypatch, locate, "trace")
    locate.contour_features(edges, starts)
    assert len(followed) == 48  # every stroke is a candidate; only max_attempts are followed
    followed.clear()
    features = locate.contour_features(edges, starts, max_attempts=1000)
    assert len(followed) > 150 and features["closed_contours"] >= 1


def test_the_shape_is_measured_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import detection.logo.locate as locate

    image, _ = draw_product_with_logo(np.random.default_rng(1), "RC", "triangular")
    traced = _count_calls(monkeypatch, locate, "contour_features")
    located = locate.locate(image)
    assert located is not None and located.position == "RC"
    assert traced == []  # the position alone needs no contour tracing
    assert located.shape == "triangular" and "closed_contours" in located.features
    assert located.shape == "triangular"
    assert traced == [1]  # measured once, then kept


def test_a_caller_may_skip_the_shape_of_verdicts_it_will_discard(monkeypatch: pytest.MonkeyPatch) -> None:
    import detection.logo.locate as locate

    image, _ = draw_product_with_logo(np.random.default_rng(2), "LC", "square")
    traced = _count_calls(monkeypatch, locate, "contour_features")
    full = check(image)
    assert full.verdict == "shifted" and full.shape == "square" and traced == [1]
    brief = check(image, shape_from_confidence=full.confidence + 0.01)
    assert (brief.verdict, brief.position, brief.confidence) == (full.verdict, full.position, full.confidence)
    assert brief.shape is None and traced == [1]  # same verdict, no contours traced
