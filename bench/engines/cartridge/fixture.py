"""The benchmark catalogue as a Cartridge fixture (the format of Cartridge's own demo data).

``python fixture.py STATE > fixture.json``: one product per catalogue entry in the "Shop"
category, one default variation with its price and stock, and its photos as product images
(copied into the shop's media folder under ``product/``). A sold-out product's variation has 0
in stock; an unavailable product is not "available for purchase" (Cartridge then shows no price
and no cart form).
"""

import json
import shutil
import sys
from pathlib import Path

state = Path(sys.argv[1])
catalogue = json.loads((state / "catalogue.json").read_text())
media = state / "shop" / "media" / "product"
media.mkdir(parents=True, exist_ok=True)
objects = []
image_pk = 0
for pk, product in enumerate(catalogue["products"], start=1):
    files = []
    for name in product["images"]:
        shutil.copy(state / "images" / name, media / name)
        files.append(f"product/{name}")
    objects.append(
        {
            "model": "shop.product",
            "pk": pk,
            "fields": {
                "status": 2,
                "available": product.get("availability") != "unavailable",
                "title": product["title"],
                "slug": product["sku"].lower(),
                "description": product["description"],
                "content": f"<p>{product['description']}</p>",
                "image": files[0],
                "unit_price": product["price"],
                "sku": product["sku"],
                "categories": [7],
                "site": 1,
            },
        }
    )
    first_image = image_pk + 1
    for order, file in enumerate(files, start=1):
        image_pk += 1
        objects.append(
            {
                "model": "shop.productimage",
                "pk": image_pk,
                "fields": {"product": pk, "description": "", "_order": order, "file": file},
            }
        )
    objects.append(
        {
            "model": "shop.productvariation",
            "pk": pk,
            "fields": {
                "sku": product["sku"],
                "product": pk,
                "default": True,
                "image": first_image,
                "unit_price": product["price"],
                "num_in_stock": 0 if product.get("availability") == "sold_out" else 50,
            },
        }
    )
json.dump(objects, sys.stdout, indent=1)
