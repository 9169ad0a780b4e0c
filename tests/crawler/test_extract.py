"""Product recognition and listing fields from page snippets (no network)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urljoin

import pytest

from crawler.extract import extract_product, prefer_full_size
from crawler.items import parse_currency, parse_price


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("19.99", "19.99"),
        ("$1,299.00", "1299.00"),
        ("1.299,00 €", "1299.00"),
        ("12,5", "12.50"),
        ("EUR 5", "5.00"),
        ("1 299,90 zł", "1299.90"),
        (42, "42.00"),
    ],
)
def test_prices_in_common_formats(text: object, value: str) -> None:
    assert parse_price(text) == Decimal(value)


def test_unparseable_price_is_none() -> None:
    assert parse_price("call us") is None
    assert parse_price(None) is None


@pytest.mark.parametrize(("text", "code"), [("usd", "USD"), ("€", "EUR"), ("£ 5", "GBP"), ("", None)])
def test_currency_codes(text: str, code: str | None) -> None:
    assert parse_currency(text) == code


def test_jsonld_graph_with_image_objects_and_aggregate_offer() -> None:
    html = """<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
      {"@type": "WebPage", "name": "x"},
      {"@type": ["Product"], "name": "Boot", "image": [{"@type": "ImageObject", "contentUrl": "/i/1.jpg"}, "/i/2.jpg"],
       "offers": {"@type": "AggregateOffer", "lowPrice": "30", "priceCurrency": "EUR",
                  "seller": {"name": "Shoe Shop"}}}]}</script>"""
    product = extract_product(html, "http://shop.test/p/boot")
    assert product is not None
    assert (product.title, product.price, product.currency, product.seller) == (
        "Boot",
        "30",
        "EUR",
        "Shoe Shop",
    )
    assert product.images == ["/i/1.jpg", "/i/2.jpg"]


def test_page_without_product_data_is_not_a_listing() -> None:
    assert (
        extract_product("<html><body><img src='/banner.jpg'><a href='/p/1'>x</a></body></html>", "http://s/")
        is None
    )


def test_lazy_gallery_gives_full_size_images() -> None:
    html = """<script type="application/ld+json">{"@type": "Product", "name": "Lamp", "image": "/i/main.jpg"}</script>
    <div class="woocommerce-product-gallery">
      <img src="data:image/gif;base64,AAAA" data-srcset="/i/a-300.jpg 300w, /i/a.jpg 1600w">
      <img src="/i/b-150x150.jpg" data-large_image="/i/b.jpg">
      <a href="/i/c.jpg"><img src="/i/c-150x150.jpg"></a>
    </div>"""
    product = extract_product(html, "http://s/p/lamp")
    assert sorted(product.images) == ["/i/a.jpg", "/i/b.jpg", "/i/c.jpg", "/i/main.jpg"]


def test_thumbnails_are_dropped_only_when_the_full_image_is_named() -> None:
    urls = ["http://s/a.jpg", "http://s/a-150x150.jpg", "http://s/b.jpg?w=300"]
    assert prefer_full_size(urls) == ["http://s/a.jpg", "http://s/b.jpg?w=300"]


def test_every_og_image_of_an_opengraph_listing() -> None:
    html = """<head><meta property="og:type" content="product"><meta property="og:title" content="Kite">
    <meta property="og:image" content="/i/1.jpg"><meta property="og:image" content="/i/2.jpg">
    <meta property="og:image" content="/i/3.jpg"></head>"""
    product = extract_product(html, "http://s/p/kite")
    assert product.images == ["/i/1.jpg", "/i/2.jpg", "/i/3.jpg"]


def test_rdfa_product_with_nested_offer() -> None:
    html = """<html><body><div vocab="https://schema.org/" typeof="Product">
    <span property="name">Chair</span><img property="image" src="/i/chair.jpg">
    <div property="offers" typeof="Offer"><span property="price" content="49.00">49</span>
    <meta property="priceCurrency" content="EUR"></div></div></body></html>"""
    product = extract_product(html, "http://s/p/chair")
    assert product is not None and product.source == "rdfa"
    assert (product.title, product.price, product.currency) == ("Chair", "49.00", "EUR")
    assert product.images[0] == "http://s/i/chair.jpg"  # the gallery adds the same <img> as a relative URL


def test_magento_gallery_json_gives_the_full_size_images() -> None:
    html = """<html><head><meta property="og:type" content="product"><meta property="og:title" content="Duffle">
<meta property="og:image" content="https://shop.test/media/catalog/product/cache/1/image/700x/duffle.jpg"></head><body>
<div class="gallery-placeholder" data-gallery-role="gallery-placeholder">
<img class="gallery-placeholder__image" src="https://shop.test/media/catalog/product/cache/1/image/700x/duffle.jpg"></div>
<script type="text/x-magento-init">{"[data-gallery-role=gallery-placeholder]": {"mage/gallery/gallery": {"data": [
{"thumb": "https:\\/\\/shop.test\\/media\\/catalog\\/product\\/cache\\/2\\/thumbnail\\/88x110\\/duffle.jpg",
 "img": "https:\\/\\/shop.test\\/media\\/catalog\\/product\\/cache\\/1\\/image\\/700x\\/duffle.jpg",
 "full": "https:\\/\\/shop.test\\/media\\/catalog\\/product\\/d\\/u\\/duffle.jpg", "isMain": true},
{"thumb": "https:\\/\\/shop.test\\/media\\/t\\/back.jpg", "img": "https:\\/\\/shop.test\\/media\\/i\\/back.jpg",
 "full": "https:\\/\\/shop.test\\/media\\/catalog\\/product\\/d\\/u\\/duffle-back.jpg", "isMain": false}]}}}</script>
</body></html>"""
    product = extract_product(html, "https://shop.test/duffle.html")
    assert product is not None
    assert "https://shop.test/media/catalog/product/d/u/duffle.jpg" in product.images
    assert "https://shop.test/media/catalog/product/d/u/duffle-back.jpg" in product.images
    assert not any("thumbnail/88x110" in url for url in product.images)


def test_prestashop_thumbnails_name_their_large_image() -> None:
    html = """<html><body><div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Mug</h1>
<div class="images-container"><img class="js-qv-product-cover" itemprop="image" src="/1-large_default/mug.jpg">
<ul class="product-images js-qv-product-images">
<li><img class="thumb js-thumb" data-image-medium-src="/1-medium_default/mug.jpg"
 data-image-large-src="/1-large_default/mug.jpg" src="/1-small_default/mug.jpg"></li>
<li><img class="thumb js-thumb" data-image-medium-src="/2-medium_default/mug.jpg"
 data-image-large-src="/2-large_default/mug.jpg" src="/2-small_default/mug.jpg"></li></ul></div></div></body></html>"""
    product = extract_product(html, "https://shop.test/mug.html")
    assert product is not None
    absolute = {urljoin("https://shop.test/mug.html", url) for url in product.images}
    assert absolute == {
        "https://shop.test/1-large_default/mug.jpg",
        "https://shop.test/2-large_default/mug.jpg",
    }


def test_a_resizers_copy_named_after_its_original_is_dropped_when_the_original_is_named() -> None:
    urls = [
        "http://s/media/thumbs/files/3a/photo-1.jpg__850x850_q85_crop-smart.jpg",  # og:image
        "/media/files/3a/photo-1.jpg",
        "/media/files/75/photo-2.jpg",
        "/media/thumbs/files/9b/photo-3.jpg__300x300_q85.jpg",  # its original is not named: kept
    ]
    assert prefer_full_size(urls) == urls[1:]
