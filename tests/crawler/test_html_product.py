"""Product pages without structured data (OpenCart, Sylius, Magento-like markup)."""

from __future__ import annotations

import pytest

from crawler.extract import extract_product

HEADER = (
    '<header><a href="/"><img src="/image/logo.png" alt="Shop"></a>'
    '<div id="cart"><button type="button">0 item(s) - $0.00</button></div></header>'
)
RELATED = (
    '<h3>Related Products</h3><div class="row"><div class="product-thumb">'
    '<a href="/index.php?route=product/product&amp;product_id=41"><img src="/image/cache/imac-200x200.jpg"></a>'
    "<button onclick=\"cart.add('41');\">Add to Cart</button></div></div>"
)

OPENCART_3_PRODUCT = f"""<html><head><title>iPod Classic</title></head><body>{HEADER}
<div id="product-product" class="container"><div class="row"><div id="content" class="col-sm-12">
<div class="row"><div class="col-sm-8"><ul class="thumbnails">
<li><a class="thumbnail" href="/image/cache/ipod-classic-500x500.jpg" title="iPod Classic">
<img src="/image/cache/ipod-classic-228x228.jpg" title="iPod Classic" alt="iPod Classic"></a></li>
<li class="image-additional"><a class="thumbnail" href="/image/cache/ipod-classic-back-500x500.jpg">
<img src="/image/cache/ipod-classic-back-74x74.jpg"></a></li></ul></div>
<div class="col-sm-4"><h1>iPod Classic</h1><ul class="list-unstyled"><li><h2>$122.00</h2></li>
<li>Ex Tax: $100.00</li></ul><div id="product"><div class="form-group">
<input type="text" name="quantity" value="1"><input type="hidden" name="product_id" value="48">
<button type="button" id="button-cart" class="btn btn-primary">Add to Cart</button></div></div></div></div>
{RELATED}</div></div></div></body></html>"""

OPENCART_CATEGORY = f"""<html><body>{HEADER}<h1>Desktops</h1>
<div class="product-layout"><div class="product-thumb"><a href="/p?product_id=42"><img src="/image/cache/a-228x228.jpg"></a>
<p class="price">$122.00</p><button onclick="cart.add('42');">Add to Cart</button></div></div>
<div class="product-layout"><div class="product-thumb"><a href="/p?product_id=43"><img src="/image/cache/b-228x228.jpg"></a>
<p class="price">$98.00</p><button onclick="cart.add('43');">Add to Cart</button></div></div></body></html>"""

MAGENTO_LIKE_CATEGORY = """<html><body><h1>Bags</h1>
<ol><li><img src="/media/bag1.jpg"><form data-role="tocart-form" action="/checkout/cart/add/product/1/">
<button>Add to Cart</button></form></li>
<li><img src="/media/bag2.jpg"><form data-role="tocart-form" action="/checkout/cart/add/product/2/">
<button>Add to Cart</button></form></li></ol></body></html>"""

SYLIUS_LIKE_PRODUCT = """<html><head><meta property="og:title" content="Knitted wool-blend cap"></head><body>
<img src="/assets/shop/logo.png"><div class="ui two column stackable grid">
<div class="column"><a href="/media/cache/sylius_shop_product_original/cap.jpg" class="ui fluid image">
<img src="/media/cache/sylius_shop_product_large_thumbnail/cap.jpg" id="main-image"></a></div>
<div class="column"><h1 class="ui header">Knitted wool-blend cap</h1>
<span class="ui huge header" id="product-price">€46.03</span>
<form name="sylius_add_to_cart" action="/en_US/ajax/cart/add?productId=12" method="post">
<input type="number" name="sylius_add_to_cart[cartItem][quantity]" value="1">
<button type="submit" class="ui huge primary icon labeled button">Add to cart</button></form></div></div>
</body></html>"""


def test_opencart_product_page_without_structured_data_is_read_from_its_buy_block() -> None:
    product = extract_product(
        OPENCART_3_PRODUCT, "http://shop.test/index.php?route=product/product&product_id=48"
    )
    assert product is not None and product.source == "html"
    assert product.title == "iPod Classic"
    assert product.price == "$122.00"
    # The full-size links of the product's own gallery; not the logo, not the related product.
    assert product.images == [
        "/image/cache/ipod-classic-500x500.jpg",
        "/image/cache/ipod-classic-back-500x500.jpg",
    ]


def test_sylius_product_page_takes_the_og_title_the_price_and_the_original_image() -> None:
    product = extract_product(SYLIUS_LIKE_PRODUCT, "http://shop.test/en_US/products/cap")
    assert product is not None and product.source == "html"
    assert product.title == "Knitted wool-blend cap"
    assert product.price == "€46.03"
    assert product.images[0] == "/media/cache/sylius_shop_product_original/cap.jpg"
    assert "/assets/shop/logo.png" not in product.images


def test_category_pages_with_one_buy_button_per_product_are_not_products() -> None:
    assert extract_product(OPENCART_CATEGORY, "http://shop.test/desktops") is None
    assert extract_product(MAGENTO_LIKE_CATEGORY, "http://shop.test/bags.html") is None


