"""Product pages without structured data (OpenCart, Sylius, Magento-like markup)."""

from __future__ import annotations

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
