"""Logo marks of the four shape classes, drawn by several independent generators.

A mark is an alpha mask (float32, 0…1) cropped to its ink. The classes mean what a reader sees:

- ``long_narrow_text``: letters on one line (3–12 letters, any typeface);
- ``rectangular_text``: letters in a block of two lines;
- ``triangular``: a triangle of any aspect and orientation, filled or outlined, maybe holding a
  letter or a symbol;
- ``square``: a square or rounded square, filled or outlined, maybe holding a letter or symbol.

Text generators: ``hershey`` (OpenCV's stroke fonts, the seed's), ``ttf`` (an installed font),
``ttf_tracked`` (wide or tight letter spacing, heavier or lighter strokes, slanted),
``ttf_framed`` (text inside a rectangle, rounded box or rule lines). Emblem generators:
``polygon`` (filled, the seed's), ``outline`` (outlined, any stroke), ``badge`` (holding a knocked-out
or inscribed letter or symbol), ``rounded`` (rounded corners, filled or outlined).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from detection.logo.fonts import Font

TEXT_GENERATORS = ("hershey", "ttf", "ttf_tracked", "ttf_framed")
EMBLEM_GENERATORS = ("polygon", "outline", "badge", "rounded")
GENERATORS = TEXT_GENERATORS + EMBLEM_GENERATORS
DEFAULT_HOLDOUT_GENERATORS = ("ttf_tracked", "rounded")
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_HERSHEY = {
    "Hershey Simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "Hershey Duplex": cv2.FONT_HERSHEY_DUPLEX,
    "Hershey Triplex": cv2.FONT_HERSHEY_TRIPLEX,
    "Hershey Complex": cv2.FONT_HERSHEY_COMPLEX,
}
_SS = 4  # supersampling of drawn emblems


def _word(rng: np.random.Generator, letters: int) -> str:
    case = rng.random()
    if case < 0.6:
        return "".join(rng.choice(list(_UPPER), letters))
    word = "".join(rng.choice(list(_LOWER), letters))
    return word.capitalize() if case < 0.85 else word


def _crop(alpha: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(alpha > 0.2)
    if ys.size == 0:
        return alpha
    return np.ascontiguousarray(alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


@lru_cache(maxsize=256)
def _face(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _text_lines_ttf(
    lines: list[str], font: Font, rng: np.random.Generator, tracking: float = 0.0, stroke: float = 0.0
) -> np.ndarray:
    size = 64
    face = _face(font.path, size)
    stroke_px = int(round(stroke * size))
    line_gap = int(size * rng.uniform(0.15, 0.45))
    canvas = Image.new(
        "L", (size * (max(len(line) for line in lines) + 4) * 2, size * 2 * (len(lines) + 1)), 0
    )
    draw = ImageDraw.Draw(canvas)
    y = size // 2
    widths = []
    for line in lines:
        if tracking == 0.0:
            widths.append(draw.textlength(line, font=face))
        else:
            widths.append(
                sum(draw.textlength(c, font=face) for c in line) + tracking * size * (len(line) - 1)
            )
    widest = max(widths)
    for line, width in zip(lines, widths, strict=True):
        x = size + (widest - width) / 2
        if tracking == 0.0:
            draw.text((x, y), line, font=face, fill=255, stroke_width=stroke_px, stroke_fill=255)
        else:
            for c in line:
                draw.text((x, y), c, font=face, fill=255, stroke_width=stroke_px, stroke_fill=255)
                x += draw.textlength(c, font=face) + tracking * size
        y += size + line_gap
    return _crop(np.asarray(canvas, np.float32) / 255.0)


def _text_lines_hershey(lines: list[str], family: str, rng: np.random.Generator) -> np.ndarray:
    font = _HERSHEY.get(family, cv2.FONT_HERSHEY_SIMPLEX)
    scale, thickness = 2.0, int(rng.integers(3, 8))
    sizes = [cv2.getTextSize(line, font, scale, thickness)[0] for line in lines]
    width = max(s[0] for s in sizes) + 40
    step = max(s[1] for s in sizes) + int(rng.integers(14, 34))
    canvas = np.zeros((step * len(lines) + 60, width), np.uint8)
    for i, (line, (tw, th)) in enumerate(zip(lines, sizes, strict=True)):
        cv2.putText(
            canvas, line, ((width - tw) // 2, 30 + th + i * step), font, scale, 255, thickness, cv2.LINE_AA
        )
    return _crop(canvas.astype(np.float32) / 255.0)


def _shear(alpha: np.ndarray, slant: float) -> np.ndarray:
    h, w = alpha.shape
    pad = int(abs(slant) * h) + 2
    matrix = np.array([[1, -slant, pad + slant * h if slant > 0 else pad], [0, 1, 0]], np.float32)
    return _crop(cv2.warpAffine(alpha, matrix, (w + 2 * pad, h)))


def _lines(shape: str, rng: np.random.Generator) -> list[str]:
    if shape == "long_narrow_text":
        return [_word(rng, int(rng.integers(3, 13)))]
    first = int(rng.integers(2, 7))
    second = max(2, first + int(rng.integers(-2, 3)))
    return [_word(rng, first), _word(rng, second)]


def _frame(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = alpha.shape
    pad = int(max(h, w) * rng.uniform(0.06, 0.2)) + 4
    thickness = max(2, int(h * rng.uniform(0.04, 0.12)))
    out = np.zeros((h + 2 * (pad + thickness), w + 2 * (pad + thickness)), np.float32)
    out[pad + thickness : pad + thickness + h, pad + thickness : pad + thickness + w] = alpha
    kind = rng.integers(0, 3)
    oh, ow = out.shape
    box = np.zeros_like(out, np.uint8)
    t2 = thickness // 2
    if kind == 0:
        cv2.rectangle(box, (t2, t2), (ow - 1 - t2, oh - 1 - t2), 255, thickness)
    elif kind == 1:
        _rounded_rect(box, (t2, t2, ow - 1 - t2, oh - 1 - t2), int(min(oh, ow) * 0.3), 255, thickness)
    else:  # rules above and below
        cv2.line(box, (0, t2), (ow - 1, t2), 255, thickness)
        cv2.line(box, (0, oh - 1 - t2), (ow - 1, oh - 1 - t2), 255, thickness)
    return np.maximum(out, box.astype(np.float32) / 255.0)


def _rounded_rect(
    canvas: np.ndarray, box: tuple[int, int, int, int], radius: int, value: int, thickness: int
) -> None:
    x0, y0, x1, y1 = box
    radius = max(1, min(radius, (x1 - x0) // 2, (y1 - y0) // 2))
    if thickness < 0:
        cv2.rectangle(canvas, (x0 + radius, y0), (x1 - radius, y1), value, -1)
        cv2.rectangle(canvas, (x0, y0 + radius), (x1, y1 - radius), value, -1)
        for cx, cy in (
            (x0 + radius, y0 + radius),
            (x1 - radius, y0 + radius),
            (x0 + radius, y1 - radius),
            (x1 - radius, y1 - radius),
        ):
            cv2.circle(canvas, (cx, cy), radius, value, -1, cv2.LINE_AA)
        return
    mask = np.zeros_like(canvas)
    _rounded_rect(mask, box, radius, 255, -1)
    inner = np.zeros_like(canvas)
    _rounded_rect(
        inner,
        (x0 + thickness, y0 + thickness, x1 - thickness, y1 - thickness),
        max(1, radius - thickness),
        255,
        -1,
    )
    canvas[(mask > 0) & (inner == 0)] = value


def _triangle_points(rng: np.random.Generator, size: int) -> np.ndarray:
    """Three vertices of a triangle of random aspect and orientation, inside ``size`` squared."""
    aspect = float(rng.uniform(0.6, 1.6))  # base / height
    apex_shift = float(rng.uniform(-0.35, 0.35)) if rng.random() < 0.35 else 0.0
    pts = np.array([[apex_shift * aspect, -0.5], [-aspect / 2, 0.5], [aspect / 2, 0.5]], np.float64)
    choice = rng.random()
    angle = float(rng.choice([0, 180, 90, -90])) if choice < 0.7 else float(rng.uniform(0, 360))
    theta = np.deg2rad(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    pts = pts @ rotation.T
    pts -= pts.min(axis=0)
    pts *= (size * 0.9) / pts.max()
    return (pts + size * 0.05).astype(np.int32)


def _emblem(shape: str, rng: np.random.Generator, generator: str, fonts: list[Font]) -> np.ndarray:
    size = 200 * _SS
    canvas: np.ndarray = np.zeros((size, size), np.uint8)
    filled = (
        generator in {"polygon", "badge"}
        and rng.random() < 0.7
        or generator == "rounded"
        and rng.random() < 0.5
    )
    if generator == "outline":
        filled = False
    thickness = max(_SS, int(size * rng.uniform(0.04, 0.24)))
    if shape == "triangular":
        pts = _triangle_points(rng, size)
        if generator == "rounded":
            radius = int(size * rng.uniform(0.04, 0.1))
            cv2.fillPoly(canvas, [pts], 255)
            canvas = cv2.erode(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
            canvas = cv2.dilate(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
            if not filled:
                inner = cv2.erode(
                    canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * thickness + 1,) * 2)
                )
                canvas[inner > 0] = 0
        elif filled:
            cv2.fillPoly(canvas, [pts], 255)
        else:
            cv2.polylines(canvas, [pts], True, 255, thickness, cv2.LINE_AA)
    else:
        aspect = float(rng.uniform(0.85, 1.18))
        w = int(size * 0.9 * min(1.0, aspect))
        h = int(size * 0.9 * min(1.0, 1.0 / aspect))
        x0, y0 = (size - w) // 2, (size - h) // 2
        radius = int(min(w, h) * rng.uniform(0.08, 0.3)) if generator == "rounded" else 0
        if radius:
            _rounded_rect(canvas, (x0, y0, x0 + w, y0 + h), radius, 255, -1 if filled else thickness)
        elif filled:
            cv2.rectangle(canvas, (x0, y0), (x0 + w, y0 + h), 255, -1)
        else:
            cv2.rectangle(
                canvas,
                (x0 + thickness // 2, y0 + thickness // 2),
                (x0 + w - thickness // 2, y0 + h - thickness // 2),
                255,
                thickness,
            )
        if rng.random() < 0.3:
            rotation = cv2.getRotationMatrix2D((size / 2, size / 2), float(rng.uniform(-12, 12)), 0.9)
            canvas = cv2.warpAffine(canvas, rotation, (size, size))
    if generator == "badge":
        _inscribe(canvas, shape, filled, rng, fonts)
    small: np.ndarray = cv2.resize(canvas, (size // _SS, size // _SS), interpolation=cv2.INTER_AREA)
    return _crop(small.astype(np.float32) / 255.0)


def _inscribe(
    canvas: np.ndarray, shape: str, filled: bool, rng: np.random.Generator, fonts: list[Font]
) -> None:
    """A letter or a symbol in the emblem: knocked out of a filled one, drawn inside an outlined one."""
    ys, xs = np.nonzero(canvas)
    cy = int(ys.mean() if shape == "triangular" else (ys.min() + ys.max()) / 2)
    cx = int((xs.min() + xs.max()) / 2)
    extent = int(min(xs.max() - xs.min(), ys.max() - ys.min()) * (0.3 if shape == "triangular" else 0.45))
    glyph = np.zeros_like(canvas)
    if rng.random() < 0.6:
        ttf = [f for f in fonts if f.path]
        letter = str(rng.choice(list(_UPPER)))
        if ttf:
            alpha = _text_lines_ttf([letter], ttf[int(rng.integers(0, len(ttf)))], rng)
        else:
            alpha = _text_lines_hershey([letter], "Hershey Simplex", rng)
        scale = extent / max(alpha.shape)
        alpha = cv2.resize(alpha, (max(1, int(alpha.shape[1] * scale)), max(1, int(alpha.shape[0] * scale))))
        gh, gw = alpha.shape
        y0, x0 = max(0, cy - gh // 2), max(0, cx - gw // 2)
        region = glyph[y0 : y0 + gh, x0 : x0 + gw]
        region[:] = (alpha[: region.shape[0], : region.shape[1]] * 255).astype(np.uint8)
    else:
        kind = rng.integers(0, 3)
        r = extent // 2
        if kind == 0:
            cv2.circle(glyph, (cx, cy), r, 255, -1)
        elif kind == 1:
            t = max(2, r // 3)
            cv2.rectangle(glyph, (cx - r, cy - t), (cx + r, cy + t), 255, -1)
            cv2.rectangle(glyph, (cx - t, cy - r), (cx + t, cy + r), 255, -1)
        else:
            star = [
                (
                    cx + r * np.sin(a) * (1 if i % 2 == 0 else 0.45),
                    cy - r * np.cos(a) * (1 if i % 2 == 0 else 0.45),
                )
                for i, a in enumerate(np.linspace(0, 2 * np.pi, 10, endpoint=False))
            ]
            cv2.fillPoly(glyph, [np.array(star, np.int32)], 255)
    if filled:
        canvas[:] = np.minimum(canvas, 255 - glyph)
    else:
        canvas[:] = np.maximum(canvas, glyph)


def render_mark(
    shape: str, generator: str, rng: np.random.Generator, fonts: list[Font]
) -> tuple[np.ndarray, str]:
    """One mark of ``shape`` by ``generator``: (alpha mask cropped to its ink, font family or "")."""
    if shape in {"triangular", "square"}:
        if generator not in EMBLEM_GENERATORS:
            raise ValueError(f"{generator!r} draws no emblems")
        return _emblem(shape, rng, generator, fonts), ""
    if generator not in TEXT_GENERATORS:
        raise ValueError(f"{generator!r} draws no text")
    lines = _lines(shape, rng)
    hershey = [f for f in fonts if not f.path]
    ttf = [f for f in fonts if f.path]
    if generator == "hershey" or not ttf:
        family = hershey[int(rng.integers(0, len(hershey)))].family if hershey else "Hershey Simplex"
        return _text_lines_hershey(lines, family, rng), family
    font = ttf[int(rng.integers(0, len(ttf)))]
    if generator == "ttf_tracked":
        alpha = _text_lines_ttf(
            lines, font, rng, tracking=float(rng.uniform(-0.05, 0.5)), stroke=float(rng.uniform(0, 0.05))
        )
        if rng.random() < 0.4:
            alpha = _shear(alpha, float(rng.uniform(-0.3, 0.3)))
        return alpha, font.family
    # Some letter spacing and weight here too (mild: ``ttf_tracked`` goes much further).
    tracking = float(rng.uniform(-0.03, 0.18)) if rng.random() < 0.5 else 0.0
    stroke = float(rng.uniform(0.0, 0.03)) if rng.random() < 0.3 else 0.0
    alpha = _text_lines_ttf(lines, font, rng, tracking=tracking, stroke=stroke)
    if generator == "ttf_framed":
        alpha = _frame(alpha, rng)
    return alpha, font.family
