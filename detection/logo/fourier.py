"""Step 3 of the seed: contour features from the chain code.

- Perimeter: even codes are unit steps, odd codes diagonal (√2).
- Shape complexity (the seed's equations 5–9): the Fourier descriptors ``c(n)`` of the contour
  ``z = x + iy``, without ``c(0)`` (position), give ``P_n = |c(n)|² / Σ|c(k)|²`` and
  ``G(T) = -Σ P_n log P_n``. A circle puts its energy in one coefficient (G near 0); a star or
  text spreads it (G large).
"""

from __future__ import annotations

import math

import numpy as np

from detection.logo.chaincode import ChainCode


def perimeter(chain: ChainCode) -> float:
    odd = sum(code % 2 for code in chain.codes)
    return (len(chain.codes) - odd) + odd * math.sqrt(2.0)


def complexity(points: np.ndarray) -> float:
    """``G(T)`` of a closed contour given as (x, y) points in order."""
    if len(points) < 4:
        return 0.0
    z = points[:, 0].astype(np.float64) + 1j * points[:, 1].astype(np.float64)
    c = np.fft.fft(z) / len(z)
    power = np.abs(c[1:]) ** 2
    total = power.sum()
    if total <= 0:
        return 0.0
    p = power[power > 0] / total
    return float(-(p * np.log(p)).sum())
