"""Edit families a thief applies to a stolen product photo, shared by training and the benchmark.

Each family is ``edit(image, rng, ...) -> image`` on BGR uint8 arrays, drawing its parameters from
``rng``. Ranges are a little wider than the dev benchmark's (see its README) so that what is
trained and measured here generalises to stronger edits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import albumentations as A
import cv2
import numpy as np

from detection.stolen import stolen_strips

Edit = Callable[..., np.ndarray]

WHITE = (255, 255, 255)


def _color(rng: np.random.Generator) -> tuple[int, int, int]:
    b, g, r = (int(c) for c in rng.integers(0, 256, 3))
    return b, g, r


def crop_strip(image: np.ndarray, rng: np.random.Generator, index: int | None = None) -> np.ndarray:
    """A full-width horizontal strip: the seed's strip ``index`` (0-2), else 35-65 % high anywhere."""
    if index is not None:
        return stolen_strips(image)[index]
    h = image.shape[0]
    height = max(1, int(round(h * rng.uniform(0.35, 0.65))))
    top = int(rng.integers(0, h - height + 1))
    return image[top : top + height].copy()


def crop_random(
    image: np.ndarray, rng: np.random.Generator, area: tuple[float, float] = (0.25, 0.75)
) -> np.ndarray:
    """A random crop covering ``area`` of the image (fraction), aspect 0.5-2 of the original's."""
    h, w = image.shape[:2]
    fraction = rng.uniform(*area)
    aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
    cw = int(np.clip(round(w * np.sqrt(fraction * aspect)), 8, w))
    ch = int(np.clip(round(h * np.sqrt(fraction / aspect)), 8, h))
    x = int(rng.integers(0, w - cw + 1))
    y = int(rng.integers(0, h - ch + 1))
    return image[y : y + ch, x : x + cw].copy()


