"""The score calibration: monotone, bounded, and meaning what it says on its own null."""

from __future__ import annotations

import numpy as np
import pytest

from detection.calibration import Calibration


@pytest.fixture
def calibration() -> Calibration:
    rng = np.random.default_rng(0)
    return Calibration.fit(rng.poisson(4, size=400).astype(float))


def test_score_is_monotone_and_bounded(calibration: Calibration) -> None:
    scores = [calibration.score(x) for x in range(0, 300)]
    assert all(0.0 <= s < 1.0 for s in scores)
    assert all(b >= a for a, b in zip(scores, scores[1:], strict=False))
    assert scores[-1] > scores[20] > scores[8]  # keeps ranking strong evidence, never saturates


def test_threshold_means_its_false_alarm_rate_on_the_null(calibration: Calibration) -> None:
    rng = np.random.default_rng(1)
    fresh_null = rng.poisson(4, size=20000)
    for rate in (0.1, 0.01):
        threshold = Calibration.threshold_for_rate(rate)
        observed = np.mean([calibration.score(x) >= threshold for x in fresh_null])
        # Within a factor of ~3 of the promise (the tail is extrapolated from q80–q90).
        assert observed <= rate * 3


def test_threshold_for_rate_inverts_the_score_map() -> None:
    assert Calibration.threshold_for_rate(0.01) == pytest.approx(1 - 0.01**0.25)
    with pytest.raises(ValueError, match="rate must be in"):
        Calibration.threshold_for_rate(0)


def test_zero_inliers_scores_zero_and_round_trips(calibration: Calibration) -> None:
    assert calibration.score(0) == 0.0
    assert Calibration.from_dict(calibration.to_dict()) == calibration


def test_outliers_in_the_null_do_not_inflate_the_tail() -> None:
    clean = Calibration.fit([2.0] * 80 + [4.0] * 10 + [6.0] * 10)
    with_variants = Calibration.fit([2.0] * 80 + [4.0] * 10 + [6.0] * 7 + [90.0, 110.0, 130.0])
    assert with_variants.score(40) == pytest.approx(clean.score(40), abs=0.05)


def test_build_measures_the_null_with_the_matchers_own_pipeline() -> None:
    from detection.matching import Matcher, build_catalog
    from tests.support.images import product_image

    images = [(f"o{i}", product_image(i)) for i in range(12)]
    catalog = build_catalog(images)
    matcher = Matcher(catalog)
    # The null holds, for sampled originals, the best evidence a listing image showing that
    # original gets from the *other* originals — exactly what the matcher itself reports.
    expected = sorted(matcher.best_other_evidence(image, exclude=oid) for oid, image in images)
    # (Evidence is in inliers. OpenCV's RANSAC draws from a generator whose state moves on with every
    # call, so a chance candidate's near-zero inliers x agreement^4 can differ in the fifth decimal.)
    assert list(catalog.calibration.sorted_null) == pytest.approx(expected, abs=1e-3)
    # An original duplicated under another id is a copy, not chance: its evidence dwarfs the rest.
    duplicated = build_catalog([*images, ("copy-of-o3", images[3][1])])
    assert max(duplicated.calibration.sorted_null) > 5 * max(expected)
