"""A demo brand's product photos, drawn procedurally so the demo ships no image files and downloads nothing.

Every photo is a function of a :class:`ProductSpec` (a seed and a few choices), so the same spec
always gives the same pixels: the demo marketplace re-draws a product with its logo moved to make
a counterfeit, and a look-alike is a spec of the same product type and colours with another seed.
Photos are 640x640 "studio shots": a light gradient background, a soft shadow, one product
silhouette (bottle, sneaker, bag, mug, box, shirt) filled with a textured print and brand text.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

SIZE = 640
PRODUCT_KINDS = ("bottle", "sneaker", "bag", "mug", "box", "shirt")
PATTERNS = ("stripes", "checks", "dots", "waves", "blobs", "confetti")
LOGO_SHAPES = ("triangular", "long_narrow_text", "rectangular_text", "square")
# Logos go on wide products: on a slim bottle a logo is a few pixels and its position moot.
LOGO_KINDS = ("box", "bag", "mug", "shirt", "sneaker")
BRAND_NAME = "Norda Outfitters"
_FONTS = (
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_SIMPLEX,
)


@dataclass(frozen=True)
class ProductSpec:
    """Everything that decides one product photo.

    Attributes:
        sku: the product's name in the catalog or marketplace.
        kind: one of :data:`PRODUCT_KINDS`.
        seed: the seed of every random choice made while drawing.
        pattern: the print on the product, one of :data:`PATTERNS`.
        logo_shape: one of :data:`LOGO_SHAPES`, or None for a product without a registered logo.
        mark: the maker's name printed in text logos (the demo brand's, or another maker's).
    """

    sku: str
    kind: str
    seed: int
    pattern: str
    logo_shape: str | None = None
    mark: str = "NORDA"


@dataclass(frozen=True)
class ProductPhoto:
    """A drawn photo and where its logo sits (x, y, w, h), if it has one."""

    image: np.ndarray
    logo_box: tuple[int, int, int, int] | None
    product_box: tuple[int, int, int, int]


def _palette(rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Three saturated-ish BGR colours far enough apart to print with."""
    hues = (rng.integers(0, 180) + np.array([0, rng.integers(40, 70), rng.integers(95, 130)])) % 180
    hsv = np.zeros((1, 3, 3), np.uint8)
    hsv[0, :, 0] = hues
    hsv[0, :, 1] = rng.integers(90, 230, 3)
    hsv[0, :, 2] = rng.integers(70, 230, 3)
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]
    return [(int(b), int(g), int(r)) for b, g, r in bgr]


def _background(rng: np.random.Generator) -> np.ndarray:
    top = rng.uniform(238, 252)
    bottom = top - rng.uniform(10, 28)
    tint = rng.uniform(-5, 5, 3)
    ramp = np.linspace(top, bottom, SIZE, dtype=np.float32)[:, None, None]
    return np.clip(np.broadcast_to(ramp, (SIZE, SIZE, 3)) + tint, 0, 255).astype(np.float32)


