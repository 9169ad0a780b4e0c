"""Step 1 of the seed: Sobel edges with the seed's masks and two thresholds.

With the 3x3 neighbourhood ``a b c / d e f / g h i`` the seed defines
``S_x = |c + 2f + i| - |a + 2d + g|`` and ``S_y = |a + 2b + c| - |g + 2h + i|``; the edge
strength is ``|S_x| + |S_y|``. ``T_s`` marks edge pixels; the stricter ``T_0`` marks the pixels
from which contours are started (found by raster scan).
"""

from __future__ import annotations

import cv2
import numpy as np

# Sums of the right/left columns and top/bottom rows of the 3x3 neighbourhood.
_RIGHT = np.array([[0, 0, 1], [0, 0, 2], [0, 0, 1]], np.float32)
_LEFT = _RIGHT[:, ::-1].copy()
_TOP = np.array([[1, 2, 1], [0, 0, 0], [0, 0, 0]], np.float32)
_BOTTOM = _TOP[::-1, :].copy()


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def sobel_strength(gray: np.ndarray) -> np.ndarray:
    """``|S_x| + |S_y|`` with the seed's masks (float32, same size as ``gray``)."""
    if gray.dtype == np.uint8:
        # Pixels are never negative, so |right| - |left| is right - left: OpenCV's 3x3 Sobel
        # derivative, summed exactly in 16-bit integers (the same values, several times faster).
        s_x = np.abs(cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3))
        s_y = np.abs(cv2.Sobel(gray, cv2.CV_16S, 0, 1, ksize=3))
        return (s_x + s_y).astype(np.float32)
    g = gray.astype(np.float32)
    s_x = np.abs(cv2.filter2D(g, -1, _RIGHT)) - np.abs(cv2.filter2D(g, -1, _LEFT))
    s_y = np.abs(cv2.filter2D(g, -1, _TOP)) - np.abs(cv2.filter2D(g, -1, _BOTTOM))
    return np.abs(s_x) + np.abs(s_y)


def colour_strength(image: np.ndarray) -> np.ndarray:
    """The seed's strength on each colour channel, the strongest kept: a logo printed in a colour of
    the same brightness as the product (magenta on green) has no edge in grayscale."""
    if image.ndim == 2:
        return sobel_strength(image)
    channels = [sobel_strength(image[:, :, c]) for c in range(3)]
    return np.maximum(np.maximum(channels[0], channels[1]), channels[2])


def edge_mask(strength: np.ndarray, t_s: float) -> np.ndarray:
    """Edge pixels: strength above ``T_s``."""
    return strength > t_s


def start_points(strength: np.ndarray, t_0: float) -> list[tuple[int, int]]:
    """Contour start points in raster order (row by row): strength above ``T_0``."""
    ys, xs = np.nonzero(strength > t_0)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def auto_thresholds(strength: np.ndarray) -> tuple[float, float]:
    """``(T_s, T_0)`` from the image itself, so lighting and contrast do not need tuning."""
    positive = strength[strength > 1][::7]  # a sample is plenty for percentiles, and much faster
    if positive.size == 0:
        return 1e9, 1e9
    # Flat product surfaces are most of the band: their noise sets the 90th percentile's scale.
    t_s = max(60.0, 3.0 * float(np.percentile(positive, 50)), float(np.percentile(positive, 75)))
    return t_s, t_s * 2.0
