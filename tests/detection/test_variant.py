"""Copy or variant: drawn pairs (a letter swapped, a part added) are variants, with the region
where they differ; a copy under a sticker, a banner or a watermark stays a copy."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection import augment
from detection.drawn import textured_photo
from detection.matching import Matcher, build_catalog
from detection.matching.variant import COPY, compare, prepare
from tests.support.images import add_arrow, sale_banner, steal, with_sticker

SIDE = 320
# Drawings whose swapped letter changes enough of the drawing to be seen at the comparison's
# size (about half of random swaps do: docs/benchmarks.md), and drawings for the overlays.
SEEDS = (2, 3, 4, 6)
OVERLAID = (0, 1, 2, 3)


@pytest.fixture(scope="module")
def originals() -> dict[str, np.ndarray]:
    return {f"o{i}": textured_photo(i, SIDE) for i in range(8)}


@pytest.fixture(scope="module")
def matcher(originals: dict[str, np.ndarray]) -> Matcher:
    return Matcher(build_catalog(originals.items()))


def _difference(matcher: Matcher, originals: dict[str, np.ndarray], seed: int, listing: np.ndarray):
    best = matcher.match(listing, 1)[0]
    assert best.original_id == f"o{seed}" and best.homography is not None
    return compare(originals[best.original_id], (SIDE, SIDE), listing, best.homography)


def _inside(point: tuple[float, float], box: tuple[float, float, float, float] | None, margin: float) -> bool:
    assert box is not None
    x, y = point
    return box[0] - margin <= x <= box[2] + margin and box[1] - margin <= y <= box[3] + margin


@pytest.mark.parametrize("seed", SEEDS)
def test_a_letter_swapped_is_a_variant_and_the_region_is_on_the_letter(matcher, originals, seed: int) -> None:
    word, letter = seed % 4, seed % 5
    drawn = textured_photo(seed, SIDE, swap_letter=(word, letter))
    changed = np.nonzero(np.abs(drawn.astype(int) - originals[f"o{seed}"]).max(axis=2))
    centre = (float(changed[1].mean()), float(changed[0].mean()))
    difference = _difference(matcher, originals, seed, steal(drawn))
    assert difference.is_variant
    assert _inside(centre, difference.region_original, margin=12)
    # The same place in the listing (steal: cropped by 1/12 and 1/10, enlarged 1.3 times).
    in_listing = ((centre[0] - SIDE // 12) * 1.3, (centre[1] - SIDE // 10) * 1.3)
    assert _inside(in_listing, difference.region_query, margin=16)
    assert 0 < difference.share < 0.05


@pytest.mark.parametrize("seed", SEEDS)
def test_a_part_added_is_a_variant_with_its_region(matcher, originals, seed: int) -> None:
    drawn, centre = add_arrow(originals[f"o{seed}"], seed)
    difference = _difference(matcher, originals, seed, steal(drawn))
    assert difference.is_variant
    assert _inside(centre, difference.region_original, margin=4)


OVERLAYS = {
    "sticker": lambda image, seed: with_sticker(image, seed),
    "banner": lambda image, seed: sale_banner(image),
    "watermark": lambda image, seed: augment.watermark(image, np.random.default_rng(seed)),
    "rotated watermark": lambda image, seed: augment.text_overlay(image, np.random.default_rng(2)),
}


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("seed", OVERLAID)
def test_a_copy_under_an_overlay_is_not_a_variant(matcher, originals, overlay: str, seed: int) -> None:
    listing = steal(OVERLAYS[overlay](originals[f"o{seed}"], seed))
    assert not _difference(matcher, originals, seed, listing).is_variant


@pytest.mark.parametrize("seed", SEEDS)
def test_a_plain_or_recoloured_copy_is_a_copy(matcher, originals, seed: int) -> None:
    original = originals[f"o{seed}"]
    grey = cv2.cvtColor(cv2.cvtColor(original, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    for listing in (steal(original), steal(grey)):
        difference = _difference(matcher, originals, seed, listing)
        assert difference.label == "copy" and difference.region_query is None


def test_prepared_original_gives_the_same_verdict(matcher, originals) -> None:
    drawn, _ = add_arrow(originals["o3"], 3)
    listing = steal(drawn)
    best = matcher.match(listing, 1)[0]
    plain = compare(originals["o3"], (SIDE, SIDE), listing, best.homography)
    # A reduced decode of the original, prepared once, stands in for the full-size pixels.
    half = cv2.resize(originals["o3"], (SIDE // 2, SIDE // 2), interpolation=cv2.INTER_AREA)
    prepared = compare(prepare(half, (SIDE, SIDE)), (SIDE, SIDE), listing, best.homography)
    assert plain.is_variant and prepared.is_variant


def test_a_match_covering_too_little_of_the_original_gets_no_verdict(originals) -> None:
    # The listing shows a sliver of the original: nothing to judge a variant on.
    homography = np.array([[1.0, 0, -300.0], [0, 1.0, 0], [0, 0, 1.0]])
    assert compare(originals["o1"], (SIDE, SIDE), originals["o1"][:, :30], homography) == COPY


def test_a_degenerate_alignment_is_a_clear_error(originals) -> None:
    with pytest.raises(ValueError, match="invertible"):
        compare(originals["o1"], (SIDE, SIDE), originals["o1"], np.zeros((3, 3)))
