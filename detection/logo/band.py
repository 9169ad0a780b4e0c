"""Step 4 of the seed: the product's extent and the logo band.

The seed's equation 11 puts the band at ``[H/3, 2H/3]`` of the object's height ``H`` but omits
``y_min``, which only holds when the object starts at the top row. Here the band is offset:
``[y_min + H/3, y_min + 2H/3]`` with ``H = y_max - y_min``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Extent:
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int  # exclusive

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def centre_x(self) -> float:
        return (self.x0 + self.x1) / 2.0


def colour_distance(image: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Sum over channels of |pixel - colour| (float32), computed with OpenCV for speed."""
    reference = np.empty_like(image)
    reference[:] = np.clip(np.round(colour), 0, 255).astype(np.uint8)
    return cv2.transform(cv2.absdiff(image, reference).astype(np.float32), np.ones((1, 3), np.float32))


def plane_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Column and row coordinates (float32, -0.5 to 0.5) at which the colour planes are drawn."""
    return np.arange(width, dtype=np.float32) / width - 0.5, np.arange(
        height, dtype=np.float32
    ) / height - 0.5


def background_fit(blurred: np.ndarray, strip: int = 4) -> tuple[np.ndarray, float]:
    """The background's colour as a plane per channel fitted to the image's border (float32
    coefficients ``c``, (3, channels): channel k at column ``gx`` and row ``gy`` of
    :func:`plane_grid` is ``gx * c[0, k] + gy * c[1, k] + c[2, k]``), and how much the border
    varies about it (90th percentile).

    Product photos are shot on sweeps whose light falls off across the frame; one median colour
    for the whole border would make the darker side of such a background part of the product.
    The fit is repeated without the border samples it explains worst (a product touching the
    border), so the plane follows the background rather than the product.
    """
    h, w = blurred.shape[:2]
    border_y, border_x = border_pixels(h, w, strip)
    step = max(1, border_y.size // 2000)
    sample_y, sample_x = border_y[::step], border_x[::step]
    colours = blurred[sample_y, sample_x].astype(np.float64)
    design = np.column_stack([sample_x / w - 0.5, sample_y / h - 0.5, np.ones(sample_x.size)])
    keep = np.ones(sample_x.size, bool)
    coefficients = np.zeros((3, colours.shape[1]))
    for _ in range(3):
        coefficients, *_ = np.linalg.lstsq(design[keep], colours[keep], rcond=None)
        residual = np.abs(design @ coefficients - colours).sum(axis=1)
        keep = residual <= max(12.0, float(np.percentile(residual, 70)) * 2.0)
    noise = float(np.percentile(residual[keep], 90)) if keep.any() else 0.0
    return coefficients.astype(np.float32), noise


def border_pixels(height: int, width: int, strip: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels within ``strip`` of an image's edge, in row-major order (as
    ``np.nonzero`` of a border mask gives them, without drawing and scanning the whole mask)."""
    if min(height, width) <= 2 * strip:
        border = np.zeros((height, width), bool)
        border[:strip], border[-strip:], border[:, :strip], border[:, -strip:] = True, True, True, True
        rows, columns = np.nonzero(border)
        return rows, columns
    full = np.arange(width, dtype=np.intp)
    sides = np.concatenate([full[:strip], full[width - strip :]])
    inner = height - 2 * strip
    rows = np.concatenate(
        [
            np.repeat(np.arange(strip, dtype=np.intp), width),
            np.repeat(np.arange(strip, height - strip, dtype=np.intp), 2 * strip),
            np.repeat(np.arange(height - strip, height, dtype=np.intp), width),
        ]
    )
    columns = np.concatenate([np.tile(full, strip), np.tile(sides, inner), np.tile(full, strip)])
    return rows, columns


