"""The seed's stolen-image generation and its pair sampler.

A stolen image is a crop of the original at full width and ``1/p`` of its height with ``p = 2``;
``t = 3`` crops per original start at rows ``0``, ``h/4`` and ``h/2`` (top, middle, bottom strips).
Training pairs are (original, its own crop) labelled 1 and (original, another original's crop)
labelled 0, half of each in every epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

#: The seed's crop height divisor (a stolen strip is ``h / p`` high) and crops per original.
STRIP_DIVISOR = 2
STRIPS_PER_ORIGINAL = 3


def strip_rows(height: int) -> list[tuple[int, int]]:
    """Row ranges ``(start, stop)`` of the seed's three strips of an image ``height`` rows high.

    Args:
        height: image height in pixels (at least 2).

    Returns:
        ``[(0, h/2), (h/4, 3h/4), (h/2, h)]`` with integer rows, each ``h // 2`` rows high.
    """
    if height < STRIP_DIVISOR:
        raise ValueError(f"image too short for half-height strips: {height} rows")
    strip = height // STRIP_DIVISOR
    starts = [0, height // 4, height // 2]
    # The bottom strip ends at the last row even when h is odd.
    return [(min(start, height - strip), min(start, height - strip) + strip) for start in starts]


def stolen_strips(image: np.ndarray) -> list[np.ndarray]:
    """The seed's three stolen crops of ``image``: full width, half height, top/middle/bottom."""
    return [image[start:stop].copy() for start, stop in strip_rows(image.shape[0])]


@dataclass(frozen=True)
class PairBatch:
    """Indices of one batch of training pairs.

    ``originals[i]`` is paired with strip ``strips[i]`` (``(original index, strip number)``);
    ``labels[i]`` is 1 for its own strip and 0 for another original's.
    """

    originals: np.ndarray
    strip_owners: np.ndarray
    strip_numbers: np.ndarray
    labels: np.ndarray


def epoch_pairs(n_originals: int, originals_per_batch: int, rng: np.random.Generator) -> Iterator[PairBatch]:
    """Yield one epoch of pairs, half positive and half negative, in batches.

    Every original is paired with each of its three strips (positives) and with three strips of
    other originals in the same batch (negatives), so a batch of ``B`` originals needs ``4B``
    images through the twin network for ``6B`` pairs.

    Args:
        n_originals: originals in the training split (at least 2).
        originals_per_batch: originals per batch (at least 2, so negatives exist).
        rng: numpy random generator (seeded by the caller).

    Yields:
        :class:`PairBatch` with ``6 * B`` pairs, exactly half labelled 1.
    """
    if n_originals < 2:
        raise ValueError("need at least 2 originals to make negative pairs")
    size = max(2, originals_per_batch)
    order = rng.permutation(n_originals)
    for begin in range(0, n_originals, size):
        batch = order[begin : begin + size]
        if len(batch) < 2:  # a lone original has no negative partner: fold it into a random pair
            batch = np.concatenate([batch, rng.choice(order[:begin], 1)])
        k = len(batch)
        originals, owners, numbers, labels = [], [], [], []
        for strip in range(STRIPS_PER_ORIGINAL):
            # A cyclic shift by 1..k-1 is a derangement: nobody gets their own strip as a negative.
            shift = int(rng.integers(1, k))
            partners = np.roll(batch, shift)
            originals += [batch, batch]
            owners += [batch, partners]
            numbers += [np.full(k, strip), np.full(k, strip)]
            labels += [np.ones(k), np.zeros(k)]
        yield PairBatch(
            np.concatenate(originals),
            np.concatenate(owners),
            np.concatenate(numbers),
            np.concatenate(labels).astype(np.float32),
        )
