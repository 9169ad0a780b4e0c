"""Product pages without structured data, recognised by what they are — not by engine names.

A product page shows one titled item with its own pictures and one control that buys *this*
item. Engines name that control every way (a cart, a basket, a bag, a trolley, a Warenkorb, a
panier; ``#button-cart``, ``add_to_basket_form``, ``/basket/add/12/``), so it is recognised by
its shape and words, in any of them:

- a **purchase form**: a form whose action, id or class names a cart/basket/bag/… or whose
  submit button says "add to cart/basket/bag", "buy now", "in den Warenkorb", "ajouter au
  panier", … or a POST form with a quantity field — but not a search, login, newsletter,
  review, wish-list or language form;
- a **purchase button** outside any form (JavaScript shops): a button or link whose text or
  ``id``/``class``/``data-*`` says add-to-cart in those words.

The page's main heading (``h1``) and the purchase control nearest to it in the document define the
product's **block**: their nearest common ancestor, widened until it holds an image. A product
page's block holds exactly one purchase control (a sticky duplicate of the same form counts once)
and no other product's card — a picture or heading linked to another page of the site. A
category, search or facet page fails that test (its heading sits above many cards, or above one
card that links to its product); a review form, a print view or a page without a purchase control
fails the first one. Only the block's images are the product's: the shop's logo, banners and
"related / recently viewed" cards lie outside it.

The purchase control also gives the product's **identity** on the site (the form's action and
its product-id fields), so pages that show the same product again — a review form that repeats
the product page, a variant or sort parameter in the query string — collapse to one listing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from parsel import Selector

#: Words of a control that puts an item in a cart, in the languages shops are commonly written in.
_BUY_TEXT = re.compile(
    r"add(ing)?\s+(it\s+)?to\s+(the\s+|my\s+|your\s+)?(shopping\s+)?(cart|basket|bag|trolley)"
    r"|\b(buy|order|shop)\s+(it\s+)?now\b|^\s*(buy|purchase|add)\s*$|add\s+to\s+order"
    r"|in\s+den\s+(warenkorb|einkaufswagen)|zum\s+warenkorb|ajouter\s+au\s+panier|au\s+panier"
    r"|a[ñn]adir\s+al\s+carrito|agregar\s+al\s+carrito|aggiungi\s+al\s+carrello"
    r"|adicionar\s+ao\s+carrinho|toevoegen\s+aan\s+(winkelwagen|winkelmand)|in\s+winkelwagen"
    r"|do\s+koszyka|l[äa]gg\s+i\s+varukorg|l[æa]g\s+i\s+kurv|legg\s+i\s+handlekurv"
    r"|lis[äa][äa]\s+ostoskoriin|do\s+ko[šs][íi]ku|kos[áa]rba|в\s+корзину|купить|sepete\s+ekle"
    r"|カートに入れる|カートに追加|加入购物车|加入購物車|장바구니",
    re.I,
)
#: Words in a form's action, id, class or name that say cart (any engine's naming).
_CART_WORD = re.compile(
    r"cart|basket|\bbag\b|trolley|warenkorb|panier|carrito|carrello|carrinho|winkel|koszyk"
    r"|varukorg|kurv|ostoskori|kosik|kosar|korzin|sepet|add[-_]?to|addtocart|add[-_]item|buy",
    re.I,
)
#: Forms that are never a purchase, whatever else they hold.
_NOT_PURCHASE = re.compile(
    r"search|login|log-in|signin|sign-in|register|newsletter|subscribe|review|comment|wish"
    r"|compare|setlang|language|currency|locale|contact|coupon|voucher|promo|alert|notify",
    re.I,
)
_QUANTITY = re.compile(r"qty|quantit|menge|anzahl|cantidad|aantal|ilo[sś][cć]|antal|количество", re.I)
#: Controls outside forms (JavaScript shops) named for adding to a cart.
_BUTTON_NAME = re.compile(r"add[-_ ]?to[-_ ]?(cart|basket|bag)|addtocart|buy[-_ ]?now|cart[-_]add", re.I)
#: Fields that identify the product in a purchase form (a session token never does).
_ID_FIELD = re.compile(r"id|product|item|sku|variant|article|pid", re.I)
_TOKEN_FIELD = re.compile(r"csrf|token|nonce|form_key|authenticity|session|return|redirect|referer", re.I)
_IMAGE_FILE = re.compile(r"\.(jpe?g|png|webp|gif|avif|bmp)(\?|$)", re.I)

_PRICE_CLASS = (
    ".//*[@itemprop='price' or contains(translate(@class, 'PRICE', 'price'), 'price')"
    " or contains(translate(@id, 'PRICE', 'price'), 'price')]"
)
_MONEY = re.compile(
    r"(?:[$€£¥₹₩]|\b[A-Z]{3}\b|\bRs\.?)\s?\d[\d.,\s\u00a0]*|\d[\d.,\s\u00a0]*\s?(?:[$€£¥₹₩]|zł|kr\b|\b[A-Z]{3}\b)"
)


@dataclass(frozen=True)
class ProductBlock:
    """The part of a page that is the product: its block, its title and its identity on the site."""

    block: Selector
    title: str | None
    identity: str
    #: (template key, levels from the title heading up to the block), learnt by the spider
    template: tuple[str, int] | None = None


def _attrs(element: Any, *names: str) -> str:
    return " ".join(str(element.get(name) or "") for name in names)


def _text(element: Any) -> str:
    return " ".join(" ".join(element.itertext()).split())


def _is_purchase_form(form: Any) -> bool:
    naming = _attrs(form, "action", "id", "class", "name")
    if _NOT_PURCHASE.search(naming):
        return False
    fields = form.xpath(".//input|.//select|.//textarea|.//button")
    if any(
        f.tag == "textarea" or (f.get("type") or "").lower() in {"search", "email", "password"}
        for f in fields
    ):
        return False
    if _CART_WORD.search(naming):
        return True
    for button in form.xpath(".//button|.//input[@type='submit' or @type='button' or @type='image']"):
        label = _text(button) + " " + _attrs(button, "value", "title", "aria-label", "name", "id", "class")
        if _BUY_TEXT.search(label) or _BUTTON_NAME.search(label):
            return True
    is_post = (form.get("method") or "get").lower() == "post"
    return is_post and any(_QUANTITY.search(_attrs(f, "name", "id")) for f in fields)


def _is_purchase_button(element: Any) -> bool:
    naming = _attrs(element, "id", "class", "name", "data-action", "data-button-action", "data-role")
    if _NOT_PURCHASE.search(naming):
        return False
    return bool(_BUTTON_NAME.search(naming) or _BUY_TEXT.search(_text(element)[:80]))


def purchase_controls(root: Any) -> list[Any]:
    """The page's purchase controls: purchase forms, and purchase buttons outside any form."""
    forms = [form for form in root.iter("form") if _is_purchase_form(form)]
    buttons = [
        element
        for element in root.xpath(
            "//button[not(ancestor::form)]|//a[not(ancestor::form)][@href or @data-action]"
        )
        if _is_purchase_button(element)
    ]
    return forms + buttons


