"""A labelled logo benchmark (docs/formats.md) and its evaluation.

Products are drawn procedurally (bottle, bag, box, shirt, can, shoe-box silhouettes in plain or
gradient colours on light backgrounds); the logo — a text mark in a Hershey font or a geometric
mark — is placed at an offset drawn from inside one of the seven position bins, at varied sizes,
then the photo gets slight rotation and perspective, noise, blur and JPEG. Genuine images have the logo at CM.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from detection.imageio import decode_bgr, read_bgr
from detection.logo.check import check
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
    rng: np.random.Generator, position: str | None, shape: str | None, size: tuple[int, int] = (480, 480)
) -> tuple[np.ndarray, dict]:
    """A product photo with a logo at ``position`` (one of the seven) and ``shape``; None = no logo.

    Returns:
        (BGR image, truth dict with position, shape, offset, logo box and product kind).
    """
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
    truth: dict = {"position": position or "", "shape": shape or "", "product": kind, "offset": None}
    if position is not None and shape is not None:
        band_y = by + bh // 3, by + 2 * bh // 3
        row = (band_y[0] + band_y[1]) // 2
        columns = np.nonzero(mask[row])[0]
        x0, x1 = int(columns.min()), int(columns.max()) + 1
        product_width = x1 - x0
        low, high = offset_range(position)
        logo_width = (
            int(product_width * rng.uniform(0.1, 0.16))
            if shape in {"triangular", "square"}
            else int(product_width * rng.uniform(0.16, 0.22) * (1.15 if shape == "long_narrow_text" else 1.0))
        )
        # Keep the whole logo on the product: outer bins are bounded by the product's edge.
        limit = 0.5 - (logo_width / product_width) / 2 - 0.01
        low, high = max(low, -limit), min(high, limit)
        offset = float(rng.uniform(low + 0.15 * (high - low), high - 0.15 * (high - low)))
        centre = (
            int(round((x0 + x1) / 2 + offset * product_width)),
            row + int(rng.integers(-bh // 20, bh // 20 + 1)),
        )
        cb, cg, cr = (int(v) for v in np.where(body > 110, body * 0.25, np.minimum(255, body + 120)))
        contrast = (cb, cg, cr)
        _draw_logo(image, shape, centre, logo_width, contrast, rng)
        truth["offset"] = round(offset, 4)
    image = _photograph(image, rng)
    return image, truth


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


def make_logo_benchmark(out_dir: str | Path, n: int = 700, seed: int = 0) -> Path:
    """Write ``n`` images: logos at each of the seven positions in every shape, plus ~7 % without logo."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        if i % 15 == 14:
            position, shape = None, None
        else:
            position = POSITIONS[i % 7]
            shape = SHAPES[(i // 7) % len(SHAPES)]
        image, truth = draw_product_with_logo(rng, position, shape)
        image_id = f"l{i:05d}"
        cv2.imwrite(str(out / "images" / f"{image_id}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        verdict = "no_logo" if position is None else ("genuine" if position == "CM" else "counterfeit")
        rows.append(
            {"image_id": image_id, "position": position or "", "shape": shape or "", "verdict": verdict}
        )
    with (out / "truth.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image_id", "position", "shape", "verdict"])
        writer.writeheader()
        writer.writerows(rows)
    return out


def evaluate_logo_benchmark(bench_dir: str | Path, limit: int | None = None) -> dict:
    """Run the seed-rule check on every image; the logo report of docs/formats.md."""
    bench = Path(bench_dir)
    with (bench / "truth.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:limit]
    confusion: dict[str, Counter] = {p: Counter() for p in POSITIONS}
    correct_position = positioned = correct_shape = shaped = 0
    counterfeit_hits = counterfeits = false_alarms = genuines = 0
    elapsed = 0.0
    cv2.setNumThreads(1)
    for row in rows:
        path = next(bench.glob(f"images/{row['image_id']}.*"))
        image = read_bgr(path)
        started = time.thread_time()  # CPU time of this thread: what one core spends, whatever else runs
        verdict = check(image)
        elapsed += time.thread_time() - started
        if row["position"]:
            positioned += 1
            predicted = verdict.position or "none"
            confusion[row["position"]][predicted] += 1
            correct_position += predicted == row["position"]
            shaped += 1
            correct_shape += verdict.shape == row["shape"]
        if row["verdict"] == "counterfeit":
            counterfeits += 1
            counterfeit_hits += verdict.suspicious
        elif row["verdict"] == "genuine":
            genuines += 1
            false_alarms += verdict.suspicious
    return {
        "images": len(rows),
        "position_accuracy": round(100.0 * correct_position / max(positioned, 1), 2),
        "confusion": {truth: dict(counts) for truth, counts in confusion.items()},
        "counterfeit_recall": round(100.0 * counterfeit_hits / max(counterfeits, 1), 2),
        "false_alarm_rate": round(100.0 * false_alarms / max(genuines, 1), 2),
        "shape_accuracy": round(100.0 * correct_shape / max(shaped, 1), 2),
        "ms_per_image": round(1000.0 * elapsed / max(len(rows), 1), 2),
    }


if __name__ == "__main__":  # pragma: no cover - quick manual check
    import sys

    print(json.dumps(evaluate_logo_benchmark(make_logo_benchmark(sys.argv[1], int(sys.argv[2])))))
