"""ORB features: the mirrored view reuses the plain detection and still describes the flipped image."""

from __future__ import annotations

import cv2
import numpy as np

from detection import features
from detection.features import FeatureExtractor, repeated
from tests.support.images import product_image


def test_mirrored_detection_describes_the_flipped_image() -> None:
    image = product_image(3)
    extractor = FeatureExtractor(300)
    detected = extractor.detect(image)
    reused = extractor.describe(detected.mirrored())
    fresh = extractor.extract(cv2.flip(image, 1))

    # Positions are the plain keypoints reflected, in the input image's pixels.
    plain = extractor.describe(detected)
    assert len(reused) == len(plain) > 100
    width = image.shape[1]
    np.testing.assert_allclose(reused.points[:, 0], width - 1 - plain.points[:, 0], atol=0.6)
    np.testing.assert_allclose(reused.points[:, 1], plain.points[:, 1], atol=1e-3)

    # Most of them carry the very descriptor a fresh extraction of the flipped image finds there.
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(reused.descriptors, fresh.descriptors)
    same = [
        m
        for m in matches
        if m.distance <= 8 and np.linalg.norm(reused.points[m.queryIdx] - fresh.points[m.trainIdx]) < 1.5
    ]
    assert len(same) >= 0.5 * len(reused)
    # Not the unflipped descriptors: those would not match the flipped image at these places.
    unflipped = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(plain.descriptors, fresh.descriptors)
    assert sum(m.distance <= 8 for m in unflipped) < 0.2 * len(plain)


def test_described_selection_is_what_orb_computes_for_it() -> None:
    """The pool is described with the detection; the spread selection's descriptors and order must
    be exactly those ORB's own ``compute`` gives for it (the catalog and queries must agree)."""
    image = product_image(5)
    extractor = FeatureExtractor(300)
    detected = extractor.detect(image)
    features = extractor.describe(detected)
    keypoints, descriptors = extractor._orb.compute(detected.work, list(detected.keypoints))

    assert len(features) == len(keypoints) == 300
    assert np.array_equal(features.descriptors, descriptors)
    assert [kp.pt for kp in keypoints] == [kp.pt for kp in detected.keypoints]


def _tiled_text_with_a_patch() -> np.ndarray:
    """A light image tiled with one word (a watermark's pattern) and one unique textured patch."""
    image = np.full((480, 480), 235, np.uint8)
    for y in range(20, 480, 40):
        for x in range(-40, 480, 150):
            cv2.putText(image, "SHOP", (x + (y // 40) % 2 * 60, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 120, 2)
    texture = np.random.default_rng(3).integers(0, 255, (20, 20), dtype=np.uint8)
    image[180:300, 180:300] = cv2.resize(texture, (120, 120), interpolation=cv2.INTER_NEAREST)
    return image


def test_distinctive_extraction_leaves_a_repeated_pattern_out() -> None:
    image = _tiled_text_with_a_patch()

    def share_on_patch(detected) -> float:  # noqa: ANN001 - a Detected
        return float(np.mean([180 <= kp.pt[0] < 300 and 180 <= kp.pt[1] < 300 for kp in detected.keypoints]))

    plain = FeatureExtractor(200).detect(image)
    distinctive = FeatureExtractor(200, pool=1500, distinctive=True).detect(image)

    assert len(distinctive.keypoints) == 200
    octaves = np.array([kp.octave for kp in distinctive.pool])
    assert repeated(distinctive.pool_descriptors, octaves).mean() > 0.4  # the tiled word's corners
    assert not repeated(distinctive.pool_descriptors, octaves)[distinctive.chosen].any()
    # Comparing each descriptor with its own and the neighbouring pyramid levels only finds
    # nearly every repeat that comparing all pairs finds.
    everywhere = repeated(distinctive.pool_descriptors)
    beside = repeated(distinctive.pool_descriptors, octaves)
    assert not (beside & ~everywhere).any()
    assert beside.sum() >= 0.9 * everywhere.sum()
    # The patch is a sixteenth of the image: the plain spread gives it a few of its cells' share,
    # the distinctive one nearly everything.
    assert share_on_patch(plain) < 0.5 < 0.9 < share_on_patch(distinctive)


def test_repeats_count_only_within_neighbouring_levels() -> None:
    code = np.random.default_rng(8).integers(0, 255, (1, 32), dtype=np.uint8)
    copies = np.repeat(code, 4, axis=0)  # four identical descriptors: each has three twins
    assert repeated(copies).all()
    assert repeated(copies, np.array([2, 2, 3, 2])).all()
    assert not repeated(copies, np.array([0, 0, 3, 3])).any()  # two levels apart


def test_nothing_repeats_in_noise_or_an_empty_set() -> None:
    noise = np.random.default_rng(5).integers(0, 255, (300, 32), dtype=np.uint8)
    assert not repeated(noise).any()
    assert repeated(np.zeros((0, 32), np.uint8)).shape == (0,)


def test_a_detection_at_the_same_side_lends_its_working_frame(monkeypatch) -> None:
    """The dense look reads the frame the plain pass resized: the same keypoints and descriptors,
    one resize of the listing fewer; an extractor of another side still resizes on its own."""
    image = cv2.resize(product_image(2), (900, 700), interpolation=cv2.INTER_LINEAR)
    plain = FeatureExtractor(400).detect(image)
    dense = FeatureExtractor(1000, pool=3000, grid=8, distinctive=True)
    fresh = dense.detect(image)

    def no_resize(*_: object) -> None:
        raise AssertionError("resized again")

    with monkeypatch.context() as patched:
        patched.setattr(features, "normalised", no_resize)
        reused = dense.detect(image, plain)
    assert reused.work is plain.work and reused.scale == fresh.scale
    np.testing.assert_array_equal(reused.chosen, fresh.chosen)
    np.testing.assert_array_equal(dense.describe(reused).descriptors, dense.describe(fresh).descriptors)
    assert max(FeatureExtractor(400, side=960).detect(image, plain).work.shape) == 960
