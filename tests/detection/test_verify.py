"""Structural verification: copies agree with their original, re-drawn variants do not."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from detection.catalog import FORMAT_VERSION, Catalog
from detection.matching import Matcher, build_catalog
from detection.matching.tuning import STRUCTURE_WEIGHT
from detection.verify import (
    agreement,
    agreements,
    make_thumbnail,
    pack,
    strip_similarity,
    thumbnail_size,
    unpack,
)
from tests.support.catalogs import rewrite_as_format
from tests.support.images import product_image

IDENTITY = np.eye(3)


def _banner(image: np.ndarray) -> np.ndarray:
    """A copy with a text banner over a strip of ~15 % of its height (a local overlay)."""
    copy = image.copy()
    height, width = copy.shape[:2]
    top = int(height * 0.1)
    copy[top : top + int(height * 0.15)] = (30, 30, 200)
    cv2.putText(
        copy, "SALE -50%", (10, top + int(height * 0.12)), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3
    )
    return copy


def _variant(image: np.ndarray, seed: int) -> np.ndarray:
    """The same frame with most of the drawing re-done (only an outer ring is kept)."""
    variant = image.copy()
    height, width = variant.shape[:2]
    other = product_image(seed, (width, height))
    y0, y1, x0, x1 = int(height * 0.15), int(height * 0.85), int(width * 0.15), int(width * 0.85)
    variant[y0:y1, x0:x1] = other[y0:y1, x0:x1]
    return variant


def test_thumbnail_packs_and_unpacks_losslessly() -> None:
    image = product_image(3, (301, 200))  # odd pixel count
    thumbnail = make_thumbnail(image)
    assert thumbnail.shape[::-1] == thumbnail_size(301, 200)
    assert max(thumbnail.shape) == 64
    packed = pack(thumbnail)
    assert packed.nbytes == (thumbnail.size + 1) // 2
    assert np.array_equal(unpack(packed, *thumbnail_size(301, 200)), thumbnail)


def test_scaled_and_shifted_copy_agrees() -> None:
    original = product_image(1)
    height, width = original.shape[:2]
    # Query: the original at 0.6 scale pasted at (40, 30) on a grey canvas.
    small = cv2.resize(original, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    query = np.full((400, 400, 3), 128, np.uint8)
    query[30 : 30 + small.shape[0], 40 : 40 + small.shape[1]] = small
    homography = np.array([[0.6, 0, 40], [0, 0.6, 30], [0, 0, 1]], np.float64)
    assert agreement(make_thumbnail(original), query, homography, (width, height)) >= 0.85


def test_local_overlay_keeps_agreement_but_a_redrawn_variant_loses_it() -> None:
    original = product_image(2)
    size = (original.shape[1], original.shape[0])
    thumbnail = make_thumbnail(original)
    with_banner = agreement(thumbnail, _banner(original), IDENTITY, size)
    redrawn = agreement(thumbnail, _variant(original, 77), IDENTITY, size)
    # The banner covers ~15 % of the image (plus its own edges); the variant re-draws ~50 %.
    assert with_banner >= 0.6
    assert redrawn <= 0.45
    assert with_banner - redrawn >= 0.2


def test_a_sticker_on_the_originals_blank_background_is_held_against_a_copy_only_for_ranking() -> None:
    """A thin drawing (a sword) with a wide white margin: a price sticker pasted on the margin
    adds structure where the original has none. Over the blocks where the original is drawn the
    copy agrees everywhere (the score's measure); over the blocks where either is drawn it does
    not (the ranking's). A sticker over the drawing itself costs the blocks it hides."""
    original = np.full((400, 400, 3), 255, np.uint8)
    cv2.line(original, (40, 300), (360, 300), (40, 40, 40), 6)
    cv2.rectangle(original, (60, 290), (90, 310), (20, 120, 200), -1)
    cv2.line(original, (120, 296), (350, 296), (200, 200, 200), 2)
    size = (400, 400)
    thumbnail = make_thumbnail(original)

    def sticker(centre: tuple[int, int]) -> np.ndarray:
        copy = original.copy()
        cv2.ellipse(copy, centre, (90, 45), 0, 0, 360, (40, 40, 220), -1)
        cv2.putText(
            copy,
            "$85.30",
            (centre[0] - 75, centre[1] + 15),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.3,
            (255, 255, 255),
            3,
        )
        return copy

    both, drawn = agreements(thumbnail, sticker((200, 120)), IDENTITY, size)
    assert drawn >= 0.95 and both < 0.8
    assert agreements(thumbnail, sticker((200, 300)), IDENTITY, size)[1] < 0.9
    assert agreements(thumbnail, original, IDENTITY, size) == (1.0, 1.0)


def test_misalignment_is_detected() -> None:
    original = product_image(4)
    size = (original.shape[1], original.shape[0])
    shifted = np.array([[1, 0, 25], [0, 1, -20], [0, 0, 1]], np.float64)  # claimed alignment is off
    assert agreement(make_thumbnail(original), original, shifted, size) < agreement(
        make_thumbnail(original), original, IDENTITY, size
    )


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog((f"o{i}", product_image(i)) for i in range(10))


def test_matcher_scores_a_variant_below_a_copy_with_an_overlay(catalog: Catalog) -> None:
    matcher = Matcher(catalog)
    original = product_image(5)
    copy = matcher.match(_banner(original), k=1)[0]
    variant = matcher.match(_variant(original, 91), k=1)[0]
    assert copy.original_id == "o5"
    assert 0.0 <= copy.components["agreement"] <= 1.0
    assert copy.score == pytest.approx(catalog.calibration.score(copy.components["effective_inliers"]))
    # The variant keeps enough of the original's keypoints to match it geometrically...
    assert variant.original_id == "o5" and variant.components["inliers"] >= 20
    # ...but its structure disagrees, so its evidence counts for less.
    assert variant.components["agreement"] <= copy.components["agreement"] - 0.2
    kept = variant.components["effective_inliers"] / variant.components["inliers"]
    assert kept == pytest.approx(variant.components["drawn_agreement"] ** STRUCTURE_WEIGHT)
    assert kept < copy.components["effective_inliers"] / copy.components["inliers"]


def test_thumbnails_survive_save_and_load(catalog: Catalog, tmp_path: Path) -> None:
    catalog.save(tmp_path / "index")
    loaded = Catalog.load(tmp_path / "index")
    for position in range(len(catalog)):
        assert np.array_equal(loaded.thumbnail_of(position), catalog.thumbnail_of(position))


def test_original_added_as_features_has_no_thumbnail_even_after_save_and_load(
    catalog: Catalog, tmp_path: Path
) -> None:
    extra = catalog.with_extra_features(
        [
            (
                "feat-only",
                catalog.descriptors_of(3),
                catalog.points[catalog.offsets[3] : catalog.offsets[4]],
                (400, 480),
            )
        ]
    )
    extra.save(tmp_path / "extra")
    loaded = Catalog.load(tmp_path / "extra")
    assert loaded.thumbnail_of(len(loaded) - 1) is None
    assert np.array_equal(loaded.thumbnail_of(3), catalog.thumbnail_of(3))


def test_a_format_2_index_still_loads(catalog: Catalog, tmp_path: Path) -> None:
    """Format 3 only stretches faint thumbnails before storing them; format-2 thumbnails still work."""
    catalog.save(tmp_path / "index")
    assert json.loads((tmp_path / "index" / "meta.json").read_text())["format"] == FORMAT_VERSION
    rewrite_as_format(catalog, tmp_path / "index", 2)
    loaded = Catalog.load(tmp_path / "index")
    assert np.array_equal(loaded.thumbnail_of(2), catalog.thumbnail_of(2))


def test_older_format_is_refused_with_a_rebuild_hint(catalog: Catalog, tmp_path: Path) -> None:
    catalog.save(tmp_path / "index")
    meta_path = tmp_path / "index" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["format"] = 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="rebuild"):
        Catalog.load(tmp_path / "index")


def _plain_board(seed: int) -> np.ndarray:
    """A nearly textureless product: a framed board on white (too few corners for ORB)."""
    rng = np.random.default_rng(seed)
    image = np.full((480, 400, 3), 250, np.uint8)
    colour = tuple(int(c) for c in rng.integers(40, 200, 3))
    top, left = int(rng.integers(30, 90)), int(rng.integers(30, 90))
    cv2.rectangle(image, (left, top), (400 - left, 480 - 40), colour, int(rng.integers(4, 12)))
    return image


def test_strip_similarity_finds_the_original_of_a_full_width_strip() -> None:
    originals = [_plain_board(seed) for seed in range(6)]
    strip = originals[2][240:].copy()  # the seed's bottom strip
    scores = [strip_similarity(make_thumbnail(o), strip) for o in originals]
    assert int(np.argmax(scores)) == 2 and scores[2] > 0.9
    blank = np.full((120, 400, 3), 250, np.uint8)
    assert strip_similarity(make_thumbnail(originals[0]), blank) == -1.0  # a blank strip proves nothing


def test_feature_poor_strip_is_ranked_first_by_the_strip_fallback() -> None:
    boards = build_catalog((f"b{i}", _plain_board(i)) for i in range(8))
    matcher = Matcher(boards)
    strip = _plain_board(5)[240:].copy()
    top = matcher.match(strip, k=3)[0]
    assert top.original_id == "b5"
    assert top.components["strip_similarity"] > 0.9  # the features alone do not find it
    # Off, the ranking is the features' alone, and no score moves: the fallback only reorders.
    plain = Matcher(boards, strip_fallback=False).match(strip, k=3)
    assert all("strip_similarity" not in m.components for m in plain)
    assert {(m.original_id, m.score) for m in plain if m.score > 0} <= {
        (m.original_id, m.score) for m in matcher.match(strip, k=8)
    }


@pytest.mark.parametrize("size", [(37, 51), (90, 120), (150, 200), (250, 333)])
def test_area_pyramid_reduces_like_one_area_resize_and_maps_points(size: tuple[int, int]) -> None:
    from detection.verify import AreaPyramid

    image = cv2.cvtColor(product_image(4, (384, 512)), cv2.COLOR_BGR2GRAY)
    reduced, mapping = AreaPyramid(image).reduced(size)
    direct = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    assert reduced.shape[::-1] == size
    correlation = np.corrcoef(reduced.ravel().astype(np.float64), direct.ravel().astype(np.float64))[0, 1]
    assert correlation > 0.97

    # A bright dot lands where the returned map says it does.
    dot = np.zeros_like(image)
    dot[300:308, 200:208] = 255  # centre (203.5, 303.5)
    moved, mapping = AreaPyramid(dot).reduced(size)
    ys, xs = np.nonzero(moved)
    weights = moved[ys, xs].astype(np.float64)
    centre = np.array([np.average(xs, weights=weights), np.average(ys, weights=weights)])
    expected = (mapping @ np.array([203.5, 303.5, 1.0]))[:2]
    np.testing.assert_allclose(centre, expected, atol=0.35)


def _faint_map(seed: int) -> np.ndarray:
    """Line art a few grey levels deep: thin light-grey borders on off-white, like a map."""
    rng = np.random.default_rng(seed)
    image = np.full((480, 400, 3), 252, np.uint8)
    for _ in range(40):
        points = rng.integers(10, [390, 470], size=(4, 2)).astype(np.int32)
        cv2.polylines(image, [points], False, (236, 236, 236), 2, cv2.LINE_AA)
    return image


@pytest.mark.parametrize("seed", range(4))
def test_a_strip_of_a_faint_drawing_agrees_with_its_original(seed: int) -> None:
    original = _faint_map(seed)
    strip = original[120:360]  # the seed's middle strip: full width, half the height
    query = cv2.resize(strip, None, fx=1.2, fy=1.2, interpolation=cv2.INTER_LINEAR)
    ok, encoded = cv2.imencode(".jpg", query, [cv2.IMWRITE_JPEG_QUALITY, 88])
    query = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    homography = np.array([[1.2, 0, 0], [0, 1.2, -120 * 1.2], [0, 0, 1]], np.float64)
    assert agreement(make_thumbnail(original), query, homography, (400, 480)) >= 0.8
    # ... while a different faint drawing of the same style still disagrees.
    assert agreement(make_thumbnail(_faint_map(seed + 100)), query, homography, (400, 480)) < 0.5


def _two_tone(dark: int, light: int) -> np.ndarray:
    """Nested shapes in two greys on white: which edges are strong depends on the two tones."""
    image = np.full((400, 400, 3), 255, np.uint8)
    for i in range(4):
        x, y = 30 + 90 * i, 40 + 80 * (i % 2)
        cv2.rectangle(image, (x, y), (x + 70, y + 230), (dark, dark, dark), -1)
        cv2.circle(image, (x + 35, y + 115), 24, (light, light, light), -1)
        cv2.line(image, (x + 5, y + 250), (x + 65, y + 300), (light, light, light), 5)
    return image


def test_a_recolouring_that_changes_which_edges_are_strong_still_agrees_where_drawn() -> None:
    """Tones swapped (dark shapes turned light, light details dark): every edge stays where it
    was and runs the same way, only its strength changes. The score's measure agrees; a
    re-drawn variant still does not."""
    original = _two_tone(dark=70, light=215)
    size = (400, 400)
    thumbnail = make_thumbnail(original)
    both, drawn = agreements(thumbnail, _two_tone(dark=215, light=70), IDENTITY, size)
    assert drawn >= 0.9 and drawn > both
    assert agreements(thumbnail, _variant(original, 77), IDENTITY, size)[1] <= 0.5


def _line_drawing(seed: int) -> np.ndarray:
    """Outlined shapes inside a frame, on a white margin (a clip-art drawing)."""
    rng = np.random.default_rng(seed)
    image = np.full((400, 400, 3), 255, np.uint8)
    for _ in range(12):
        colour = tuple(int(v) for v in rng.integers(0, 160, 3))
        x, y = int(rng.integers(110, 290)), int(rng.integers(110, 290))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.circle(image, (x, y), int(rng.integers(10, 40)), colour, 3)
        elif kind == 1:
            cv2.rectangle(image, (x - 30, y - 20), (x + 30, y + 20), colour, 3)
        else:
            cv2.line(image, (x - 40, y), (x + 40, y + int(rng.integers(-40, 40))), colour, 4)
    cv2.rectangle(image, (100, 100), (300, 300), (60, 60, 60), 4)
    return image


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_price_sticker_over_the_drawings_edge_is_discounted_but_a_redrawn_part_is_not(seed: int) -> None:
    """A price sticker laid over a corner of the drawing and the margin beside it hides the
    drawing's blocks under its plate: left out of the score's measure, every other drawn block
    agrees. The same corner redrawn in the drawing's own way (another drawing's strokes, no
    plate, no lettering) still disagrees there."""
    original = _line_drawing(seed)
    size = (400, 400)
    thumbnail = make_thumbnail(original)
    copy = original.copy()
    cv2.ellipse(copy, (110, 130), (80, 40), 0, 0, 360, (40, 40, 220), -1)
    cv2.putText(copy, "$9.99", (48, 144), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (255, 255, 255), 3)
    variant = original.copy()
    variant[100:200, 100:220] = _line_drawing(50 + seed)[100:200, 100:220]
    assert agreements(thumbnail, copy, IDENTITY, size)[1] >= 0.9
    assert agreements(thumbnail, variant, IDENTITY, size)[1] < 0.9


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_a_caption_redrawn_in_bolder_ink_is_not_taken_for_an_overlay(seed: int) -> None:
    """Other words where the original's grey caption was, in heavier black strokes: far stronger
    edges than the original's there, but only where the original is drawn. An overlay reaches
    past the drawing; this is the drawing redrawn, and its disagreement counts."""
    base = _line_drawing(seed)
    original, variant = base.copy(), base.copy()
    cv2.putText(original, "ONE", (110, 280), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (190, 190, 190), 2)
    cv2.putText(variant, "TWO", (110, 280), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 5)
    assert agreements(make_thumbnail(original), variant, IDENTITY, (400, 400))[1] < 0.9