def _signature(control: Any, page_url: str) -> str:
    """What a control buys: its action (or the page) and its product-id fields."""
    if control.tag == "form":
        action = urldefrag(urljoin(page_url, control.get("action") or page_url))[0]
        fields = sorted(
            f"{f.get('name')}={f.get('value') or ''}"
            for f in control.xpath(".//input[@type='hidden' or @type='radio'][@name]")
            if _ID_FIELD.search(f.get("name"))
            and not _TOKEN_FIELD.search(f.get("name"))
            and (f.get("type") != "radio" or f.get("checked") is not None)
        )
        return action + "|" + "&".join(fields)
    data = sorted(
        f"{k}={v}"
        for k, v in control.attrib.items()
        if (k.startswith("data-") and _ID_FIELD.search(k)) or (k == "onclick" and re.search(r"\d", v))
    )
    return "button|" + "&".join(data) + "|" + str(id(control) if not data else "")


def product_identity(signature: str) -> str:
    """A signature that names the product (an id field, or a number in the action), else ""."""
    action, _, fields = signature.partition("|")
    if fields.strip("|") or (
        action != "button" and re.search(r"\d", urlsplit(action).path + urlsplit(action).query)
    ):
        return signature
    return ""


def _common_ancestor(a: Any, b: Any) -> Any:
    ancestors = [a, *a.iterancestors()]  # kept alive: lxml proxies are compared by identity
    for candidate in (b, *b.iterancestors()):
        if any(candidate is x for x in ancestors):
            return candidate
    return a.getroottree().getroot()


