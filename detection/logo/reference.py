"""A brand's registered logo for one original: where it sits, its shape, and a small template."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import cv2
import numpy as np

from detection.logo.band import Extent, band_extent, foreground, logo_band, object_extent
from detection.logo.brand_mark import BrandMark
from detection.logo.locate import locate
from detection.logo.position import classify_offset
from detection.logo.shape import classify_shape, shape_features

TEMPLATE_WIDTH = 96


@dataclass(frozen=True)
class LogoReference:
    """Expected logo placement on an original (all in the original's pixels)."""

    box: tuple[int, int, int, int]  # x, y, w, h of the logo
    extent: tuple[int, int, int, int]  # x0, y0, x1, y1 of the product at the band's height
    image_size: tuple[int, int]  # width, height of the original
    offset: float  # signed, fraction of the product's width
    position: str
    shape: str | None
    template: np.ndarray  # grayscale, at most TEMPLATE_WIDTH wide
    mark: BrandMark | None = None  # the brand's own logo image, when one was registered
    mark_path: str | None = None  # where the mark's file is kept (relative to the media root)

    def to_dict(self) -> dict:
        ok, png = cv2.imencode(".png", self.template)
        return {
            "box": list(self.box),
            "extent": list(self.extent),
            "image_size": list(self.image_size),
            "offset": self.offset,
            "position": self.position,
            "shape": self.shape,
            "template": base64.b64encode(png.tobytes()).decode() if ok else "",
            **(
                {"mark": base64.b64encode(self.mark.to_png()).decode(), "mark_path": self.mark_path}
                if self.mark is not None
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LogoReference:
        raw = base64.b64decode(data.get("template") or "")
        decoded = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE) if raw else None
        template = np.asarray(decoded) if decoded is not None else np.zeros((1, 1), np.uint8)
        return cls(
            box=tuple(int(v) for v in data["box"]),  # type: ignore[arg-type]
            extent=tuple(int(v) for v in data["extent"]),  # type: ignore[arg-type]
            image_size=tuple(int(v) for v in data["image_size"]),  # type: ignore[arg-type]
            offset=float(data["offset"]),
            position=str(data["position"]),
            shape=data.get("shape"),
            template=template,
            mark=BrandMark.from_png(base64.b64decode(data["mark"])) if data.get("mark") else None,
            mark_path=data.get("mark_path"),
        )


def _template(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    crop = gray[y : y + h, x : x + w]
    scale = min(1.0, TEMPLATE_WIDTH / max(w, 1))
    if scale < 1.0:
        crop = cv2.resize(
            crop, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    return np.ascontiguousarray(crop)


def reference_from_original(
    image: np.ndarray, box: tuple[int, int, int, int] | None = None
) -> LogoReference | None:
    """Register the logo of an original: at ``box`` (x, y, w, h), or found with the seed's method.

    Returns:
        The reference, or None when no product or no logo can be found.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height, width = gray.shape[:2]
    extent: Extent | None
    if box is None:
        located = locate(image)
        if located is None:
            return None
        box, extent, shape = located.box, located.extent, located.shape
    else:
        x, y, w, h = box
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
            raise ValueError(f"logo box {box} is outside the {width}x{height} original")
        colour = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        mask = foreground(colour)
        whole = object_extent(mask)
        extent = band_extent(mask, (y, y + h)) if whole is not None else None
        if extent is None and whole is not None:
            extent = band_extent(mask, logo_band(whole))
        if extent is None:
            extent = Extent(0, y, width, y + h)
        crop = colour[y : y + h, x : x + w].astype(np.int16)
        logo_mask = np.abs(crop - np.median(crop.reshape(-1, 3), axis=0)).sum(axis=2) > 60
        shape = classify_shape(shape_features(logo_mask))
    offset = ((box[0] + box[2] / 2.0) - extent.centre_x) / max(extent.width, 1)
    return LogoReference(
        box=tuple(int(v) for v in box),  # type: ignore[arg-type]
        extent=(extent.x0, extent.y0, extent.x1, extent.y1),
        image_size=(width, height),
        offset=float(offset),
        position=classify_offset(offset),
        shape=shape,
        template=_template(gray, box),
    )