def _silhouette(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A filled mask (uint8 0/255) of the product, centred with some jitter in size and place."""
    mask = np.zeros((SIZE, SIZE), np.uint8)
    s = rng.uniform(0.85, 1.05)
    cx = SIZE / 2 + rng.uniform(-25, 25)
    cy = SIZE / 2 + rng.uniform(-10, 20)

    def pt(x: float, y: float) -> tuple[int, int]:
        return int(cx + x * s), int(cy + y * s)

    if kind == "bottle":
        w, h = rng.uniform(90, 120), rng.uniform(200, 240)
        cv2.rectangle(mask, pt(-w, -h * 0.55), pt(w, h), 255, -1)
        cv2.ellipse(mask, pt(0, -h * 0.55), (int(w * s), int(55 * s)), 0, 180, 360, 255, -1)
        cv2.rectangle(mask, pt(-32, -h - 40), pt(32, -h * 0.55), 255, -1)
        cv2.rectangle(mask, pt(-40, -h - 75), pt(40, -h - 35), 255, -1)
    elif kind == "sneaker":
        upper = [(-250, 90), (-245, 10), (-190, -60), (-90, -90), (-20, -150), (60, -160), (110, -80),
                 (200, -40), (255, 20), (255, 90)]  # fmt: skip
        jitter = rng.uniform(-12, 12, (len(upper), 2))
        # A rocker sole (curved, not a straight bar) so no long straight edge runs along the bottom.
        sole = [(x, 95 + 40 * np.sin(np.pi * (x + 255) / 515)) for x in np.linspace(258, -255, 12)]
        outline = [pt(x + a, y + b) for (x, y), (a, b) in zip(upper, jitter, strict=True)] + [
            pt(x, y) for x, y in sole
        ]
        cv2.fillPoly(mask, [np.array(outline)], 255)
    elif kind == "bag":
        top_w, bottom_w, h = rng.uniform(150, 190), rng.uniform(210, 250), rng.uniform(190, 230)
        poly = [pt(-top_w, -h * 0.4), pt(top_w, -h * 0.4), pt(bottom_w, h), pt(-bottom_w, h)]
        cv2.fillPoly(mask, [np.array(poly)], 255)
        cv2.ellipse(mask, pt(0, -h * 0.4), (int(top_w * 0.6 * s), int(110 * s)), 0, 180, 360, 255, 22)
    elif kind == "mug":
        w, h = rng.uniform(140, 170), rng.uniform(160, 200)
        cv2.rectangle(mask, pt(-w, -h), pt(w, h), 255, -1)
        cv2.ellipse(mask, pt(w, 0), (int(70 * s), int(95 * s)), 0, -90, 90, 255, 30)
    elif kind == "box":
        w, h, d = rng.uniform(150, 190), rng.uniform(150, 190), rng.uniform(60, 90)
        cv2.rectangle(mask, pt(-w, -h + d), pt(w - d, h), 255, -1)
        top = [pt(-w, -h + d), pt(-w + d, -h), pt(w, -h), pt(w - d, -h + d)]
        side = [pt(w - d, -h + d), pt(w, -h), pt(w, h - d), pt(w - d, h)]
        cv2.fillPoly(mask, [np.array(top), np.array(side)], 255)
    elif kind == "shirt":
        poly = [(-90, -230), (-40, -200), (40, -200), (90, -230), (250, -130), (200, -40), (150, -80),
                (150, 230), (-150, 230), (-150, -80), (-200, -40), (-250, -130)]  # fmt: skip
        cv2.fillPoly(mask, [np.array([pt(x, y) for x, y in poly])], 255)
    else:
        raise ValueError(f"unknown product kind {kind!r}; expected one of {PRODUCT_KINDS}")
    # Stretch and shear each product its own way: two products of one kind must not be one
    # similarity transform apart, or their outlines alone would verify as a copy.
    sx, sy, shear = rng.uniform(0.8, 1.15), rng.uniform(0.8, 1.15), rng.uniform(-0.15, 0.15)
    warp = np.array([[sx, shear, 0.0], [0.0, sy, 0.0]], np.float32)
    warp[:, 2] = np.array([cx, cy], np.float32) - warp[:, :2] @ np.array([cx, cy], np.float32)
    return cv2.warpAffine(mask, warp, (SIZE, SIZE), flags=cv2.INTER_NEAREST)


def _texture(pattern: str, palette: list[tuple[int, int, int]], rng: np.random.Generator) -> np.ndarray:
    base, ink, accent = (np.array(c, np.float32) for c in palette)
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = base
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    # Every print is aperiodic (random widths, cells and places): a periodic print would map onto
    # any other print of its kind by a shift and a scale, which is a false match, not a copy.
    colours = [base, ink, accent]
    if pattern == "stripes":
        angle = rng.uniform(0, np.pi)
        coord = xx * np.cos(angle) + yy * np.sin(angle)
        edges = np.cumsum(rng.uniform(8, 55, 80)) - 1000
        index = np.searchsorted(edges, coord)
        choice = rng.integers(0, 3, len(edges) + 1)
        img[:] = np.array(colours, np.float32)[choice[index]]
    elif pattern == "checks":
        cols = np.searchsorted(np.cumsum(rng.uniform(18, 80, 40)), xx)
        rows = np.searchsorted(np.cumsum(rng.uniform(18, 80, 40)), yy)
        cells = rng.integers(0, 3, (41, 41))
        img[:] = np.array(colours, np.float32)[cells[rows, cols]]
    elif pattern == "dots":
        for _ in range(int(rng.integers(160, 240))):
            centre = (int(rng.integers(0, SIZE)), int(rng.integers(0, SIZE)))
            colour = tuple(float(c) for c in (ink if rng.random() < 0.7 else accent))
            cv2.circle(img, centre, int(rng.integers(4, 14)), colour, -1, cv2.LINE_AA)
    elif pattern == "waves":
        y0 = 0.0
        while y0 < SIZE + 60:
            thick = rng.uniform(6, 30)
            amp, wavelength, phase = rng.uniform(5, 30), rng.uniform(25, 90), rng.uniform(0, 6.3)
            curve = y0 + amp * np.sin(xx[0] / wavelength + phase)
            wave_colour = colours[int(rng.integers(0, 3))]
            band = (yy >= curve[None, :]) & (yy < curve[None, :] + thick)
            img[band] = wave_colour
            y0 += thick + rng.uniform(4, 30)
    elif pattern == "blobs":
        for _ in range(int(rng.integers(30, 45))):
            centre = (int(rng.integers(0, SIZE)), int(rng.integers(0, SIZE)))
            axes = (int(rng.integers(15, 70)), int(rng.integers(10, 50)))
            colour = tuple(float(c) for c in (ink if rng.random() < 0.6 else accent))
            cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    elif pattern == "confetti":
        for _ in range(int(rng.integers(90, 140))):
            p = rng.integers(0, SIZE, 2)
            q = p + rng.integers(-30, 30, 2)
            colour = tuple(float(c) for c in (ink if rng.random() < 0.5 else accent))
            cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), colour, int(rng.integers(3, 9)))
    else:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {PATTERNS}")
    _speckle(img, colours, rng)
    return img


def _speckle(img: np.ndarray, colours: list[np.ndarray], rng: np.random.Generator) -> None:
    """Scatter small flecks over the print, as in woven or printed fabric.

    Random flecks give each product its own constellation of corners: a copy keeps them and
    verifies, another product's never line up with them, and they outrank the generic corners
    (straight edges, lines of text) that any two products share.
    """
    inks = [*colours, np.array([245, 245, 245], np.float32), np.array([25, 25, 25], np.float32)]
    for _ in range(int(rng.integers(140, 200))):
        # Random little polygons: unlike round dots, each fleck's corners have their own angles,
        # so their descriptors differ and chance correspondences between products stay rare.
        centre = rng.integers(0, SIZE, 2)
        corners = centre + rng.integers(-9, 10, (int(rng.integers(3, 5)), 2))
        colour = tuple(float(c) for c in inks[int(rng.integers(len(inks)))])
        cv2.fillPoly(img, [corners.astype(np.int32)], colour, cv2.LINE_AA)


def _print_text(
    img: np.ndarray,
    text: str,
    centre: tuple[int, int],
    scale: float,
    colour: tuple,
    thickness: int,
    font: int = cv2.FONT_HERSHEY_DUPLEX,
) -> None:
    (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
    org = (int(centre[0] - w / 2), int(centre[1] + h / 2))
    cv2.putText(img, text, org, font, scale, colour, thickness, cv2.LINE_AA)


def _draw_logo(
    img: np.ndarray, shape: str, mark: str, centre: tuple[int, int], size: int, colour: tuple
) -> tuple:
    """Draw the brand's logo; returns its box (x, y, w, h)."""
    cx, cy = centre
    if shape == "triangular":
        half = size // 2
        pts = np.array([(cx, cy - half), (cx + half, cy + half), (cx - half, cy + half)])
        cv2.fillPoly(img, [pts], colour, cv2.LINE_AA)
        return cx - half, cy - half, 2 * half, 2 * half
    if shape == "square":
        half = size // 2
        cv2.rectangle(img, (cx - half, cy - half), (cx + half, cy + half), colour, -1)
        cv2.circle(img, (cx, cy), half // 2, (245, 245, 245), -1, cv2.LINE_AA)
        return cx - half, cy - half, 2 * half, 2 * half
    if shape == "long_narrow_text":
        w, h = int(size * 1.9), max(12, size // 4)
        cv2.rectangle(img, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), colour, -1)
        _print_text(img, mark, (cx, cy), h / 30, (245, 245, 245), 1)
        return cx - w // 2, cy - h // 2, w, h
    if shape == "rectangular_text":
        w, h = int(size * 1.5), int(size * 0.8)
        cv2.rectangle(img, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), colour, -1)
        _print_text(img, mark[:2], (cx, cy - h // 6), h / 55, (245, 245, 245), 2)
        _print_text(img, mark[2:], (cx, cy + h // 4), h / 70, (245, 245, 245), 1)
        return cx - w // 2, cy - h // 2, w, h
    raise ValueError(f"unknown logo shape {shape!r}; expected one of {LOGO_SHAPES}")


def _random_letters(rng: np.random.Generator, n: int) -> str:
    return "".join(chr(ord("A") + int(c)) for c in rng.integers(0, 26, n))


def render_product(spec: ProductSpec, *, logo_offset: float = 0.0) -> ProductPhoto:
    """Draw the photo of ``spec``.

    Args:
        spec: the product.
        logo_offset: where the logo sits, as a signed fraction of the product's width from its
            centre line (0 = centred, the genuine placement; negative = left). Ignored without a logo.

    Returns:
        The photo (BGR uint8, 640x640), its logo box and the product's bounding box.
    """
    rng = np.random.default_rng(spec.seed)
    palette = _palette(rng)
    img = _background(rng)
    mask = _silhouette(spec.kind, rng)
    x, y, w, h = cv2.boundingRect(mask)

    shadow: np.ndarray = np.zeros((SIZE, SIZE), np.float32)
    cv2.ellipse(shadow, (x + w // 2, y + h), (int(w * 0.55), max(10, h // 12)), 0, 0, 360, 1.0, -1)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 14)
    img *= (1.0 - 0.35 * shadow)[..., None]

    if spec.logo_shape is None:
        texture = _texture(spec.pattern, palette, rng)
    else:
        # A logo product is a plain colour with a printed band top and bottom, so the logo stands out.
        texture = np.empty((SIZE, SIZE, 3), np.float32)
        texture[:] = np.array(palette[0], np.float32) * 0.6 + 255 * 0.4
        band = _texture(spec.pattern, palette, rng)
        rows = (np.arange(SIZE) < y + h * 0.22) | (np.arange(SIZE) > y + h * 0.8)
        texture[rows] = band[rows]
    # Soft side lighting gives the product some volume.
    light = 0.78 + 0.32 * np.cos((np.arange(SIZE, dtype=np.float32) - (x + w * 0.4)) / max(w, 1) * 2.2)
    texture *= np.clip(light, 0.6, 1.1)[None, :, None]
    inside = mask > 0
    img[inside] = texture[inside]
    edge = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    img[edge] *= 0.55
    canvas = np.clip(img, 0, 255).astype(np.uint8)  # OpenCV 5 draws text on 8-bit images only

    # A small printed name, made per product and in a tone close to the print under it: bold
    # black-on-white text lines up with any other line of text (collinear corners verify under
    # almost any transform), so large high-contrast labels would make every product look alike.
    word = _random_letters(rng, int(rng.integers(4, 7)))
    # Above the 1/3–2/3 band where logos are judged, centred on the product's row there: an
    # off-centre print inside the band would read as a shifted logo.
    label_y = int(y + h * 0.12) if spec.logo_shape else int(y + h * rng.uniform(0.18, 0.26))
    row = np.nonzero(mask[label_y])[0]
    cx = int(row.min() + row.max()) // 2 if row.size else x + w // 2
    under = canvas[max(0, label_y - 12) : label_y + 12, max(0, cx - 40) : cx + 40].reshape(-1, 3).mean(axis=0)
    tone = under + (22 if under.mean() < 128 else -22)
    colour = tuple(int(np.clip(c, 0, 255)) for c in tone)
    font = _FONTS[int(rng.integers(len(_FONTS)))]
    _print_text(canvas, word, (cx, label_y), float(rng.uniform(0.6, 0.9)), colour, 1, font)

    logo_box = None
    if spec.logo_shape is not None:
        centre = (int(x + w / 2 + logo_offset * w), int(y + h / 2))
        size = int(w * rng.uniform(0.13, 0.17))
        logo_colour = tuple(int(c) // 2 for c in palette[2])
        lx, ly, lw, lh = (
            int(v) for v in _draw_logo(canvas, spec.logo_shape, spec.mark, centre, size, logo_colour)
        )
        logo_box = (lx, ly, lw, lh)

    noise = rng.normal(0, 2.0, canvas.shape).astype(np.float32)  # sensor noise, as in a real photo
    image = np.clip(canvas + noise, 0, 255).astype(np.uint8)
    return ProductPhoto(image=image, logo_box=logo_box, product_box=(x, y, w, h))


def product_specs(
    count: int, *, seed: int, prefix: str, logo_every: int = 0, mark: str | None = None
) -> list[ProductSpec]:
    """``count`` varied specs from one seed; every ``logo_every``-th one carries a logo (0 = none).

    ``mark`` is the maker's name in text logos; None gives each product another maker's random name.
    """
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(count):
        logo = (
            LOGO_SHAPES[(i // max(logo_every, 1)) % len(LOGO_SHAPES)]
            if logo_every and i % logo_every == 0
            else None
        )
        specs.append(
            ProductSpec(
                sku=f"{prefix}-{i:03d}",
                kind=LOGO_KINDS[(i // max(logo_every, 1)) % len(LOGO_KINDS)]
                if logo
                else PRODUCT_KINDS[i % len(PRODUCT_KINDS)],
                seed=int(rng.integers(1 << 31)),
                pattern=PATTERNS[int(rng.integers(len(PATTERNS)))],
                logo_shape=logo,
                mark=mark or _random_letters(rng, 5),
            )
        )
    return specs


@dataclass(frozen=True)
class DemoCatalog:
    """The demo brand's originals on disk."""

    brand: str
    specs: list[ProductSpec]
    paths: list[Path]
    logo_boxes: dict[str, tuple[int, int, int, int]]

    def spec(self, sku: str) -> ProductSpec:
        return next(s for s in self.specs if s.sku == sku)


def write_catalog(directory: Path, *, count: int = 40, seed: int = 2024, logo_every: int = 4) -> DemoCatalog:
    """Draw the brand's ``count`` originals as PNG files under ``directory`` (with a ``catalog.json``).

    Args:
        directory: where to write; created if missing, existing files are overwritten.
        count: how many originals.
        seed: the seed of the whole catalog; the same seed gives the same files.
        logo_every: every n-th original carries a registered logo at its centre.

    Returns:
        The catalog's specs, file paths (in sku order) and logo boxes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    specs = product_specs(count, seed=seed, prefix="norda", logo_every=logo_every, mark="NORDA")
    paths, boxes = [], {}
    for spec in specs:
        photo = render_product(spec)
        path = directory / f"{spec.sku}.png"
        cv2.imwrite(str(path), photo.image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        paths.append(path)
        if photo.logo_box is not None:
            boxes[spec.sku] = photo.logo_box
    manifest = {"brand": BRAND_NAME, "specs": [asdict(s) for s in specs], "logo_boxes": boxes}
    (directory / "catalog.json").write_text(json.dumps(manifest, indent=1))
    return DemoCatalog(brand=BRAND_NAME, specs=specs, paths=paths, logo_boxes=boxes)
