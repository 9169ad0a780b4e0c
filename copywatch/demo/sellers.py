"""The demo marketplace's sellers: profile pages with contact details, and two planted networks.

Every seller has a profile page at ``/seller/<name>`` that listing pages link to, with contact details
written the ways real storefronts write them (obfuscated e-mails, national and international phone
formats, messaging handles, an own web shop). Two networks are planted:

- ``phone``: three storefronts that show one phone number written three ways
  (``+44 20 7946 0321``, ``020 7946 0321``, ``0044 (0)20-7946-0321``);
- ``image``: two storefronts that serve the same stolen photo (the same bytes).

Every other seller's contacts are its own, so any other link the crawler draws is a false one. One
seller's profile page is missing (404) and one is malformed, to show that their listings lose
nothing. The marketplace's own support contacts sit in the page footer, outside the seller's content.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

import numpy as np

PHONE_NETWORK = ("gadget-galore", "galore-outlet", "gg-direct")
IMAGE_NETWORK = ("mirror-mart", "copycat-corner")
MISSING_PROFILE = "quickship"
MALFORMED_PROFILE = "bestdeals"
REGION = "GB"

# Each seller's own contact lines (HTML). The phone network's three ways of writing one number
# come first; then every other seller, each with contacts no one else has.
CONTACTS: dict[str, list[str]] = {
    "gadget-galore": ["Call us: +44 20 7946 0321", "Mail: gadgets [at] galore-mail [dot] example"],
    "galore-outlet": ["Phone 020 7946 0321 (Mon-Fri)", "Telegram: @galore_outlet"],
    "gg-direct": [
        "WhatsApp / tel. 0044 (0)20-7946-0321",
        '<a href="https://gg-direct.example/">our web shop</a>',
    ],
    "mirror-mart": ["Questions? mirror.mart(at)post.example", "Tel +44 20 7946 0411"],
    "copycat-corner": ["WeChat ID: copycatcorner88", '<a href="https://wa.me/447911123412">WhatsApp</a>'],
    "brightbazaar": [
        '<a href="mailto:hello@brightbazaar.example">hello@brightbazaar.example</a>',
        "+44 20 7946 0101",
    ],
    "urbanloft": ["urbanloft AT loftmail DOT example", "Tel. (020) 7946 0102"],
    "dealhive": ["Instagram: @dealhive.shop", '<a href="tel:+442079460103">call</a>'],
    "kitchenkind": ["Visit www.kitchenkind.example", "0044 20 7946 0104"],
    "trailmark": ["trail {at} mark-mail {dot} example", "+44 (0)20 7946 0105"],
    "cozycorner": ['<a href="https://t.me/cozycorner_uk">Telegram</a>', "020-7946-0106"],
    "bestdeals": ["deals [at] bestdeals [dot] example", "+44 20 7946 0107"],
    "quickship": ["ship [at] quickship [dot] example", "+44 20 7946 0108"],
}
FOOTER = "Demo Bazaar support: help [at] demo-bazaar [dot] example · +44 20 7946 0999"


def plant_networks(listings: list[Any], image_dir: Path, seed: int) -> list[list[str]]:
    """Give the network storefronts listings of their own, in place; returns the planted networks.

    The phone network's storefronts take over three listings; the image network's two take over two
    stolen listings, and the second serves the first one's stolen photo byte for byte (its ground
    truth follows: same original, same edit).
    """
    rng = np.random.default_rng(seed * 31 + 5)
    stolen = [x for x in listings if x.truth == "stolen" and x.edit in {"colour", "text_overlay"}]
    if len(stolen) < 2 or len(listings) < 8:
        return []
    first, second = (stolen[int(i)] for i in rng.choice(len(stolen), 2, replace=False))
    first.seller, second.seller = IMAGE_NETWORK
    shutil.copyfile(image_dir / first.images[0], image_dir / second.images[0])
    second.edit, second.original_sku = first.edit, first.original_sku
    second.kind, second.title = first.kind, first.title
    taken = {first.slug, second.slug}
    others = [x for x in listings if x.slug not in taken]
    for listing, name in zip(
        (others[int(i)] for i in rng.choice(len(others), len(PHONE_NETWORK), replace=False)),
        PHONE_NETWORK,
        strict=True,
    ):
        listing.seller = name
    return [list(PHONE_NETWORK), list(IMAGE_NETWORK)]


def seller_path(name: str) -> str:
    return f"/seller/{name}"


def profile_page(name: str, listings: list[Any]) -> bytes | None:
    """The seller's profile page body (None: the page is missing)."""
    if name == MISSING_PROFILE:
        return None
    if name == MALFORMED_PROFILE:
        return b"<html><body><main><h1>bestd\xff\xfe<<div <p class='x\x00 ></main"
    items = "".join(f'<li><a href="{x.path}">{html.escape(x.title)}</a></li>' for x in listings)
    lines = "".join(f"<p>{line}</p>" for line in CONTACTS.get(name, []))
    body = (
        f'<h1>{html.escape(name)}</h1><section class="contact">{lines}</section>'
        f"<h2>Listings</h2><ul>{items}</ul>"
    )
    return body.encode()
