"""Load the benchmark catalogue into ShopCube through its admin, as a shop owner would: log in,
add each category and a subcategory of it, then add every product with its photos through the
product form (``POST /product/sub/<id>/add``, multipart ``photos[]``). Runs the admin in-process
with Flask's test client (form posts without a CSRF token). ``python load.py STATE`` in the app.
"""

import io
import json
import sys
from pathlib import Path

from app import create_app

state = Path(sys.argv[1])
catalogue = json.loads((state / "catalogue.json").read_text())
app = create_app("development")
app.config["WTF_CSRF_ENABLED"] = False
client = app.test_client()


def post(url: str, data: dict, **kwargs: object) -> None:
    response = client.post(url, data=data, **kwargs)
    if response.status_code >= 400:
        sys.exit(f"ShopCube's admin answered {response.status_code} to {url}: {response.text[:300]}")


post("/auth/login", {"email": "admin@domain.com", "password": "pass"})  # the admin its config.json seeds
with app.app_context():
    from modules.box__ecommerce.category.models import SubCategory

    subcategories = {}
    for name in sorted({p["category"] for p in catalogue["products"]}):
        post("/category/add", {"name": name})
        post(f"/category/dashboard/{name.lower()}/sub/add", {"name": name})
        subcategories[name] = SubCategory.query.filter(SubCategory.name == name.lower()).one().id
for product in catalogue["products"]:
    photos = [(io.BytesIO((state / "images" / n).read_bytes()), n) for n in product["images"]]
    form = {
        "barcode": product["sku"],
        "name": product["title"],
        "description": product["description"],
        "date": "",
        "price": product["price"],
        "selling_price": product["price"],
        "in_stock": "50" if product.get("availability", "in_stock") == "in_stock" else "0",
        "colors": "",
        "sizes": "",
        "discontinued": "False",
        "photos[]": photos,
    }
    post(f"/product/sub/{subcategories[product['category']]}/add", form, content_type="multipart/form-data")
print(f"added {len(catalogue['products'])} products")
