"""The brand's own logo: find its mark in a listing photo, wherever and however often it is printed.

The mark (an image with alpha, or on a plain background) becomes an alpha mask. Matching is done
on edge strength (:func:`detection.logo.edges.colour_strength`) rather than on colours, so a mark
printed in another colour, light on dark or dark on light, still matches; a pyramid of mark
widths covers scale, and the blur of both sides absorbs slight perspective. The mirrored mark is
matched too: a mirror image that matches better than the mark itself is a counterfeit's tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detection.logo.edges import colour_strength

MIN_SCORE = 0.72  # normalised correlation of edge maps where a mark counts as found
WORK_SIDE = 256  # the listing is searched at about this size, then the best hits refined
MIRROR_MARGIN = 0.08  # the mirror image must match this much better to call the mark mirrored


@dataclass(frozen=True)
class BrandMark:
    """A brand's mark as an alpha mask (float32 0…1, cropped to its ink)."""

    alpha: np.ndarray

    @classmethod
    def from_image(cls, image: np.ndarray) -> BrandMark:
        """From a logo file's pixels: its alpha channel when it has a real one, else the pixels
        unlike the colour of its border (a mark on a plain background)."""
        if image is None or image.size == 0:
            raise ValueError("the logo image is empty")
        if image.ndim == 3 and image.shape[2] == 4 and int(image[:, :, 3].min()) < 250:
            alpha = image[:, :, 3].astype(np.float32) / 255.0
        else:
            colour = image[:, :, :3] if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            colour = colour.astype(np.float32)
            border = np.concatenate([colour[0], colour[-1], colour[:, 0], colour[:, -1]])
            background = np.median(border, axis=0)
            distance = np.abs(colour - background).sum(axis=2)
            alpha = np.clip((distance - 30.0) / 60.0, 0.0, 1.0).astype(np.float32)
        alpha = np.asarray(alpha, np.float32)
        ys, xs = np.nonzero(alpha > 0.5)
        if ys.size < 12:
            raise ValueError("no mark found in the logo image (it is blank or has no contrast)")
        alpha = alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        side = max(alpha.shape)
        if side > 256:  # plenty for matching, and the stored reference stays small
            scale = 256 / side
            alpha = np.asarray(cv2.resize(alpha, (max(2, round(alpha.shape[1] * scale)), max(2, round(alpha.shape[0] * scale))),
                               interpolation=cv2.INTER_AREA), np.float32)  # fmt: skip
        return cls(np.ascontiguousarray(alpha, np.float32))

    @classmethod
    def from_bytes(cls, data: bytes) -> BrandMark:
        """From a logo file's bytes (PNG, WebP, GIF, JPEG…; transparency kept)."""
        import io

        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > 40_000_000:
                    raise ValueError(f"the logo image is too large ({opened.width}x{opened.height})")
                rgba = np.asarray(opened.convert("RGBA"))
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"the logo file is not an image ({exc})") from exc
        return cls.from_image(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))

    def to_png(self) -> bytes:
        ok, png = cv2.imencode(".png", np.round(self.alpha * 255).astype(np.uint8))
        if not ok:
            raise ValueError("could not encode the mark")
        return png.tobytes()

    @classmethod
    def from_png(cls, data: bytes) -> BrandMark:
        gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise ValueError("the stored mark is not a PNG")
        return cls(gray.astype(np.float32) / 255.0)

    def mask(self) -> np.ndarray:
        return self.alpha > 0.5


@dataclass(frozen=True)
class MarkHit:
    box: tuple[int, int, int, int]  # x, y, w, h in the listing's pixels
    score: float
    mirrored: bool


def _edges(gray_or_colour: np.ndarray) -> np.ndarray:
    strength = colour_strength(gray_or_colour)
    strength = cv2.GaussianBlur(strength, (0, 0), 1.2)
    return np.sqrt(strength).astype(np.float32)  # compress: faint and strong edges both count


def _template(alpha: np.ndarray, width: int) -> np.ndarray:
    height = max(4, round(alpha.shape[0] * width / alpha.shape[1]))
    small = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)
    padded = cv2.copyMakeBorder(small * 255.0, 3, 3, 3, 3, cv2.BORDER_CONSTANT, value=0.0)
    return _edges(padded.astype(np.float32))


