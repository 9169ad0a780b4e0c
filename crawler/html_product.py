"""Product pages without structured data, recognised by their one "add to cart" control.

Some shop engines' default themes publish no schema.org or OpenGraph product data (OpenCart,
Sylius, many custom themes), but every product page shows one thing that other pages do not: a
single control that puts *this* product in the cart — ``#button-cart`` beside a hidden
``product_id`` (OpenCart), ``form[action*=cart/add]`` (Shopify, Magento), the add-to-cart forms of
Sylius and Spree, PrestaShop's ``data-button-action``. Category pages show none of these or one per
product, so a page with exactly one is read as a product page: the title from OpenGraph or the
``h1``, the price from the first price-like element, and the images from the product's own block —
the smallest element around the buy control that holds an image — so the shop's logo, banners and
related products stay out.
"""

from __future__ import annotations

import re

from parsel import Selector

#: Controls that add the page's own product to the cart (ids, forms and inputs of the common engines).
_BUY_CONTROLS = " | ".join(
    (
        "//*[@id='button-cart' or @id='product-addtocart-button' or @id='add-to-cart-button'"
        " or @id='add-to-cart' or @id='AddToCart' or @id='sylius-product-adding-to-cart']",
        "//form[@id='form-product' or @id='product_addtocart_form' or @id='add-to-cart-form'"
        " or @name='sylius_add_to_cart']",
        "//form[contains(@action, '/cart/add') or contains(@action, 'checkout/cart/add')"
        " or contains(@action, 'add-to-cart') or contains(@action, 'addtocart')]",
        "//*[@data-button-action='add-to-cart']",
        "//input[@type='hidden' and (@name='product_id' or @name='id_product')]",
    )
)
_PRICE_CLASS = (
    "//*[@itemprop='price' or contains(translate(@class, 'PRICE', 'price'), 'price')"
    " or contains(translate(@id, 'PRICE', 'price'), 'price')]"
)
_MONEY = re.compile(
    r"(?:[$€£¥₹₩]|\b[A-Z]{3}\b)\s?\d[\d.,\s\u00a0]*|\d[\d.,\s\u00a0]*\s?(?:[$€£¥₹₩]|zł|kr\b|\b[A-Z]{3}\b)"
)


def _group(control: Selector) -> object:
    """What a control belongs to: its form, else its parent (a button beside its hidden input)."""
    element = control.root
    for ancestor in (element, *element.iterancestors()):
        if ancestor.tag == "form":
            return ancestor
    return element.getparent() if element.getparent() is not None else element


def _path(element: object) -> str:
    return element.getroottree().getpath(element)  # type: ignore[attr-defined]


def buy_block(selector: Selector) -> Selector | None:
    """The product's own block on a page with exactly one buy control, else None."""
    controls = selector.xpath(_BUY_CONTROLS)
    groups = {_path(_group(c)): c for c in controls}
    if len(groups) != 1:
        return None
    control = next(iter(groups.values()))
    for block in reversed(control.xpath("ancestor::*")):  # nearest ancestor first
        if block.xpath(".//img"):
            return block
    return None


def title_of(selector: Selector) -> str | None:
    """The OpenGraph title, else the first ``h1``'s text."""
    title = selector.xpath("//meta[@property='og:title']/@content").get()
    if not title:
        title = " ".join(selector.xpath("(//h1)[1]//text()").getall())
    title = " ".join(title.split()) if title else ""
    return title or None


def price_text(selector: Selector) -> str | None:
    """The first amount with a currency in a price-like element, else right after the ``h1``."""
    content = selector.xpath("//*[@itemprop='price']/@content").get()
    if content:
        return content
    for element in selector.xpath(_PRICE_CLASS):
        text = " ".join(element.xpath(".//text()").getall())
        if found := _MONEY.search(text):
            return found.group(0).strip()
    for text in selector.xpath("(//h1)[1]/following::text()[normalize-space()][position() <= 30]").getall():
        if found := _MONEY.search(text):
            return found.group(0).strip()
    return None
