"""Pages of a learnt product template that show no purchase control (crawler.html_template)."""

from __future__ import annotations

from parsel import Selector

from crawler.extract import extract_product, product_by_template
from crawler.html_product import page_template_key

HEADER = "<header><a href='/'><img src='/logo.png'></a><a href='/cart/'>0 items in cart: $0.00</a></header>"


def page(title: str, body: str, state: str = "instock", post: int = 7) -> str:
    return (
        f"<html><body>{HEADER}<div id='post-{post}' class='product {state}'><div class='row'>"
        f"<div class='pics'><a href='/media/{title}.jpg'><img src='/media/{title}-300.jpg'></a></div>"
        f"<div class='info'><h1>{title}</h1>{body}</div></div></div></body></html>"
    )


BUY = (
    "<p class='price'>$12.00</p><form action='/cart/add/7/' method='post'><button>Add to cart</button></form>"
)


def _learnt(url: str = "http://shop.test/p/alpha-7/") -> tuple[str, int]:
    product = extract_product(page("alpha", BUY), url)
    assert product is not None and product.template is not None
    return product.template


def _read(html: str, url: str) -> object:
    key, levels = _learnt()
    selector = Selector(text=html)
    assert page_template_key(selector, url) == key  # same shape, whatever the product's id or state
    return product_by_template(html, url, selector, levels)


def test_a_product_without_price_or_purchase_control_that_says_it_is_unavailable_is_a_product() -> None:
    html = page("beta", "<p class='error-msg'>This product is currently unavailable.</p>", "outofstock", 12)
    product = _read(html, "http://shop.test/p/beta-12/")
    assert product is not None
    assert product.title == "beta" and product.images == ["/media/beta.jpg"]  # type: ignore[attr-defined]
    assert product.price is None  # the mini-cart's "$0.00" is not its price  # type: ignore[attr-defined]


def test_a_sold_out_product_with_a_stock_alert_form_takes_the_alert_form_as_its_identity() -> None:
    alert = (
        "<p class='price'>$9.00</p><form id='alert_form' method='post' action='/accounts/alerts/create/12/'>"
        "<input type='text' name='email'><button>Notify me</button></form>"
    )
    product = _read(page("gamma", alert, "outofstock", 12), "http://shop.test/p/gamma-12/")
    assert product is not None
    assert product.identity == "http://shop.test/accounts/alerts/create/12/|"  # type: ignore[attr-defined]
    assert product.price == "$9.00"  # type: ignore[attr-defined]


def test_two_urls_of_one_product_without_any_form_share_its_gallery_as_identity() -> None:
    html = page("delta", "<p>Out of stock</p>", "outofstock", 13)
    first = _read(html, "http://shop.test/p/delta-13/")
    second = _read(html, "http://shop.test/p/delta-13-blue/")
    assert first is not None and second is not None
    assert first.identity == second.identity == "gallery|/media/delta.jpg"  # type: ignore[attr-defined]


def test_an_article_laid_out_like_a_product_is_not_one() -> None:
    html = page("about", "<p>We are a small shop in the harbour.</p>", "", 14)
    assert _read(html, "http://shop.test/p/about-14/") is None


def test_a_listing_page_of_the_same_shape_is_not_a_product() -> None:
    cards = "".join(
        f"<div class='card'><a href='/p/item-{n}/'><img src='/media/i{n}.jpg'></a><p>Sold out</p></div>"
        for n in range(3)
    )
    html = page("Sale", cards, "", 15)
    assert _read(html, "http://shop.test/p/sale-15/") is None