def _depth(element: Any) -> int:
    return sum(1 for _ in element.iterancestors())


def _links_to_other_page(link: Any, page_url: str) -> bool:
    href = (link.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return False
    target = urldefrag(urljoin(page_url, href))[0]
    if _IMAGE_FILE.search(urlsplit(target).path) or target == urldefrag(page_url)[0]:
        return False
    return urlsplit(target).netloc == urlsplit(page_url).netloc


def _holds_other_card(block: Any, page_url: str) -> bool:
    """A picture or heading in ``block`` that links to another page: another product's card."""
    for link in block.iter("a"):
        if not _links_to_other_page(link, page_url):
            continue
        if link.xpath(
            ".//img|.//h2|.//h3|.//h4|.//h5|.//h6|ancestor::h2|ancestor::h3|ancestor::h4|ancestor::h5"
        ):
            return True
    return False


def _usable_heading(heading: Any, page_url: str) -> bool:
    """A heading that can be a product's title: some text, not a link (a logo, a card's title)."""
    if not _text(heading):
        return False
    if heading.xpath("ancestor::a|ancestor::header|ancestor::nav"):
        return False
    return not any(_links_to_other_page(link, page_url) for link in heading.iter("a"))


def main_heading(root: Any, page_url: str) -> Any | None:
    """The page's title heading: its first usable ``h1`` (not a logo or a link)."""
    return next((h for h in root.iter("h1") if _usable_heading(h, page_url)), None)


def _block_title(block: Any, page_url: str) -> str | None:
    """A page without a title ``h1``: the block's top heading (its first ``h2``, else ``h3``…),
    as themes that title the product in a card header write it; not an amount (a price heading)."""
    for level in ("h2", "h3", "h4"):
        for heading in block.iter(level):
            text = _text(heading)
            if _usable_heading(heading, page_url) and not _MONEY.fullmatch(text):
                return text
    return None


def _widen_to_image(block: Any) -> Any:
    while not block.xpath(".//img") and block.getparent() is not None:
        block = block.getparent()
    return block


def _inside(element: Any, block: Any) -> bool:
    return element is block or any(a is block for a in element.iterancestors())


def _levels_up(heading: Any, block: Any) -> int:
    return next(n for n, a in enumerate((heading, *heading.iterancestors())) if a is block)


def _single_product(block: Any, controls: list[Any], page_url: str) -> bool:
    """One purchase target inside ``block`` (or none) and no other product's card."""
    own = {_signature(c, page_url) for c in controls if _inside(c, block)}
    return len(own) <= 1 and not _holds_other_card(block, page_url)


def product_block(selector: Selector, page_url: str) -> ProductBlock | None:
    """The product's own block on a product page without structured data, else None."""
    root = selector.root
    controls = purchase_controls(root)
    if not controls:
        return None
    heading = main_heading(root, page_url)
    if heading is None:
        if len({_signature(c, page_url) for c in controls}) != 1:
            return None
        control = controls[0]
        block = _widen_to_image(control)
        if block.tag in {"html", "body"} or not _single_product(block, controls, page_url):
            return None
        return ProductBlock(
            block=Selector(root=block),
            title=_block_title(block, page_url),
            identity=product_identity(_signature(control, page_url)),
        )
    control = max(controls, key=lambda c: _depth(_common_ancestor(heading, c)))
    block = _widen_to_image(_common_ancestor(heading, control))
    if not _single_product(block, controls, page_url):
        # The title may sit apart (a page-title bar above the layout): the control's own card
        # — its nearest ancestor with a picture — is then the product, if it is no other's card.
        block = _widen_to_image(control)
        if block.tag in {"html", "body"} or not _single_product(block, controls, page_url):
            return None
        if any(h is not heading for h in block.iter("h1", "h2", "h3", "h4")):
            return None  # a card with its own title: a listing of another product
        shape = _skeleton(block)
        alike = {_signature(c, page_url) for c in controls if _skeleton(_widen_to_image(c)) == shape}
        if len(alike) > 1:
            return None  # one card of a list of alike cards: a category
    return ProductBlock(
        block=Selector(root=block),
        title=_text(heading) or None,
        identity=product_identity(_signature(control, page_url)),
        template=(template_key(heading, page_url), _levels_up(heading, block))
        if _inside(heading, block)
        else None,
    )


# --- the site's product template --------------------------------------------------------------------
#
# Product pages of one site share a template: one URL shape and one place of the title in the
# page. Pages of that template that show no purchase control (sold out, "notify me", a parent
# product with variants) are still product pages: the spider learns each template from the pages
# recognised above and reads such pages by it (crawler.html_template, crawler.spiders.product).

_SLUG = re.compile(r"[\d_-]|^[0-9a-f]{8,}$|.{25,}")
_DIGITS = re.compile(r"\d+")


def url_shape(url: str) -> str:
    """A URL's path with every slug-like segment (digits, dashes, long names) as ``*``."""
    parts = urlsplit(url)
    segments = ["*" if _SLUG.search(s) else s for s in parts.path.split("/")]
    return "/".join(segments) + ("?" if parts.query else "")


#: Class names that say a product's state, not the page's template (``outofstock``, ``sold-out``).
_STATE_CLASS = re.compile(r"stock|sold|avail|active|selected|current", re.I)


def _skeleton(heading: Any) -> str:
    """The tags, ids and classes from the root down to ``heading``; digit runs (``post-123``) and
    state classes (``instock`` / ``outofstock``) do not make another skeleton."""
    steps = []
    for element in (heading, *heading.iterancestors()):
        classes = ".".join(
            sorted({c for c in (element.get("class") or "").split() if not _STATE_CLASS.search(c)})
        )
        steps.append(element.tag + _DIGITS.sub("#", f"#{element.get('id') or ''}.{classes}"))
    return ">".join(reversed(steps))


def template_key(heading: Any, page_url: str) -> str:
    return url_shape(page_url) + " " + _skeleton(heading)


def page_template_key(selector: Selector, page_url: str) -> str | None:
    """The template key of any page with a usable title heading (or None)."""
    heading = main_heading(selector.root, page_url)
    return template_key(heading, page_url) if heading is not None else None


def title_of(selector: Selector) -> str | None:
    """The OpenGraph title, else the first ``h1``'s text."""
    title = selector.xpath("//meta[@property='og:title']/@content").get()
    if not title:
        title = " ".join(selector.xpath("(//h1)[1]//text()").getall())
    title = " ".join(title.split()) if title else ""
    return title or None


def block_price(scope: Selector) -> str | None:
    """The first amount with a currency in a price-like element of ``scope``; never any other
    amount (a mini-cart's "0 items: $0.00" is no price of a product that shows none)."""
    for element in scope.xpath(_PRICE_CLASS):
        if found := _MONEY.search(" ".join(element.xpath(".//text()").getall())):
            return found.group(0).strip()
    return None


def price_text(selector: Selector, block: Selector | None = None) -> str | None:
    """The first amount with a currency in a price-like element (of the block first), else right
    after the ``h1``, else the block's first."""
    content = selector.xpath("//*[@itemprop='price']/@content").get()
    if content:
        return content
    for scope in ([block] if block is not None else []) + [selector]:
        if found_price := block_price(scope):
            return found_price
    for text in selector.xpath("(//h1)[1]/following::text()[normalize-space()][position() <= 30]").getall():
        if found := _MONEY.search(text):
            return found.group(0).strip()
    for text in block.xpath(".//text()[normalize-space()]").getall()[:60] if block is not None else []:
        if found := _MONEY.search(text):  # a page without an h1: the block's first amount
            return found.group(0).strip()
    return None
