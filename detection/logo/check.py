"""The verdict on a listing image: is the logo where the brand puts it?

- With a reference and the matcher's homography (original → listing), the listing is warped into
  the original's frame and the logo template is searched along the band's height: found at its
  registered place → genuine; found elsewhere → shifted (class and offset); something else
  there → shape_differs; nothing → missing.
- With a reference but no homography, the seed's object-extent method measures the listing and
  compares its offset and shape with the reference.
- Without a reference, the seed's rule: a genuine logo is centred (CM).
Degenerate inputs (blank image, no product, no logo edges) give ``undetermined``, never an error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from detection.logo.band import band_extent, foreground, logo_band, object_extent
from detection.logo.brand_mark import find_marks
from detection.logo.locate import locate
from detection.logo.position import BIN, classify_offset
from detection.logo.reference import LogoReference

MATCH_FOUND = 0.55  # normalised correlation of the template where it is found


@dataclass
class LogoVerdict:
    verdict: str  # genuine | shifted | missing | shape_differs | undetermined
    position: str | None
    offset: float | None
    shape: str | None
    confidence: float
    reason: str
    marks: list[dict[str, Any]] | None = (
        None  # with a brand mark: every print of it found (box, offset, position, …)
    )

    @property
    def suspicious(self) -> bool:
        return self.verdict in {"shifted", "missing", "shape_differs"}

    def to_dict(self) -> dict:
        data = asdict(self)
        data["suspicious"] = self.suspicious
        return data


def _undetermined(reason: str) -> LogoVerdict:
    return LogoVerdict("undetermined", None, None, None, 0.0, reason)


def check(
    image: np.ndarray,
    reference: LogoReference | None = None,
    homography: np.ndarray | None = None,
    *,
    shape_from_confidence: float = 0.0,
) -> LogoVerdict:
    """Judge the logo placement of ``image`` (BGR). See the module docstring for the three modes.

    ``shape_from_confidence``: without a reference, the logo's shape (the seed's contour
    tracing, most of the check's cost) is measured only for a verdict at least this confident;
    below it the verdict's ``shape`` is None. A caller that discards less confident verdicts
    (the worker's logo-only rule) skips that cost on most listings.
    """
    if image is None or image.size == 0 or min(image.shape[:2]) < 16:
        return _undetermined("image too small or empty")
    if image.ndim == 3 and float(cv2.meanStdDev(image)[1].max()) < 2.0:
        return _undetermined("blank image")
    try:
        if reference is not None and reference.mark is not None:
            return _check_brand_mark(image, reference)
        if reference is not None and homography is not None:
            return _check_aligned(image, reference, np.asarray(homography, dtype=np.float64))
        return _check_by_extent(image, reference, shape_from_confidence)
    except (cv2.error, ValueError, np.linalg.LinAlgError) as exc:
        return _undetermined(f"could not measure the logo: {exc}")


def _check_by_extent(
    image: np.ndarray, reference: LogoReference | None, shape_from_confidence: float = 0.0
) -> LogoVerdict:
    located = locate(image)
    if located is None:
        return _undetermined("no product or no logo edges in the band")
    if located.confidence < 0.25:
        return _undetermined("the band has no dominant mark (texture or seams only)")
    expected = reference.offset if reference is not None else 0.0
    shifted = abs(located.offset - expected) >= BIN / 2
    shape_differs = bool(
        reference is not None and reference.shape and located.shape and located.shape != reference.shape
    )
    if shifted:
        verdict = "shifted"
        reason = (
            f"logo at {located.position} (offset {located.offset:+.3f}), expected {classify_offset(expected)}"
        )
    elif shape_differs and reference is not None:
        verdict = "shape_differs"
        reason = f"logo shape {located.shape}, registered {reference.shape if reference else None}"
    else:
        verdict = "genuine"
        reason = f"logo at {located.position} as expected"
    margin = min(1.0, abs(abs(located.offset - expected) - BIN / 2) / (BIN / 2))
    confidence = located.confidence * (0.5 + 0.5 * margin)
    compared = reference is not None and bool(reference.shape)  # its shape was measured above
    shape = located.shape if compared or confidence >= shape_from_confidence else None
    return LogoVerdict(verdict, located.position, located.offset, shape, round(confidence, 3), reason)


def _check_aligned(image: np.ndarray, reference: LogoReference, homography: np.ndarray) -> LogoVerdict:
    width, height = reference.image_size
    warped = cv2.warpPerspective(
        image, np.linalg.inv(homography), (width, height), borderValue=(255, 255, 255)
    )
    gray = cv2.cvtColor(warped, cv2.COLOR_BGR2GRAY) if warped.ndim == 3 else warped
    x, y, w, h = reference.box
    scale = reference.template.shape[1] / max(w, 1)
    # Search only inside the product's outline: a template of a plain mark correlates with the
    # step from background to product, which would report an erased logo as "moved to the edge".
    x0, _, x1, _ = reference.extent
    inset = max(2, (x1 - x0) // 40)
    left, right = max(0, x0 + inset), min(width, x1 - inset)
    search = gray[max(0, y - h // 2) : min(height, y + h + h // 2), left:right]
    if scale < 1.0:
        search = cv2.resize(search, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    template = reference.template
    if search.shape[0] < template.shape[0] or search.shape[1] < template.shape[1] or template.size < 4:
        return _check_by_extent(warped, reference)
    scores = cv2.matchTemplate(search, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, _) = cv2.minMaxLoc(scores)
    product_width = max(x1 - x0, 1)
    if best < MATCH_FOUND:
        here = gray[y : y + h, x : x + w]
        busy = float(here.std()) > 12.0 if here.size else False
        verdict = "shape_differs" if busy else "missing"
        reason = f"the registered logo is not found (best match {best:.2f}); " + (
            "another mark sits in its place" if busy else "its place is plain"
        )
        return LogoVerdict(verdict, None, None, None, round(min(1.0, 1.0 - best), 3), reason)
    found_centre = left + bx / scale + w / 2.0
    offset = (found_centre - (x0 + x1) / 2.0) / product_width
    own = _offset_on_own_product(image, reference, homography, (found_centre, y + h / 2.0))
    if own is not None:
        offset = own
    position = classify_offset(offset)
    moved = abs(offset - reference.offset) >= BIN / 2
    if moved:
        reason = f"logo moved to {position} (offset {offset:+.3f}), registered at {reference.position}"
        return LogoVerdict(
            "shifted", position, round(offset, 4), reference.shape, round(float(best), 3), reason
        )
    return LogoVerdict(
        "genuine",
        position,
        round(offset, 4),
        reference.shape,
        round(float(best), 3),
        f"logo at its registered place ({position})",
    )


def _offset_on_own_product(
    image: np.ndarray, reference: LogoReference, homography: np.ndarray, centre: tuple[float, float]
) -> float | None:
    """The logo's offset measured on the listing's own product, when the match aligned the mark
    but not the product; None when the product is aligned (or cannot be judged).

    On a plain product the logo is all the matcher has to go on: the homography then maps the
    listing's logo onto the original's, wherever the counterfeiter printed it, and the product's
    outline lands beside the original's — both sides moved the same way by the same amount.
    The logo's place is then measured against the listing's own product at the logo's height.
    """
    x0, _, x1, _ = reference.extent
    points = np.array([[[x0, centre[1]], [x1, centre[1]], [centre[0], centre[1]]]], np.float64)
    ((left, right, logo),) = cv2.perspectiveTransform(points, homography)
    mask = foreground(image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    row = int(round(logo[1]))
    half = max(2, int(abs(right[0] - left[0]) * 0.05))
    if not half <= row < mask.shape[0] - half:
        return None
    own = band_extent(mask, (row - half, row + half))
    if own is None or own.x0 <= 1 or own.x1 >= mask.shape[1] - 1:
        return None  # no product, or one cut by the frame: the homography stands
    width = float(own.width)
    moved_left, moved_right = own.x0 - left[0], own.x1 - right[0]
    same_way = moved_left * moved_right > 0 and abs(moved_left - moved_right) < 0.3 * max(
        abs(moved_left), abs(moved_right)
    )
    if not same_way or min(abs(moved_left), abs(moved_right)) < BIN / 2 * width:
        return None
    return float((logo[0] - own.centre_x) / width)


def _check_brand_mark(image: np.ndarray, reference: LogoReference) -> LogoVerdict:
    """Find the brand's own mark (:func:`find_marks`) and judge where it is printed.

    Genuine when a print sits at the registered place, the right way round; shape_differs when
    the only prints are mirrored, or when the mark is absent but another mark is in the band;
    shifted when it is printed elsewhere only; missing when there is no mark at all.
    """
    assert reference.mark is not None
    colour = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    hits = find_marks(colour, reference.mark)
    expected = reference.offset
    if not hits:
        generic = _check_by_extent(colour, None)
        if generic.position is not None:
            same = reference.shape is not None and generic.shape == reference.shape
            return LogoVerdict(
                "shape_differs", generic.position, generic.offset, generic.shape, generic.confidence,
                f"the brand's mark is not found; a {'look-alike' if same else 'different'} mark "
                f"({generic.shape}) is at {generic.position}",
                [],
            )  # fmt: skip
        return LogoVerdict(
            "missing", None, None, None, 0.8, "the brand's mark is not found in the listing", []
        )
    mask = foreground(colour)
    whole = object_extent(mask)
    marks: list[dict[str, Any]] = []
    for hit in hits:
        x, y, w, h = hit.box
        extent = band_extent(mask, (y, y + max(h, 1))) if whole is not None else None
        if extent is None and whole is not None:
            extent = band_extent(mask, logo_band(whole))
        if extent is None:
            extent_x0, extent_x1 = 0, colour.shape[1]
        else:
            extent_x0, extent_x1 = extent.x0, extent.x1
        offset = ((x + w / 2.0) - (extent_x0 + extent_x1) / 2.0) / max(extent_x1 - extent_x0, 1)
        marks.append(
            {
                "box": list(hit.box),
                "score": hit.score,
                "mirrored": hit.mirrored,
                "offset": round(float(offset), 4),
                "position": classify_offset(float(offset)),
            }  # fmt: skip
        )
    at_place = [m for m in marks if not m["mirrored"] and abs(m["offset"] - expected) < BIN / 2]
    upright = [m for m in marks if not m["mirrored"]]
    also = f"; printed {len(marks)} times" if len(marks) > 1 else ""
    if at_place:
        m = at_place[0]
        return LogoVerdict("genuine", m["position"], m["offset"], reference.shape, m["score"],
                           f"the brand's mark at its registered place ({m['position']}){also}", marks)  # fmt: skip
    if upright:
        m = upright[0]
        return LogoVerdict(
            "shifted", m["position"], m["offset"], reference.shape, m["score"],
            f"the brand's mark at {m['position']} (offset {m['offset']:+.3f}), registered at "
            f"{classify_offset(expected)}{also}",
            marks,
        )  # fmt: skip
    m = marks[0]
    return LogoVerdict("shape_differs", m["position"], m["offset"], reference.shape, m["score"],
                       f"the brand's mark is printed mirrored at {m['position']}{also}", marks)  # fmt: skip