def plane_distance(image: np.ndarray, gx: np.ndarray, gy: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Every pixel's distance from the colour planes ``c`` (float32 coefficients, see
    :func:`background_fit`) over columns ``gx`` and rows ``gy``, summed over the channels
    (float32).

    A channel at a time: the values of drawing the three-channel plane and summing
    ``cv2.absdiff`` with ``cv2.transform`` (each plane is drawn the same way, the channels are
    summed in the same order), without merging and walking a three-channel plane: twice as fast.
    """
    total: np.ndarray | None = None
    for k, channel in enumerate(cv2.split(image)):
        plane = (gx * c[0, k])[None, :] + (gy * c[1, k])[:, None]
        plane += c[2, k]
        distance = cv2.absdiff(channel.astype(np.float32), plane)
        if total is None:
            total = distance
        else:
            total += distance
    assert total is not None
    return total


def foreground(image: np.ndarray) -> np.ndarray:
    """The product: pixels that differ from the background modelled on the image border."""
    return foreground_difference(image)[0]


def foreground_difference(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The product's mask (:func:`foreground`) and every pixel's difference from the background."""
    blurred = cv2.GaussianBlur(image, (5, 5), 0)
    coefficients, noise = background_fit(blurred)
    difference = plane_distance(blurred, *plane_grid(blurred.shape[1], blurred.shape[0]), coefficients)
    # A mottled backdrop raises the bar: well above what its own border varies by.
    threshold = max(40.0, 2.5 * noise)
    above = difference > threshold
    if not above.any():  # no product: closing and labelling an empty mask finds nothing either
        return np.zeros(above.shape, bool), difference
    mask: np.ndarray = above.astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool), difference
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    filled = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(filled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)  # holes (the logo) belong to the product
    return filled.astype(bool), difference


def object_extent(mask: np.ndarray) -> Extent | None:
    """The bounding box of the mask's pixels, None when it has none."""
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask, dtype=np.uint8))  # no pixel list drawn
    if w == 0 or h == 0:
        return None
    return Extent(x, y, x + w, y + h)


def logo_band(extent: Extent) -> tuple[int, int]:
    """Rows ``[y_min + H/3, y_min + 2H/3)`` (see the module note on the seed's equation 11)."""
    return extent.y0 + extent.height // 3, extent.y0 + (2 * extent.height) // 3


def band_extent(mask: np.ndarray, band: tuple[int, int]) -> Extent | None:
    """The product's horizontal extent at the band's height (sleeves or handles above do not count)."""
    rows = mask[band[0] : band[1]]
    columns = np.nonzero(rows.mean(axis=0) > 0.5)[0]
    if columns.size == 0:
        return None
    return Extent(int(columns.min()), band[0], int(columns.max()) + 1, band[1])


def outline_edges(difference: np.ndarray, extent: Extent) -> tuple[float, float]:
    """The product's left and right outline at the band, to a fraction of a pixel: where the
    difference from the background crosses half way between the background's and the product's.

    The mask's threshold sits near the background's level, so the blur of the lens and of the
    background model puts the mask's border a pixel or two outside the product on each side;
    the half-way crossing is where the outline really is. Per column, the median over the band's
    rows (a mark near the edge covers fewer than half of them). Returns the edges as
    ``(x0, x1)`` in the convention of :class:`Extent` (``x1`` exclusive).
    """
    rows = difference[extent.y0 : extent.y1]
    if rows.shape[0] == 0:
        return float(extent.x0), float(extent.x1)
    reach = 8
    width = difference.shape[1]
    lo, hi = max(0, extent.x0 - reach), min(width, extent.x0 + reach + 1)
    left = _crossing(np.median(rows[:, lo:hi], axis=0), lo, rising=True)
    lo, hi = max(0, extent.x1 - 1 - reach), min(width, extent.x1 + reach)
    right = _crossing(np.median(rows[:, lo:hi], axis=0), lo, rising=False)
    x0 = left + 0.5 if left is not None else float(extent.x0)
    x1 = right + 0.5 if right is not None else float(extent.x1)
    if not extent.x0 - 3 <= x0 <= extent.x0 + 3 or not extent.x1 - 3 <= x1 <= extent.x1 + 3:
        return float(extent.x0), float(extent.x1)
    return x0, x1


def _crossing(profile: np.ndarray, start: int, *, rising: bool) -> float | None:
    """Where ``profile`` (a difference across one outline) crosses half way from its outside
    level to its inside level, in image columns (pixel centres), interpolated."""
    values = profile if rising else profile[::-1]
    if values.size < 6:
        return None
    outside = float(values[:3].min())
    inside = float(np.median(values[-4:]))
    if inside - outside < 10.0:
        return None
    half = (outside + inside) / 2.0
    above = np.nonzero(values >= half)[0]
    if above.size == 0 or above[0] == 0:
        return None
    k = int(above[0])
    step = float(values[k] - values[k - 1])
    where = k - 1 + (half - float(values[k - 1])) / step if step > 0 else float(k)
    return start + where if rising else start + (values.size - 1 - where)
