"""The demo's generated catalog and marketplace: deterministic, served in every page style, truth kept private."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import extruct
import numpy as np
import pytest

from copywatch.demo.catalog import render_product, write_catalog
from copywatch.demo.edits import STOLEN_EDITS
from copywatch.demo.marketplace import PAGE_STYLES, DemoMarketplace, build_marketplace, load_manifest


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("demo")
    catalog = write_catalog(root / "catalog", count=16)
    return catalog, build_marketplace(root / "shop", catalog, listings=36)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_catalog_is_deterministic_and_distinct(tmp_path: Path, shop) -> None:
    catalog, _ = shop
    again = write_catalog(tmp_path / "again", count=16)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in catalog.paths]
    assert digest == [hashlib.sha256(p.read_bytes()).hexdigest() for p in again.paths]
    assert len(set(digest)) == len(digest)
    assert catalog.logo_boxes, "some originals carry a registered logo"


def test_counterfeit_moves_only_the_logo(shop) -> None:
    catalog, _ = shop
    spec = next(s for s in catalog.specs if s.logo_shape)
    genuine, fake = render_product(spec), render_product(spec, logo_offset=-0.25)
    assert fake.logo_box[0] < genuine.logo_box[0]
    changed = np.any(genuine.image != fake.image, axis=2)
    ys, xs = np.nonzero(changed)
    # Everything outside the logo's row band is the same photo.
    band = (genuine.logo_box[1] - 2, genuine.logo_box[1] + genuine.logo_box[3] + 2)
    assert ys.min() >= band[0] and ys.max() <= band[1]


def test_shop_plants_every_edit_and_keeps_truth_on_disk(shop) -> None:
    catalog, demo = shop
    truth = Counter(x.truth for x in demo.listings)
    assert (
        truth["stolen"] >= len(STOLEN_EDITS)
        and truth["counterfeit"] >= 2
        and truth["innocent"] > truth["stolen"]
    )
    assert {x.edit for x in demo.listings if x.truth == "stolen"} == set(STOLEN_EDITS)
    skus = {s.sku for s in catalog.specs}
    assert all(x.original_sku in skus for x in demo.listings if x.truth != "innocent")
    assert {x.style for x in demo.listings} == set(PAGE_STYLES)
    reloaded = load_manifest(demo.directory)
    assert [x.slug for x in reloaded.listings] == [x.slug for x in demo.listings]


def test_served_pages_expose_products_in_each_style(shop) -> None:
    _, demo = shop
    server = DemoMarketplace(demo)
    with server.serving() as base:
        robots = _get(base + "/robots.txt").decode()
        assert "Disallow: /cart/" in robots and f"Sitemap: {base}/sitemap.xml" in robots
        sitemap = _get(base + "/sitemap.xml").decode()
        assert all(f"{base}{x.path}<" in sitemap for x in demo.listings)
        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(base + "/manifest.json")
        assert missing.value.code == 404
        for style in PAGE_STYLES:
            listing = next(x for x in demo.listings if x.style == style)
            page = _get(base + listing.path).decode()
            data = extruct.extract(
                page, base_url=base, syntaxes=["json-ld", "microdata", "opengraph"], uniform=True
            )
            found = json.dumps(data)
            assert listing.images[0] in found, f"{style}: first photo not in structured data"
            image = _get(f"{base}/img/{listing.images[0]}")
            assert image[:2] == b"\xff\xd8"
        lazy = next(x for x in demo.listings if x.style == "lazy" and len(x.images) > 1)
        page = _get(base + lazy.path).decode()
        assert f'data-src="{base}/img/{lazy.images[1]}"' in page
        small = _get(f"{base}/img/{lazy.images[0]}?w=400")
        assert small[:2] == b"\xff\xd8" and len(small) < len(_get(f"{base}/img/{lazy.images[0]}"))
        pages, page_no = [], 1
        while True:
            try:
                pages.append(_get(f"{base}/c/mug?page={page_no}").decode())
            except urllib.error.HTTPError:
                break
            page_no += 1
        mugs = [x for x in demo.listings if x.kind == "mug"]
        assert all(any(x.path in p for p in pages) for x in mugs)


def test_seller_pages_and_planted_networks(shop) -> None:
    from copywatch.demo.sellers import IMAGE_NETWORK, MISSING_PROFILE, PHONE_NETWORK
    from crawler.contacts import extract_contacts

    _, built = shop
    assert built.networks == [list(PHONE_NETWORK), list(IMAGE_NETWORK)]
    assert load_manifest(built.directory).networks == built.networks
    by_seller = {x.seller: x for x in built.listings}
    first, second = (by_seller[name] for name in IMAGE_NETWORK)
    image_dir = built.directory / "img"
    # The image network serves one stolen photo byte for byte; its truth follows the photo.
    assert (image_dir / first.images[0]).read_bytes() == (image_dir / second.images[0]).read_bytes()
    assert (first.truth, second.truth, first.original_sku) == ("stolen", "stolen", second.original_sku)
    with DemoMarketplace(built).serving() as base:
        phones = set()
        for name in PHONE_NETWORK:
            body = _get(f"{base}/seller/{name}").decode()
            phones |= {c.value for c in extract_contacts(body, region="GB") if c.kind == "phone"}
            listing = _get(base + by_seller[name].path).decode()
            assert f'href="/seller/{name}"' in listing
        # Three ways of writing one number, plus the marketplace's own number in the footer.
        assert phones == {"+442079460321", "+442079460999"}
        with pytest.raises(urllib.error.HTTPError):
            _get(f"{base}/seller/{MISSING_PROFILE}")