def hflip(image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """The mirrored image."""
    return A.HorizontalFlip(p=1.0)(image=image)["image"].copy()


def rotate(
    image: np.ndarray, rng: np.random.Generator, degrees: tuple[float, float] = (3.0, 40.0)
) -> np.ndarray:
    """Rotation by 3-40 degrees either way on an expanded canvas filled white, black or a random colour."""
    angle = float(rng.uniform(*degrees)) * float(rng.choice([-1, 1]))
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    fill = [WHITE, (0, 0, 0), _color(rng)][int(rng.integers(0, 3))]
    return cv2.warpAffine(image, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=fill)


def scale_down(
    image: np.ndarray, rng: np.random.Generator, factor: tuple[float, float] = (0.2, 0.5)
) -> np.ndarray:
    """Downscaled to 20-50 % of each side."""
    f = float(rng.uniform(*factor))
    h, w = image.shape[:2]
    size = (max(8, int(round(w * f))), max(8, int(round(h * f))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def jpeg(image: np.ndarray, rng: np.random.Generator, quality: tuple[int, int] = (12, 50)) -> np.ndarray:
    """Re-encoded as JPEG at quality 12-50 (decoded back)."""
    q = int(rng.integers(quality[0], quality[1] + 1))
    return A.ImageCompression(quality_range=(q, q), p=1.0)(image=image)["image"]


def color(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One colour change: hue shift 20-160, hue inversion, saturation, brightness/contrast or grayscale."""
    kind = int(rng.integers(0, 5))
    if kind == 4:
        return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if kind == 3:
        alpha = rng.uniform(0.55, 1.5)  # contrast
        beta = rng.uniform(-70, 70)  # brightness
        return cv2.convertScaleAbs(image, alpha=alpha, beta=beta)
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.int32)
    if kind == 0:  # OpenCV hue is 0-179 (degrees / 2)
        hsv[..., 0] = (hsv[..., 0] + int(rng.uniform(20, 160) / 2)) % 180
    elif kind == 1:
        hsv[..., 0] = (hsv[..., 0] + 90) % 180
    else:
        factor = rng.uniform(0.1, 0.5) if rng.random() < 0.5 else rng.uniform(1.6, 2.6)
        hsv[..., 1] = np.clip(hsv[..., 1] * factor, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def _text(rng: np.random.Generator) -> str:
    words = ["SALE", "-50%", "NEW", "HOT DEAL", "FREE SHIPPING", "BEST PRICE", "LIMITED"]
    return str(rng.choice(words))


def text_overlay(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sale banner, price sticker, rotated semi-transparent watermark or URL strip."""
    out = image.copy()
    h, w = out.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    kind = int(rng.integers(0, 4))
    if kind == 0:  # banner across the top or bottom
        band = int(h * rng.uniform(0.1, 0.22))
        y0 = 0 if rng.random() < 0.5 else h - band
        cv2.rectangle(out, (0, y0), (w, y0 + band), _color(rng), -1)
        cv2.putText(
            out, _text(rng), (int(w * 0.05), y0 + int(band * 0.75)), font, band / 40, WHITE, 2, cv2.LINE_AA
        )
    elif kind == 1:  # price sticker
        r = int(min(h, w) * rng.uniform(0.1, 0.2))
        cx, cy = int(rng.integers(r, w - r + 1)), int(rng.integers(r, h - r + 1))
        cv2.circle(out, (cx, cy), r, _color(rng), -1)
        cv2.putText(
            out,
            f"${int(rng.integers(5, 99))}",
            (cx - r // 2, cy + r // 4),
            font,
            r / 30,
            WHITE,
            2,
            cv2.LINE_AA,
        )
    elif kind == 2:  # diagonal semi-transparent watermark
        layer = np.zeros_like(out)
        scale = max(w, h) / 250
        for row in range(int(rng.integers(1, 4))):
            y = int(h * (row + 1) / 4)
            cv2.putText(
                layer,
                str(rng.choice(["COPYRIGHT", "shop.example", "WATERMARK"])),
                (int(w * 0.05), y),
                font,
                scale,
                WHITE,
                3,
            )
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-45, 45)), 1.0)
        layer = cv2.warpAffine(layer, matrix, (w, h))
        alpha = rng.uniform(0.3, 0.7)
        mask = layer.max(axis=2, keepdims=True) > 0
        tint = np.array(_color(rng), dtype=np.float32)
        out = np.where(mask, (1 - alpha) * out + alpha * tint, out).astype(np.uint8)
    else:  # URL strip
        band = max(12, int(h * rng.uniform(0.06, 0.12)))
        cv2.rectangle(out, (0, h - band), (w, h), (0, 0, 0), -1)
        cv2.putText(
            out, "www.cheap-deals.example", (4, h - band // 4), font, band / 36, WHITE, 1, cv2.LINE_AA
        )
    return out


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    scale = min(width / image.shape[1], height / image.shape[0])
    size = (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def insert(
    image: np.ndarray,
    rng: np.random.Generator,
    others: Sequence[np.ndarray] = (),
    size: tuple[float, float] = (0.25, 0.65),
    canvas: tuple[float, float] = (1.5, 3.0),
) -> np.ndarray:
    """The image at 25-65 % of a 1.5-3x larger canvas: a colour, another image, or beside another product."""
    h, w = image.shape[:2]
    factor = rng.uniform(*canvas)
    ch, cw = int(h * factor * rng.uniform(0.8, 1.25)), int(w * factor)
    kind = int(rng.integers(0, 3)) if len(others) else 0
    if kind == 1:
        background = cv2.resize(others[int(rng.integers(0, len(others)))], (cw, ch))
    else:
        background = np.full((ch, cw, 3), _color(rng), dtype=np.uint8)
    fraction = rng.uniform(*size)
    piece = _fit(image, int(cw * fraction), int(ch * fraction))
    ph, pw = piece.shape[:2]
    if kind == 2:  # another product takes the other side
        other = _fit(others[int(rng.integers(0, len(others)))], cw - pw - 4, ch - 4)
        oh, ow = other.shape[:2]
        background[(ch - oh) // 2 : (ch - oh) // 2 + oh, cw - ow : cw] = other
        x = int(rng.integers(0, max(1, cw - pw - ow) + 1))
    else:
        x = int(rng.integers(0, cw - pw + 1))
    y = int(rng.integers(0, ch - ph + 1))
    background[y : y + ph, x : x + pw] = piece
    return background


def border(
    image: np.ndarray, rng: np.random.Generator, padding: tuple[float, float] = (0.04, 0.25)
) -> np.ndarray:
    """Padding of 4-25 % of the side in a plain colour, sometimes with a second frame."""
    h, w = image.shape[:2]
    p = int(max(h, w) * rng.uniform(*padding))
    out = cv2.copyMakeBorder(image, p, p, p, p, cv2.BORDER_CONSTANT, value=_color(rng))
    if rng.random() < 0.5:
        q = max(2, p // 4)
        out = cv2.copyMakeBorder(out, q, q, q, q, cv2.BORDER_CONSTANT, value=_color(rng))
    return out


def combo(image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray] = ()) -> np.ndarray:
    """Random crop (30-80 %) + colour change + JPEG 20-60, sometimes mirrored or framed too."""
    out = crop_random(image, rng, area=(0.3, 0.8))
    out = color(out, rng)
    if rng.random() < 0.25:
        out = hflip(out)
    if rng.random() < 0.25:
        out = border(out, rng)
    return jpeg(out, rng, quality=(20, 60))


# --- stronger edits: the dev families pushed further, for `copywatch bench make --strong` -------


def perspective(
    image: np.ndarray, rng: np.random.Generator, inset: tuple[float, float] = (0.04, 0.18)
) -> np.ndarray:
    """Photographed at an angle: each corner pulled 4-18 % of the side inwards, white around."""
    h, w = image.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    pull = rng.uniform(*inset, size=(4, 2)) * np.array([w, h], np.float32)
    dst = (src + pull * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=WHITE)


def stretch(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Forced into another aspect ratio (a shop's square or tall thumbnail slot): one side scaled
    by 0.6-0.8, the other kept."""
    h, w = image.shape[:2]
    factor = float(rng.uniform(0.6, 0.8))
    size = (max(1, round(w * factor)), h) if rng.random() < 0.5 else (w, max(1, round(h * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def watermark(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A shop's name tiled diagonally over the whole photo, 35-60 % opaque."""
    h, w = image.shape[:2]
    mask = np.zeros((3 * h, 3 * w), np.uint8)  # drawn larger, so the tilted tiling still covers every corner
    scale = max(w, h) / 400
    name = str(rng.choice(["SHOPNAME.COM", "best-deals.example", "(c) MEGASTORE"]))
    step = max(12, int(70 * scale))
    for row, y in enumerate(range(step, 3 * h, step)):
        cv2.putText(mask, f"{name}   " * 12, ((row % 2) * step, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 3)
    angle = float(rng.uniform(20, 45)) * float(rng.choice([-1, 1]))
    tilted = cv2.warpAffine(mask, cv2.getRotationMatrix2D((1.5 * w, 1.5 * h), angle, 1.0), (3 * w, 3 * h))
    alpha = (tilted[h : 2 * h, w : 2 * w].astype(np.float32) / 255 * rng.uniform(0.35, 0.6))[..., None]
    tint = np.array(WHITE if rng.random() < 0.6 else (0, 0, 0), np.float32)
    return ((1 - alpha) * image + alpha * tint).astype(np.uint8)


def blur_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A poor re-photograph: Gaussian blur (sigma 1-2.5), sensor noise (sigma 5-15), JPEG 20-45."""
    blurred = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(1.0, 2.5)))
    noisy = blurred.astype(np.float32) + rng.normal(0, rng.uniform(5, 15), image.shape).astype(np.float32)
    return jpeg(np.clip(noisy, 0, 255).astype(np.uint8), rng, quality=(20, 45))


def low_res(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A thumbnail: longest side 96-160 px, JPEG 50-80."""
    side = int(rng.integers(96, 161))
    scale = side / max(image.shape[:2])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return jpeg(small, rng, quality=(50, 80))


def small_insert(
    image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """The image at only 12-30 % of a larger canvas (a product in a room, a busy collage)."""
    return insert(image, rng, others=others, size=(0.12, 0.3), canvas=(2.0, 3.5))


def tight_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A detail: a random crop of 12-30 % of the area."""
    return crop_random(image, rng, area=(0.12, 0.3))


def rotate_big(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotated by 40-180 degrees either way."""
    return rotate(image, rng, degrees=(40.0, 180.0))


def mirror_combo(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirrored, cropped to 30-60 %, recoloured and compressed at JPEG 20-45."""
    return jpeg(color(crop_random(hflip(image), rng, area=(0.3, 0.6)), rng), rng, quality=(20, 45))


#: The edit families by name (the benchmark's ``transform`` column).
EDIT_FAMILIES: dict[str, Edit] = {
    "crop_strip": crop_strip,
    "crop_random": crop_random,
    "hflip": hflip,
    "rotate": rotate,
    "scale_down": scale_down,
    "jpeg": jpeg,
    "color": color,
    "text_overlay": text_overlay,
    "insert": insert,
    "border": border,
    "combo": combo,
    "perspective": perspective,
    "stretch": stretch,
    "watermark": watermark,
    "blur_noise": blur_noise,
    "low_res": low_res,
    "small_insert": small_insert,
    "tight_crop": tight_crop,
    "rotate_big": rotate_big,
    "mirror_combo": mirror_combo,
}
_NEEDS_OTHERS = {"insert", "combo", "small_insert"}


def apply_edit(
    name: str, image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """Apply the edit family ``name`` (``"none"`` returns a copy).

    Args:
        name: a key of :data:`EDIT_FAMILIES`, ``"none"``, or several keys joined by ``+``, applied
            left to right (``"hflip+small_insert"``: a mirrored copy pasted small into a scene).
        image: BGR uint8 image.
        rng: numpy random generator.
        others: other images, used as backgrounds or neighbours by ``insert``.

    Returns:
        The edited BGR uint8 image.
    """
    steps = edit_steps(name)
    if not steps:
        return image.copy()
    for step in steps:
        if step in _NEEDS_OTHERS:
            image = EDIT_FAMILIES[step](image, rng, others=others)
        else:
            image = EDIT_FAMILIES[step](image, rng)
    return image


def edit_steps(name: str) -> list[str]:
    """The families an edit name applies, in order (``[]`` for ``"none"``); an unknown one is refused."""
    if name == "none":
        return []
    steps = name.split("+")
    for step in steps:
        if step not in EDIT_FAMILIES:
            raise ValueError(
                f"unknown edit family {step!r} in {name!r}; choose from none, {', '.join(EDIT_FAMILIES)}"
                " (join several with '+')"
            )
    return steps
