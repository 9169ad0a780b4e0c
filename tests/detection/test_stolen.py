import numpy as np
import pytest

from detection.stolen import STRIP_DIVISOR, STRIPS_PER_ORIGINAL, epoch_pairs, stolen_strips, strip_rows


def test_seed_parameters():
    assert (STRIP_DIVISOR, STRIPS_PER_ORIGINAL) == (2, 3)


def test_strips_start_at_0_quarter_and_half_and_are_half_high():
    assert strip_rows(400) == [(0, 200), (100, 300), (200, 400)]
    rows = strip_rows(401)
    assert [stop - start for start, stop in rows] == [200, 200, 200]
    assert rows[0][0] == 0 and rows[1][0] == 100 and rows[2] == (200, 400)
    with pytest.raises(ValueError):
        strip_rows(1)


def test_strips_are_full_width_copies_of_the_rows():
    image = np.arange(120 * 50 * 3, dtype=np.uint32).reshape(120, 50, 3).astype(np.uint8)
    strips = stolen_strips(image)
    assert len(strips) == 3
    for strip, start in zip(strips, (0, 30, 60), strict=True):
        assert strip.shape == (60, 50, 3)
        assert np.array_equal(strip, image[start : start + 60])
    strips[0][:] = 0
    assert image[0].any()  # copies, not views


@pytest.mark.parametrize(("n", "batch"), [(10, 4), (7, 2), (5, 100), (2, 2)])
def test_epoch_is_half_positive_half_negative_and_negatives_are_other_originals(n, batch):
    batches = list(epoch_pairs(n, batch, np.random.default_rng(3)))
    originals = np.concatenate([b.originals for b in batches])
    owners = np.concatenate([b.strip_owners for b in batches])
    numbers = np.concatenate([b.strip_numbers for b in batches])
    labels = np.concatenate([b.labels for b in batches])
    assert labels.sum() * 2 == len(labels)
    assert np.array_equal(labels == 1, originals == owners)  # label 1 exactly when it is its own strip
    assert set(numbers) <= {0, 1, 2}
    # Every original meets each of its three strips as a positive.
    positives = {(int(o), int(s)) for o, s, y in zip(originals, numbers, labels, strict=True) if y == 1}
    assert {(o, s) for o in range(n) for s in range(3)} <= positives


def test_epochs_are_reproducible_and_need_two_originals():
    first = [b.strip_owners.tolist() for b in epoch_pairs(9, 3, np.random.default_rng(1))]
    again = [b.strip_owners.tolist() for b in epoch_pairs(9, 3, np.random.default_rng(1))]
    assert first == again
    with pytest.raises(ValueError):
        list(epoch_pairs(1, 4, np.random.default_rng(0)))