def test_a_page_without_any_buy_control_is_not_a_product() -> None:
    page = f"<html><body>{HEADER}<h1>About us</h1><img src='/image/team.jpg'><p>$5 shipping</p></body></html>"
    assert extract_product(page, "http://shop.test/about") is None


# --- engine-independent recognition ---------------------------------------------------------------


def _product(form: str, extra: str = "") -> str:
    return (
        "<html><body><header><img src='/logo.png'></header><div class='row'>"
        "<div class='gallery'><img src='/media/p1-a.jpg'><img src='/media/p1-b.jpg'></div>"
        f"<div class='main'><h1>Walnut Clock</h1><p class='cost'>€ 24,90</p>{form}</div></div>{extra}"
        "</body></html>"
    )


@pytest.mark.parametrize(
    "form",
    [
        "<form action='/basket/add/7/' method='post'><input type='hidden' name='csrfmiddlewaretoken' value='x'>"
        "<button type='submit'>Add to basket</button></form>",
        "<form action='/warenkorb' method='post'><input name='menge' value='1'><button>In den Warenkorb</button></form>",
        "<form method='post' action='/x'><input type='number' name='qty' value='1'><button>OK</button></form>",
        "<button class='btn' data-product-id='7'>Ajouter au panier</button>",
        "<a href='#' class='add-to-bag' data-sku='7'>Bag it</a>",
    ],
)
def test_a_purchase_control_of_any_naming_or_language_makes_a_product_page(form: str) -> None:
    product = extract_product(_product(form), "http://shop.test/p/walnut-clock")
    assert product is not None and product.title == "Walnut Clock"
    assert product.images == ["/media/p1-a.jpg", "/media/p1-b.jpg"]  # not the logo
    # A control that names its product (an id field, a number in the action) is the product's
    # identity on the site; one that does not leaves the page's URL to identify it.
    assert product.identity is None or "7" in product.identity


def test_related_product_cards_stay_out_and_review_forms_are_not_purchases() -> None:
    related = (
        "<section><h2>Related</h2><article><a href='/p/other'><img src='/media/other.jpg'></a>"
        "<h3><a href='/p/other'>Other</a></h3><form action='/basket/add/8/' method='post'>"
        "<button>Add to basket</button></form></article></section>"
    )
    form = "<form action='/basket/add/7/' method='post'><button>Add to basket</button></form>"
    product = extract_product(_product(form, related), "http://shop.test/p/walnut-clock")
    assert product is not None and product.images == ["/media/p1-a.jpg", "/media/p1-b.jpg"]
    review = "<form action='/p/walnut-clock/reviews/add/' method='post'><textarea name='body'></textarea><button>Save</button></form>"
    assert extract_product(_product(review), "http://shop.test/p/walnut-clock/reviews/add/") is None


def test_a_category_with_a_single_product_card_is_not_a_product_page() -> None:
    page = (
        "<html><body><h1>Clocks</h1><ol><li><article><a href='/p/walnut-clock'><img src='/media/p1.jpg'></a>"
        "<h3><a href='/p/walnut-clock'>Walnut Clock</a></h3><p class='price'>€ 24,90</p>"
        "<form action='/basket/add/7/' method='post'><button>Add to basket</button></form></article></li></ol></body></html>"
    )
    assert extract_product(page, "http://shop.test/c/clocks") is None


def test_a_gallery_navigation_strip_is_not_taken_for_more_photos() -> None:
    gallery = (
        "<div id='gallery' class='carousel'><div class='carousel-inner'><img src='/m/a-440.jpg'><img src='/m/b-440.jpg'></div>"
        "<ol class='carousel-indicators'><li><img src='/m/a-65.jpg'></li><li><img src='/m/b-65.jpg'></li></ol></div>"
    )
    page = (
        f"<html><body><div class='row'><div>{gallery}</div><div><h1>Lamp</h1>"
        "<form action='/cart/add' method='post'><button>Add to cart</button></form></div></div></body></html>"
    )
    product = extract_product(page, "http://shop.test/p/lamp")
    assert product is not None and product.images == ["/m/a-440.jpg", "/m/b-440.jpg"]


def test_a_product_titled_by_a_card_header_without_any_h1_takes_that_title_not_its_price() -> None:
    html = """<html><body><nav><h5>BOUTIQUE</h5><a href="/shop/">Shop</a></nav>
<div class="row"><div class="col"><img src="/resource/product/lamp-1.jpg">
<a href="/resource/product/lamp-2.jpg"><img src="/resource/product/lamp-2.jpg" width="80"></a></div>
<div class="col"><div class="card"><div class="card-header"><h2>Linen Lamp 31</h2></div>
<div class="card-body"><h3>Rs 39.90</h3><form action="/shop/cart/add/CW0030" method="POST">
<input name="quantity" type="number" value="1"><input type="submit" value="add to cart"></form></div></div></div></div>
</body></html>"""
    product = extract_product(html, "http://s/shop/product/CW0030")
    assert product is not None
    assert product.title == "Linen Lamp 31" and product.price == "Rs 39.90"
    assert sorted(product.images) == ["/resource/product/lamp-1.jpg", "/resource/product/lamp-2.jpg"]
