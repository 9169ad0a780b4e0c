"""ORB features: the mirrored view reuses the plain detection and still describes the flipped image."""

from __future__ import annotations

import cv2
import numpy as np

from detection.features import FeatureExtractor
from tests.detection.drawing import product_image


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


def test_a_denser_spread_less_the_plain_one_holds_only_new_keypoints() -> None:
    image = product_image(6)
    extractor = FeatureExtractor(200)
    detected = extractor.detect(image)
    dense = detected.respread(600, 8)
    extra = dense.without(detected)

    plain_points = {kp.pt for kp in detected.keypoints}
    extra_points = {kp.pt for kp in extra.keypoints}
    assert len(dense.keypoints) == 600
    assert extra_points and not extra_points & plain_points
    assert extra_points | (plain_points & {kp.pt for kp in dense.keypoints}) == {
        kp.pt for kp in dense.keypoints
    }
    # Described from the pool: the same as describing those keypoints afresh.
    _, fresh = extractor._orb.compute(extra.work, list(extra.keypoints))
    assert np.array_equal(extractor.describe(extra).descriptors, fresh)
