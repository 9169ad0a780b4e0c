"""A second, independent scene generator for the logo benchmark (``style="alt"``).

Unlike the seed's scenes (:func:`detection.logo.bench.draw_product_with_logo`): other product
silhouettes (jar, tote, tee with slanted sleeves, pouch, backpack, carton), gradient and textured
backgrounds of any lightness, fabric-like grain on the product, logos in any contrasting colour
(light on dark included), other image sizes and a stronger camera.
"""

from __future__ import annotations

import cv2
import numpy as np

from detection.logo.fonts import Font
from detection.logo.position import offset_range

ALT_PRODUCTS = ("jar", "tote", "tee", "pouch", "backpack", "carton")


def _silhouette(
    kind: str, width: int, height: int, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    mask = np.zeros((height, width), np.uint8)
    bw = int(width * rng.uniform(0.42, 0.75))
    bh = int(height * rng.uniform(0.55, 0.8))
    x = (width - bw) // 2 + int(rng.integers(-width // 10, width // 10 + 1))
    y = (height - bh) // 2 + int(rng.integers(-height // 12, height // 12 + 1))
    x = int(np.clip(x, 4, width - bw - 4))
    y = int(np.clip(y, 4, height - bh - 4))
    r = int(min(bw, bh) * rng.uniform(0.03, 0.12))
    if kind == "jar":
        lid = bh // 7
        _round_rect(mask, x, y + lid, bw, bh - lid, r)
        cv2.rectangle(mask, (x + bw // 6, y), (x + bw - bw // 6, y + lid + r), 255, -1)
    elif kind == "tote":
        top = bh // 4
        flare = int(bw * 0.04)
        pts = np.array(
            [[x + flare, y + top], [x + bw - flare, y + top], [x + bw, y + bh], [x, y + bh]], np.int32
        )
        cv2.fillPoly(mask, [pts], 255)
        for cx in (x + bw // 3, x + 2 * bw // 3):
            cv2.ellipse(mask, (cx, y + top), (bw // 9, top - 2), 0, 180, 360, 255, max(3, bw // 30))
    elif kind == "tee":
        sleeve = bh // 4
        cv2.rectangle(mask, (x + bw // 7, y), (x + bw - bw // 7, y + bh), 255, -1)
        left = np.array(
            [[x + bw // 7, y], [x - bw // 10, y + sleeve], [x + bw // 7, y + sleeve + bh // 12]], np.int32
        )
        right = left.copy()
        right[:, 0] = 2 * x + bw - right[:, 0]
        cv2.fillPoly(mask, [left, right], 255)
        cv2.ellipse(mask, (x + bw // 2, y), (bw // 7, bh // 18), 0, 0, 180, 0, -1)
    elif kind == "pouch":
        _round_rect(mask, x, y, bw, bh, int(min(bw, bh) * 0.2))
    elif kind == "backpack":
        _round_rect(mask, x, y + bh // 5, bw, bh - bh // 5, r)
        cv2.ellipse(mask, (x + bw // 2, y + bh // 5 + 1), (bw // 2, bh // 5), 0, 180, 360, 255, -1)
    else:
        _round_rect(mask, x, y, bw, bh, max(1, r // 3))
    return mask, (x, y, bw, bh)


def _round_rect(mask: np.ndarray, x: int, y: int, w: int, h: int, r: int) -> None:
    r = max(1, min(r, w // 2, h // 2))
    cv2.rectangle(mask, (x + r, y), (x + w - r, y + h), 255, -1)
    cv2.rectangle(mask, (x, y + r), (x + w, y + h - r), 255, -1)
    for cx, cy in ((x + r, y + r), (x + w - r, y + r), (x + r, y + h - r), (x + w - r, y + h - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1)


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    light = rng.random() < 0.75
    a = rng.uniform(190, 255, 3) if light else rng.uniform(60, 150, 3)
    b = np.clip(a + rng.uniform(-35, 35, 3), 0, 255)
    t = (
        np.linspace(0, 1, height)[:, None, None]
        if rng.random() < 0.5
        else np.linspace(0, 1, width)[None, :, None]
    )
    image = a[None, None, :] * (1 - t) + b[None, None, :] * t
    image = np.broadcast_to(image, (height, width, 3)).astype(np.float32)
    grain = cv2.resize(
        rng.normal(0, 1, (height // 16 + 1, width // 16 + 1)).astype(np.float32), (width, height)
    )
    return image + grain[:, :, None] * rng.uniform(0, 6)


def _contrasting(body: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A logo colour clearly unlike the product's (any hue; light on dark or dark on light)."""
    for _ in range(50):
        colour = rng.uniform(0, 255, 3)
        if np.abs(colour - body).sum() > 200 and abs(colour.mean() - body.mean()) > 45:
            return colour.astype(np.float32)
    return np.where(body.mean() > 120, np.float32(20), np.float32(240)) * np.ones(3, np.float32)


def draw_alt_scene(
    rng: np.random.Generator, position: str | None, shape: str | None, generator: str, fonts: list[Font]
) -> tuple[np.ndarray, dict]:
    """An alt-style product photo; returns (BGR image, truth dict as the seed's scenes give)."""
    from detection.logo.bench import legible_mark, paste_mark

    width = int(rng.choice([420, 480, 560, 640]))
    height = int(width * rng.uniform(0.8, 1.25))
    image = _background(width, height, rng)
    kind = ALT_PRODUCTS[int(rng.integers(0, len(ALT_PRODUCTS)))]
    mask, (bx, by, bw, bh) = _silhouette(kind, width, height, rng)
    body = rng.uniform(20, 235, 3).astype(np.float32)
    while np.abs(body - image[height // 2, width // 2]).sum() < 90:
        body = rng.uniform(20, 235, 3).astype(np.float32)
    light = np.linspace(-1, 1, height)[:, None] * rng.uniform(-18, 18) + np.linspace(-1, 1, width)[
        None, :
    ] * rng.uniform(-18, 18)
    grain = rng.normal(0, rng.uniform(0, 4), (height, width))
    product = body[None, None, :] + (light + grain)[:, :, None]
    image[mask > 0] = product[mask > 0]
    image = np.clip(image, 0, 255).astype(np.uint8)
    truth: dict = {"position": position or "", "shape": shape or "", "product": kind, "offset": None,
                   "font": "", "generator": generator if shape else ""}  # fmt: skip
    object_ys = np.nonzero(mask.any(axis=1))[0]
    y0, y1 = int(object_ys.min()), int(object_ys.max()) + 1
    band = (y0 + (y1 - y0) // 3, y0 + 2 * (y1 - y0) // 3)
    if position is not None and shape is not None:
        row = (band[0] + band[1]) // 2 + int(
            rng.integers(-(band[1] - band[0]) // 8, (band[1] - band[0]) // 8 + 1)
        )
        columns = np.nonzero(mask[row])[0]
        x0, x1 = int(columns.min()), int(columns.max()) + 1
        product_width = x1 - x0
        alpha, truth["font"], logo_width = legible_mark(
            shape, generator, rng, fonts, position, product_width, band[1] - band[0]
        )
        low, high = offset_range(position)
        limit = 0.5 - (logo_width / product_width) / 2 - 0.02
        low, high = max(low, -limit), min(high, limit)
        offset = float(rng.uniform(low + 0.12 * (high - low), high - 0.12 * (high - low)))
        centre = (int(round((x0 + x1) / 2 + offset * product_width)), row)
        paste_mark(image, alpha, centre, logo_width, _contrasting(body, rng))
        truth["offset"] = round(offset, 4)
    return _camera(image, rng), truth


def _camera(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    rotation = cv2.getRotationMatrix2D(
        (w / 2, h / 2), float(rng.uniform(-3, 3)), float(rng.uniform(0.95, 1.02))
    )
    image = cv2.warpAffine(image, rotation, (w, h), borderMode=cv2.BORDER_REPLICATE)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    moved = (corners + rng.uniform(-0.02, 0.02, (4, 2)) * np.array([w, h])).astype(np.float32)
    image = cv2.warpPerspective(
        image, cv2.getPerspectiveTransform(corners, moved), (w, h), borderMode=cv2.BORDER_REPLICATE
    )
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.4, 1.2)))
    gain = rng.uniform(0.9, 1.1)
    noisy = image.astype(np.float32) * gain + rng.normal(0, rng.uniform(1.0, 6.0), image.shape)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    quality = int(rng.integers(50, 92))
    return np.asarray(
        cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)
    )
