"""Step 5 of the seed: the x-histogram of edges in the band and the seven positions.

The logo's offset is the signed distance of its centre from the product's centre line, as a
fraction of the product's width at the band (−0.5 … 0.5, negative = left). The seven positions
are equal bins of width 1/7 around the centre: CM for |offset| < 1/14, then S(light), C(lear) and
M(ost) on each side (LS/RS up to 3/14, LC/RC up to 5/14, LM/RM beyond).
"""

from __future__ import annotations

import numpy as np

POSITIONS = ("LM", "LC", "LS", "CM", "RS", "RC", "RM")
BIN = 1.0 / 7.0


def classify_offset(offset: float) -> str:
    """The seed's position class of a signed offset (fraction of the product's width)."""
    index = int(np.floor(offset / BIN + 0.5)) + 3
    return POSITIONS[min(max(index, 0), 6)]


def offset_range(position: str) -> tuple[float, float]:
    """The offsets classified as ``position`` (the outermost bins are open-ended up to ±0.5)."""
    index = POSITIONS.index(position) - 3
    low, high = (index - 0.5) * BIN, (index + 0.5) * BIN
    return (max(low, -0.5), min(high, 0.5))


def edge_histogram(edges: np.ndarray, band: tuple[int, int], x0: int, x1: int) -> np.ndarray:
    return edges[band[0] : band[1], x0:x1].sum(axis=0).astype(np.float64)


def logo_span(histogram: np.ndarray, min_mass: float = 6.0) -> tuple[int, int, float] | None:
    """The columns of the densest run of edges: (start, stop, share of all band edges in it)."""
    if histogram.sum() < min_mass:
        return None
    width = max(3, len(histogram) // 30)
    smooth = np.convolve(histogram, np.ones(width) / width, mode="same")
    peak = int(np.argmax(smooth))
    level = smooth[peak] * 0.2
    start = peak
    while start > 0 and smooth[start - 1] > level:
        start -= 1
    stop = peak
    while stop < len(smooth) - 1 and smooth[stop + 1] > level:
        stop += 1
    share = float(histogram[start : stop + 1].sum() / histogram.sum())
    return start, stop + 1, share
