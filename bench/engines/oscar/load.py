"""Load the benchmark catalogue into Oscar with Oscar's own management commands.

``oscar_import_catalogue`` reads the products (class, category, UPC, title, description, partner,
SKU, price, stock) from CSV; ``oscar_import_catalogue_images`` adds one photo per product per run
(files named after the UPC), so it runs once per photo position. A sold-out product gets a stock
record of 0 units; an unavailable one a row without partner, SKU, price and stock, which the
importer reads as a product without a stock record (Oscar then shows no price and no basket form).
"""

import csv
import json
import shutil
import sys
from pathlib import Path

from django.core.management import call_command

state = Path(sys.argv[1])
catalogue = json.loads((state / "catalogue.json").read_text())
STOCK = {"in_stock": 50, "sold_out": 0}
rows = [
    ["Goods", p["category"], p["sku"], p["title"], p["description"]]
    + (
        ["Copywatch Bench", p["sku"], p["price"], STOCK[p["availability"]]]
        if p.get("availability", "in_stock") in STOCK
        else []
    )
    for p in catalogue["products"]
]
with open(state / "products.csv", "w", newline="") as f:
    csv.writer(f).writerows(rows)
call_command("oscar_import_catalogue", str(state / "products.csv"))
for position in range(max(len(p["images"]) for p in catalogue["products"])):
    folder = state / f"images-{position + 1}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for p in catalogue["products"]:
        if position < len(p["images"]):
            shutil.copy(state / "images" / p["images"][position], folder / f"{p['sku']}.jpg")
    call_command("oscar_import_catalogue_images", str(folder), filename="upc")
