"""The benchmark catalogue every engine is loaded with: products, prices, categories, photos.

``python catalog.py OUT_DIR [--products N]`` writes ``OUT_DIR/catalogue.json`` (the ground truth:
per product its SKU, title, price, category and image files) and the photos under
``OUT_DIR/images/``: distinct 600x500 JPEGs (a seeded pattern per photo), so a crawl's stored images
can be matched to the photos they were made from even after an engine resized them. Every product
has one photo, two in five a second, one in ten a third (about 1.5 a product).

Like a real shop's, some products cannot be bought today: ``availability`` is ``in_stock`` (50
units), ``sold_out`` (a stock record with 0 units: one in nine) or ``unavailable`` (no stock or price
record where the engine allows one, else sold out: one in nine). They are products all the same:
a crawler must find them and their photos.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

WORDS = ("Linen", "Canvas", "Walnut", "Copper", "Amber", "Coastal", "Alpine", "Harbor", "Meadow", "Ember")
THINGS = ("Tote", "Lamp", "Mug", "Scarf", "Notebook", "Planter", "Clock", "Backpack", "Vase", "Blanket")
CATEGORIES = ("Home", "Bags", "Kitchen", "Office")
AVAILABILITY = ("in_stock",) * 4 + ("sold_out",) + ("in_stock",) * 3 + ("unavailable",)


def photo(seed: int, path: Path) -> None:
    rng = random.Random(seed)
    image = Image.new("RGB", (600, 500), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(560), rng.randrange(460)
        w, h = rng.randrange(40, 300), rng.randrange(40, 260)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), fill=colour)
    image.save(path, "JPEG", quality=88)


def build(out: Path, products: int) -> dict:
    (out / "images").mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(products):
        sku = f"CW{i:04d}"
        count = 1 + (i % 5 in (0, 1)) + (i % 10 == 0)
        images = []
        for k in range(count):
            name = f"{sku}-{k + 1}.jpg"
            photo(1000 * i + k, out / "images" / name)
            images.append(name)
        items.append(
            {
                "sku": sku,
                "title": f"{WORDS[i % 10]} {THINGS[(i // 10 + i) % 10]} {i + 1}",
                "price": f"{9 + (i * 7) % 90}.{(i * 13) % 100:02d}",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "description": f"A {WORDS[i % 10].lower()} {THINGS[(i // 10 + i) % 10].lower()}, item {i + 1}.",
                "images": images,
                "availability": AVAILABILITY[i % 9],
            }
        )
    catalogue = {"products": items}
    (out / "catalogue.json").write_text(json.dumps(catalogue, indent=1))
    return catalogue


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--products", type=int, default=36)
    args = parser.parse_args()
    build(args.out, args.products)
