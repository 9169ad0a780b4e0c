"""A labelled logo benchmark (docs/formats.md): drawing its images and writing them with truth.csv.

Products are drawn procedurally (bottle, bag, box, shirt, can, shoe-box silhouettes in plain or
gradient colours on light backgrounds); the logo — a text mark in a Hershey font or a geometric
mark — is placed at an offset drawn from inside one of the seven position bins, at varied sizes,
then the photo gets slight rotation and perspective, noise, blur and JPEG. Genuine images have the logo at CM.
The evaluation of a written benchmark is :mod:`detection.logo.bench_eval`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from detection.imageio import decode_bgr
from detection.logo.fonts import DEFAULT_HOLDOUT_FONTS, Font, select_fonts
from detection.logo.marks import (
    DEFAULT_HOLDOUT_GENERATORS,
    EMBLEM_GENERATORS,
    GENERATORS,
    TEXT_GENERATORS,
    render_mark,
)
from detection.logo.position import POSITIONS, offset_range
from detection.logo.shape import SHAPES

PRODUCTS = ("bottle", "bag", "box", "shirt", "can")
_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
)
_LETTERS = "ABCDEFGHKMNPRSTUVWXZ"


def _silhouette(
    kind: str, size: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A filled product mask and its body box (x, y, w, h) where the band lies."""
    width, height = size
    mask = np.zeros((height, width), np.uint8)
    bw = int(width * rng.uniform(0.45, 0.7))
    bh = int(height * rng.uniform(0.6, 0.8))
    x = (width - bw) // 2 + int(rng.integers(-width // 12, width // 12))
    y = (height - bh) // 2 + int(rng.integers(-height // 14, height // 14))
    if kind == "bottle":
        cv2.rectangle(mask, (x, y + bh // 5), (x + bw, y + bh), 255, -1)
        cv2.rectangle(mask, (x + bw * 3 // 8, y), (x + bw * 5 // 8, y + bh // 5), 255, -1)
    elif kind == "bag":
        cv2.rectangle(mask, (x, y + bh // 6), (x + bw, y + bh), 255, -1)
        cv2.ellipse(mask, (x + bw // 2, y + bh // 6), (bw // 4, bh // 7), 0, 180, 360, 255, max(3, bw // 25))
    elif kind == "shirt":
        cv2.rectangle(mask, (x + bw // 8, y), (x + bw - bw // 8, y + bh), 255, -1)
        cv2.rectangle(mask, (x - bw // 8, y), (x + bw + bw // 8, y + bh // 5), 255, -1)
    elif kind == "can":
        cv2.rectangle(mask, (x, y), (x + bw, y + bh), 255, -1)
        cv2.ellipse(mask, (x + bw // 2, y), (bw // 2, bh // 16), 0, 0, 360, 255, -1)
    else:
        cv2.rectangle(mask, (x, y), (x + bw, y + bh), 255, -1)
    return mask, (x, y, bw, bh)


def _draw_logo(
    canvas: np.ndarray,
    shape: str,
    centre: tuple[int, int],
    width: int,
    colour: tuple[int, int, int],
    rng: np.random.Generator,
) -> None:
    cx, cy = centre
    if shape == "triangular":
        h = int(width * 0.9)
        pts = np.array(
            [[cx, cy - h // 2], [cx - width // 2, cy + h // 2], [cx + width // 2, cy + h // 2]], np.int32
        )
        cv2.fillPoly(canvas, [pts], colour)
    elif shape == "square":
        cv2.rectangle(
            canvas, (cx - width // 2, cy - width // 2), (cx + width // 2, cy + width // 2), colour, -1
        )
    else:
        letters = int(rng.integers(5, 8)) if shape == "long_narrow_text" else int(rng.integers(3, 5))
        text = "".join(rng.choice(list(_LETTERS), letters))
        font = _FONTS[int(rng.integers(0, len(_FONTS)))]
        (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
        scale = width / tw
        thickness = max(1, int(round(scale * 2)))
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
        if shape == "rectangular_text":  # a second line makes a block of text
            cv2.putText(canvas, text, (cx - tw // 2, cy - 2), font, scale, colour, thickness, cv2.LINE_AA)
            cv2.putText(
                canvas, text[::-1], (cx - tw // 2, cy + th + 4), font, scale, colour, thickness, cv2.LINE_AA
            )
        else:
            cv2.putText(
                canvas, text, (cx - tw // 2, cy + th // 2), font, scale, colour, thickness, cv2.LINE_AA
            )


def draw_product_with_logo(
    rng: np.random.Generator,
    position: str | None,
    shape: str | None,
    size: tuple[int, int] = (480, 480),
    *,
    generator: str | None = None,
    fonts: list[Font] | None = None,
    style: str = "seed",
) -> tuple[np.ndarray, dict]:
    """A product photo with a logo at ``position`` (one of the seven) and ``shape``; None = no logo.

    ``generator`` None draws the seed's marks (Hershey text, filled polygons); else one of
    :data:`detection.logo.marks.GENERATORS` with a font from ``fonts``. ``style`` ``alt`` draws other
    product silhouettes, backgrounds and colours (:mod:`detection.logo.scenes`).

    Returns:
        (BGR image, truth dict with position, shape, offset, product kind, font family, generator).
    """
    if style == "alt":
        from detection.logo.scenes import draw_alt_scene

        return draw_alt_scene(rng, position, shape, generator or "polygon", fonts or [])
    width, height = size
    background = np.array([int(v) for v in rng.integers(225, 256, 3)], np.uint8)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = background
    kind = PRODUCTS[int(rng.integers(0, len(PRODUCTS)))]
    mask, (bx, by, bw, bh) = _silhouette(kind, size, rng)
    body = np.array([int(v) for v in rng.integers(30, 200, 3)])
    shade = np.linspace(-20, 20, width)[None, :, None]
    coloured = np.clip(body[None, None, :] + shade, 0, 255).astype(np.uint8)
    image[mask > 0] = np.broadcast_to(coloured, image.shape)[mask > 0]
    truth: dict = {"position": position or "", "shape": shape or "", "product": kind, "offset": None,
                   "font": "", "generator": generator or ("seed" if shape else "")}  # fmt: skip
    if position is not None and shape is not None:
        band_y = by + bh // 3, by + 2 * bh // 3
        row = (band_y[0] + band_y[1]) // 2
        columns = np.nonzero(mask[row])[0]
        x0, x1 = int(columns.min()), int(columns.max()) + 1
        product_width = x1 - x0
        low, high = offset_range(position)
        cb, cg, cr = (int(v) for v in np.where(body > 110, body * 0.25, np.minimum(255, body + 120)))
        contrast = (cb, cg, cr)
        if generator is None:
            logo_width = (
                int(product_width * rng.uniform(0.1, 0.16))
                if shape in {"triangular", "square"}
                else int(
                    product_width * rng.uniform(0.16, 0.22) * (1.15 if shape == "long_narrow_text" else 1.0)
                )
            )
        else:
            alpha, truth["font"], logo_width = legible_mark(
                shape, generator, rng, fonts or [], position, product_width, bh // 3
            )
        # Keep the whole logo on the product: outer bins are bounded by the product's edge.
        limit = 0.5 - (logo_width / product_width) / 2 - 0.01
        low, high = max(low, -limit), min(high, limit)
        offset = float(rng.uniform(low + 0.15 * (high - low), high - 0.15 * (high - low)))
        centre = (
            int(round((x0 + x1) / 2 + offset * product_width)),
            row + int(rng.integers(-bh // 20, bh // 20 + 1)),
        )
        if generator is None:
            _draw_logo(image, shape, centre, logo_width, contrast, rng)
        else:
            paste_mark(image, alpha, centre, logo_width, np.array(contrast, np.float32))
        truth["offset"] = round(offset, 4)
    image = _photograph(image, rng)
    return image, truth


def mark_width(
    shape: str, alpha: np.ndarray, product_width: int, body_height: int, rng: np.random.Generator
) -> int:
    """A plausible printed width for a mark: a share of the product's width, no taller than its band."""
    if shape in {"triangular", "square"}:
        share = rng.uniform(0.1, 0.2)
    elif shape == "long_narrow_text":
        share = rng.uniform(0.22, 0.42)
    else:
        share = rng.uniform(0.15, 0.3)
    width = product_width * share
    aspect = alpha.shape[1] / max(alpha.shape[0], 1)
    tallest = body_height * 0.3
    return max(12, int(min(width, tallest * aspect)))


def legible_mark(
    shape: str, generator: str, rng: np.random.Generator, fonts: list[Font], position: str,
    product_width: int, band_height: int,
) -> tuple[np.ndarray, str, int]:  # fmt: skip
    """A mark, its font family and printed width, redrawn (fewer letters) until it prints legibly."""
    min_height = max(10, band_height * 0.12)
    for _ in range(8):
        alpha, family = render_mark(shape, generator, rng, fonts)
        width = fit_width(
            position, mark_width(shape, alpha, product_width, band_height * 3, rng), product_width
        )
        if width * alpha.shape[0] / max(alpha.shape[1], 1) >= min_height:
            break
    return alpha, family, width


def fit_width(position: str, logo_width: int, product_width: int, margin: float = 0.02) -> int:
    """Narrow a mark so that its centre can sit well inside ``position``'s bin, the mark on the product."""
    low, high = offset_range(position)
    inner = min(abs(low), abs(high)) if low * high > 0 else 0.0
    room = 2 * (0.5 - margin - inner - 0.3 * (1.0 / 7.0))
    return max(10, min(logo_width, int(product_width * room)))


def paste_mark(
    image: np.ndarray, alpha: np.ndarray, centre: tuple[int, int], width: int, colour: np.ndarray
) -> None:
    """Blend ``alpha`` (resized to ``width``) in ``colour`` onto ``image`` centred at ``centre``."""
    height = max(2, int(round(alpha.shape[0] * width / max(alpha.shape[1], 1))))
    small = cv2.resize(alpha, (max(2, width), height), interpolation=cv2.INTER_AREA)
    x0, y0 = centre[0] - small.shape[1] // 2, centre[1] - small.shape[0] // 2
    ih, iw = image.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(iw, x0 + small.shape[1]), min(ih, y0 + small.shape[0])
    if cx1 <= cx0 or cy1 <= cy0:
        return
    a = small[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, None]
    region = image[cy0:cy1, cx0:cx1].astype(np.float32)
    image[cy0:cy1, cx0:cx1] = np.clip(region * (1 - a) + colour[None, None, :] * a, 0, 255).astype(np.uint8)


def _photograph(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    angle = float(rng.uniform(-2.5, 2.5))
    h, w = image.shape[:2]
    rotation = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    image = cv2.warpAffine(image, rotation, (w, h), borderMode=cv2.BORDER_REPLICATE)
    # Slight perspective: a hand-held camera is rarely square-on to the product.
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    moved = corners + rng.uniform(-0.015, 0.015, (4, 2)).astype(np.float32) * np.array([w, h], np.float32)
    warp = cv2.getPerspectiveTransform(corners, moved)
    image = cv2.warpPerspective(image, warp, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.6:
        image = cv2.GaussianBlur(image, (3, 3), float(rng.uniform(0.3, 1.0)))
    noise = rng.normal(0, rng.uniform(1.0, 5.0), image.shape)
    image = np.clip(image.astype(np.float64) + noise, 0, 255).astype(np.uint8)
    quality = int(rng.integers(55, 95))
    return decode_bgr(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1])


def select_generators(
    which: str = "all", holdout: tuple[str, ...] | list[str] = DEFAULT_HOLDOUT_GENERATORS
) -> list[str]:
    """``which``: ``all``, ``dev`` (without the held-out generators), ``holdout`` (only them) or ``seed``."""
    unknown = set(holdout) - set(GENERATORS)
    if unknown:
        raise ValueError(f"unknown mark generators {sorted(unknown)}; known: {', '.join(GENERATORS)}")
    if which == "all":
        chosen = list(GENERATORS)
    elif which == "dev":
        chosen = [g for g in GENERATORS if g not in holdout]
    elif which == "holdout":
        chosen = [g for g in GENERATORS if g in holdout]
    else:
        raise ValueError(f"generators: expected all, dev or holdout, got {which!r}")
    if not any(g in TEXT_GENERATORS for g in chosen) or not any(g in EMBLEM_GENERATORS for g in chosen):
        # Both kinds are needed for the four classes: fall back on the development ones for the other kind.
        dev = [g for g in GENERATORS if g not in holdout]
        chosen += [g for g in dev if (g in TEXT_GENERATORS) != any(c in TEXT_GENERATORS for c in chosen)]
    return chosen


def sample_logo(
    i: int, rng: np.random.Generator, generators: list[str], fonts: list[Font], style: str,
    no_logo_every: int = 13,
) -> tuple[np.ndarray, dict]:  # fmt: skip
    """The ``i``-th image of a benchmark: positions and shapes in turn, every n-th without a logo."""
    if no_logo_every and i % no_logo_every == no_logo_every - 1:
        position, shape = None, None
    else:
        position = POSITIONS[i % 7]
        shape = SHAPES[(i // 7) % len(SHAPES)]
    kind = EMBLEM_GENERATORS if shape in {"triangular", "square"} else TEXT_GENERATORS
    usable = [g for g in generators if g in kind] or [g for g in generators]
    generator = usable[int(rng.integers(0, len(usable)))] if shape else None
    scene = style if style != "mixed" else ("seed" if rng.random() < 0.5 else "alt")
    if generator is None and scene == "seed":
        generator = "polygon"
    image, truth = draw_product_with_logo(rng, position, shape, generator=generator, fonts=fonts, style=scene)
    truth["style"] = scene
    return image, truth


def make_logo_benchmark(
    out_dir: str | Path,
    n: int = 700,
    seed: int = 0,
    *,
    fonts: str = "all",
    holdout_fonts: tuple[str, ...] | list[str] = DEFAULT_HOLDOUT_FONTS,
    generators: str = "all",
    holdout_generators: tuple[str, ...] | list[str] = DEFAULT_HOLDOUT_GENERATORS,
    style: str = "mixed",
) -> Path:
    """Write ``n`` images: logos at each of the seven positions in every shape, plus ~8 % without logo.

    ``fonts``/``generators``: ``all``, ``dev`` (held-out ones excluded) or ``holdout`` (only them);
    ``style``: ``seed``, ``alt`` or ``mixed`` scenes. truth.csv gets the font family, mark generator
    and scene style of each image beside the DESIGN columns.
    """
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    chosen_fonts = select_fonts(fonts, holdout_fonts)
    chosen_generators = select_generators(generators, holdout_generators)
    rows = []
    for i in range(n):
        image, truth = sample_logo(i, rng, chosen_generators, chosen_fonts, style)
        image_id = f"l{i:05d}"
        cv2.imwrite(str(out / "images" / f"{image_id}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        position = truth["position"]
        verdict = "no_logo" if not position else ("genuine" if position == "CM" else "counterfeit")
        rows.append(
            {
                "image_id": image_id,
                "position": position,
                "shape": truth["shape"],
                "verdict": verdict,
                "font": truth["font"],
                "generator": truth["generator"],
                "style": truth["style"],
            }  # fmt: skip
        )
    with (out / "truth.csv").open("w", newline="") as handle:
        fields = ["image_id", "position", "shape", "verdict", "font", "generator", "style"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return out