def find_marks(
    image: np.ndarray, mark: BrandMark, *, min_score: float = MIN_SCORE, max_hits: int = 4
) -> list[MarkHit]:
    """Every place ``mark`` is printed in ``image`` (BGR), best first; mirrored prints flagged.

    A coarse search over mark widths on a reduced image proposes places; each is refined on the
    full image (finer widths, both orientations) and kept when its correlation holds there.
    """
    h, w = image.shape[:2]
    factor = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(
        image, (max(8, round(w * factor)), max(8, round(h * factor))), interpolation=cv2.INTER_AREA
    )
    field = _edges(small)
    sh, sw = field.shape
    candidates: list[tuple[float, float, float, float, float]] = []
    width = max(12, int(round(10 * mark.alpha.shape[1] / mark.alpha.shape[0])))  # at least 10 px tall
    while width <= int(sw * 0.7):
        plain = _template(mark.alpha, width)
        th, tw = plain.shape
        if th < sh and tw < sw:
            for template in (plain, plain[:, ::-1].copy()):
                scores = cv2.matchTemplate(field, template, cv2.TM_CCOEFF_NORMED)
                for _ in range(max_hits + 2):
                    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
                    if best < min_score * 0.8:
                        break
                    candidates.append(
                        (
                            float(best),
                            (bx + 3) / factor,
                            (by + 3) / factor,
                            (tw - 6) / factor,
                            (th - 6) / factor,
                        )
                    )
                    cv2.rectangle(
                        scores, (bx - tw // 2, by - th // 2), (bx + tw // 2, by + th // 2), -1.0, -1
                    )
        width = int(round(width * 1.15)) + 1
    full = _edges(image)
    hits: list[MarkHit] = []
    taken: list[tuple[float, float, float, float]] = []
    for _, x, y, bw, bh in sorted(candidates, reverse=True)[: 4 * max_hits + 4]:
        if any(_overlap((x, y, bw, bh), other) > 0.3 for other in taken):
            continue
        refined = _refine(full, mark, (x, y, bw, bh))
        if refined is not None:  # once more around the refined place and size
            refined = _refine(full, mark, tuple(float(v) for v in refined.box)) or refined  # type: ignore[arg-type]
        if refined is None or refined.score < min_score:
            continue
        if any(_overlap(refined.box, other) > 0.3 for other in taken):
            continue
        taken.append(refined.box)
        hits.append(refined)
    return sorted(hits, key=lambda hit: -hit.score)[:max_hits]


def _refine(field: np.ndarray, mark: BrandMark, box: tuple[float, float, float, float]) -> MarkHit | None:
    """The best match near ``box`` on the full-size edge map, both orientations, widths ±25 %."""
    x, y, bw, bh = box
    fh, fw = field.shape
    x0, y0 = max(0, int(x - 0.35 * bw) - 4), max(0, int(y - 0.35 * bh) - 4)
    x1, y1 = min(fw, int(x + 1.35 * bw) + 4), min(fh, int(y + 1.35 * bh) + 4)
    region = field[y0:y1, x0:x1]
    best: tuple[float, int, int, int, int, bool] | None = None
    scores_by_way = {False: 0.0, True: 0.0}
    for scale in (0.7, 0.78, 0.86, 0.93, 1.0, 1.07, 1.15, 1.25, 1.36, 1.48):
        width = max(8, int(round(bw * scale)))
        plain = _template(mark.alpha, width)
        th, tw = plain.shape
        if th >= region.shape[0] or tw >= region.shape[1]:
            continue
        for mirrored, template in ((False, plain), (True, plain[:, ::-1].copy())):
            scores = cv2.matchTemplate(region, template, cv2.TM_CCOEFF_NORMED)
            _, score, _, (bx, by) = cv2.minMaxLoc(scores)
            scores_by_way[mirrored] = max(scores_by_way[mirrored], float(score))
            if best is None or score > best[0]:
                best = (float(score), x0 + bx + 3, y0 + by + 3, tw - 6, th - 6, mirrored)
    if best is None:
        return None
    score, bx, by, tw, th, mirrored = best
    is_mirrored = mirrored and scores_by_way[True] > scores_by_way[False] + MIRROR_MARGIN
    return MarkHit((int(bx), int(by), int(tw), int(th)), round(score, 3), is_mirrored)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over the smaller box."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / max(min(a[2] * a[3], b[2] * b[3]), 1e-9)
