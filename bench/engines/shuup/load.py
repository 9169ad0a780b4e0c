"""Load the benchmark catalogue into Shuup the way its admin does: photos into the media library
(``filer_image_from_data`` + ``ensure_media_file``, as the admin's media browser uploads them),
then one CSV through Shuup's own product importer (``shuup.importer.tasks.import_file`` with the
``product_importer`` of ``shuup.default_importer``), whose ``image``/``media`` columns name the
uploaded photos. ``python load.py STATE`` inside a configured Shuup (``django.setup()`` done).
"""

import csv
import json
import sys
from pathlib import Path

from django.conf import settings
from shuup.core.models import MediaFile, Shop, Supplier
from shuup.importer.tasks import import_file
from shuup.importer.utils.importer import ImportMode
from shuup.utils.filer import ensure_media_file, filer_image_from_data

state = Path(sys.argv[1])
catalogue = json.loads((state / "catalogue.json").read_text())
shop = Shop.objects.get()
supplier = Supplier.objects.get()  # the default supplier `shuup_init` made: it sells and stocks them
for product in catalogue["products"]:
    for name in product["images"]:
        if MediaFile.objects.filter(file__original_filename=name).exists():
            continue  # uploaded by an earlier run
        image = filer_image_from_data(
            None, "catalogue", name, (state / "images" / name).read_bytes(), sha1=True
        )
        ensure_media_file(shop, image)

rows = Path(settings.MEDIA_ROOT) / "import_temp" / "catalogue.csv"  # where the admin puts uploads
rows.parent.mkdir(parents=True, exist_ok=True)
with rows.open("w", newline="") as f:
    out = csv.writer(f)
    out.writerow(
        [
            "SKU",
            "Name",
            "Description",
            "Price",
            "Tax Class",
            "Primary Category",
            "Image",
            "Media",
            "Qty",
            "Supplier",
        ]
    )
    for product in catalogue["products"]:
        image, *more = product["images"]
        out.writerow(
            [
                product["sku"],
                product["title"],
                product["description"],
                product["price"],
                "Default Tax Class",
                product["category"],
                image,
                ",".join(more),
                50,
                supplier.name,
            ]
        )
result = import_file(
    "product_importer", ImportMode.CREATE_UPDATE.value, rows.name, "en", shop.pk, supplier_id=supplier.pk
)
if result.error_log:
    sys.exit(f"Shuup's importer failed: {result.error_log}")
print(f"imported {len(result.result['new_objects'])} objects")
