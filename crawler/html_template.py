"""Product pages without a purchase control, read by the site's learnt product template.

A sold-out product, one without a price or stock record, a "notify me when in stock" page or a
catalogue-only item shows its title and its gallery but nothing that buys it, so
:func:`crawler.html_product.product_block` cannot tell it from an article. The spider learns
each site's product template from the pages that function recognised — their URL shape and the
place of the title ``h1`` in the page (:func:`crawler.html_product.template_key`), and how many
levels above the title the product's block is — and a page of a learnt template is read here:

- its block (the same number of levels above its ``h1``) holds pictures, no purchase control of
  another product and no other product's card;
- and it says it is a product: a price, or a **stock alert** (a form or control to be told when
  the item is back: "notify me", "email me when available", an ``alert``/``notify`` form), or an
  **availability** statement ("out of stock", "sold out", "currently unavailable", in the
  languages :mod:`crawler.html_product` knows). An article or "about" page laid out like a product
  shows none of these.

Its identity on the site (what collapses its review form or a second URL of it into one listing)
is the product-bound form's target when the page has one (a stock-alert form posting to
``/alerts/create/12/``), else its gallery: the product's own photos (``crawler.extract``).
"""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector

from crawler.html_product import (
    ProductBlock,
    _signature,
    _single_product,
    _text,
    main_heading,
    product_identity,
    purchase_controls,
)

#: A form or control that signs the visitor up for the item's return (never a purchase).
_ALERT = re.compile(
    r"alert|notif|notify|back[-_ ]?in[-_ ]?stock|restock|wait[-_ ]?list|stock[-_ ]?subscri"
    r"|benachrichtig|pr[ée]venez|avisa|avvisami|me\s+avise|h[åa]ll\s+mig",
    re.I,
)
#: Words that say the item cannot be bought now.
_UNAVAILABLE = re.compile(
    r"out\s+of\s+stock|sold\s*out|\bunavailable\b|not\s+(currently\s+)?available|no\s+longer\s+available"
    r"|currently\s+unavailable|back\s+in\s+stock|ausverkauft|nicht\s+(mehr\s+)?(verf[üu]gbar|lieferbar)"
    r"|[ée]puis[ée]|rupture\s+de\s+stock|indisponible|agotado|sin\s+stock|esaurito|non\s+disponibile"
    r"|esgotado|indispon[íi]vel|uitverkocht|niet\s+(meer\s+)?(leverbaar|beschikbaar)|slutsåld"
    r"|niedost[ęe]pn|wyprzedan|нет\s+в\s+наличии|распродан|在庫切れ|売り切れ|品切れ|缺货|售罄",
    re.I,
)


def _alert_forms(block: Any) -> list[Any]:
    return [
        form
        for form in block.iter("form")
        if _ALERT.search(" ".join(str(form.get(a) or "") for a in ("action", "id", "class", "name")))
        or _ALERT.search(_text(form)[:200])
    ]


def _says_product(block: Any, alerts: list[Any]) -> bool:
    """A stock alert or an availability statement in the block."""
    if alerts:
        return True
    if any(
        _ALERT.search(str(b.get("id") or "") + " " + str(b.get("class") or ""))
        for b in block.iter("button", "a")
    ):
        return True
    return bool(_UNAVAILABLE.search(" ".join(block.itertext())))


def block_by_template(selector: Selector, page_url: str, levels_up: int) -> tuple[ProductBlock, bool] | None:
    """A page of a learnt product template read without a purchase control: its block (the title
    heading's ancestor ``levels_up`` levels up), if it holds pictures and no other product, and
    whether it says it is a product without a price (a stock alert or an availability statement).
    The block's identity is its stock-alert form's target, else "" (the caller names it by its
    gallery)."""
    root = selector.root
    heading = main_heading(root, page_url)
    if heading is None:
        return None
    ancestors = [heading, *heading.iterancestors()]
    if levels_up >= len(ancestors):
        return None
    block = ancestors[levels_up]
    if not block.xpath(".//img") or not _single_product(block, purchase_controls(root), page_url):
        return None
    alerts = _alert_forms(block)
    identity = next((i for i in (product_identity(_signature(f, page_url)) for f in alerts) if i), "")
    found = ProductBlock(block=Selector(root=block), title=_text(heading) or None, identity=identity)
    return found, _says_product(block, alerts)
