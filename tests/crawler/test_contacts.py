"""Contact keys from seller and listing pages: phones in international formats, obfuscated e-mails,
messaging handles, shop domains; the marketplace's own addresses left out."""

from __future__ import annotations

import pytest
from parsel import Selector

from crawler.contacts import extract_contacts, phone
from crawler.sellers import listing_contacts, read_seller_page, seller_from_platform, seller_of_listing

OWN = frozenset({"market.example", "127.0.0.1"})


def _values(text: str, links: list[str] = (), region: str | None = None) -> list[tuple[str, str]]:
    return [(c.kind, c.value) for c in extract_contacts(text, list(links), own_hosts=OWN, region=region)]


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 (0)20-7946-0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "DE", "+442079460958"),  # the country code wins over the region
        ("(020) 7946 0958", "GB", "+442079460958"),
        ("+1 (415) 555-0132", None, "+14155550132"),
        ("415.555.0132", "US", "+14155550132"),
        ("030 1234567", "DE", "+49301234567"),
        ("+49 30 1234567", "GB", "+49301234567"),
        ("+33 1 42 68 53 00", None, "+33142685300"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("+86 138 0013 8000", None, "+8613800138000"),
        ("+81 3-1234-5678", None, "+81312345678"),
        ("+91 98765 43210", None, "+919876543210"),
    ],
)
def test_phone_numbers_in_many_formats_become_one_e164_key(
    written: str, region: str | None, e164: str
) -> None:
    assert _values(f"Call us on {written}, Mon-Fri", region=region) == [("phone", e164)]


def test_numbers_that_are_no_phone_numbers_are_left_out() -> None:
    assert _values("Order 20240115, SKU 1234567890123, price 12.99, 2024-01-15", region="GB") == []
    assert phone("12345", "GB") is None and phone("not a number", None) is None
    # A national number without a region cannot be read.
    assert _values("call 020 7946 0958") == []


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("bob@shop.co.uk", "bob@shop.co.uk"),
        ("Bob.Smith+copies@Shop.Example", "bob.smith+copies@shop.example"),
        ("bob [at] shop [dot] co [dot] uk", "bob@shop.co.uk"),
        ("bob [at] shop.co.uk", "bob@shop.co.uk"),
        ("bob(at)shop(dot)com", "bob@shop.com"),
        ("bob (at) shop (dot) com", "bob@shop.com"),
        ("bob{at}shop{dot}com", "bob@shop.com"),
        ("bob AT shop DOT com", "bob@shop.com"),
        ("bob at shop dot com", "bob@shop.com"),
        ("bob＠shop.com", "bob@shop.com"),
    ],
)
def test_plain_and_obfuscated_emails(written: str, address: str) -> None:
    assert _values(f"Write to {written} today") == [("email", address)]


def test_words_that_only_look_like_obfuscation_are_no_address() -> None:
    assert _values("We meet at home and look at prices; logo@2x.png; me at noon") == []


def test_messaging_handles_from_labels_and_profile_links() -> None:
    found = _values(
        "Telegram: @ShopBot_1 · WeChat ID: abc123 · IG: copy.shop · Line ID = line_seller · Skype: bob.live",
        [
            "https://t.me/other_bot",
            "https://www.instagram.com/copy.shop/",
            "https://facebook.com/sharer.php?u=1",
        ],
    )
    assert found == [
        ("handle", "instagram:copy.shop"),
        ("handle", "line:line_seller"),
        ("handle", "skype:bob.live"),
        ("handle", "telegram:other_bot"),
        ("handle", "telegram:shopbot_1"),
        ("handle", "wechat:abc123"),
    ]


def test_links_give_mailto_tel_whatsapp_and_shop_domains_but_not_the_marketplace() -> None:
    found = _values(
        "",
        [
            "mailto:Sales@Copies.Example?subject=hi",
            "tel:+44-20-7946-0958",
            "https://wa.me/447911123456",
            "https://api.whatsapp.com/send?phone=447911123457",
            "https://www.copies-direct.example/shop",
            "https://market.example/seller/other",
            "https://sub.market.example/help",
            "https://www.paypal.com/checkout",
        ],
        region="GB",
    )
    assert found == [
        ("email", "sales@copies.example"),
        ("phone", "+442079460958"),
        ("phone", "+447911123456"),
        ("phone", "+447911123457"),
        ("domain", "copies-direct.example"),
    ]


def test_the_marketplaces_own_email_is_no_sellers_contact() -> None:
    assert _values("help@market.example or help [at] market [dot] example") == []


def test_huge_or_hostile_text_is_bounded_and_never_raises() -> None:
    text = ("+44 20 7946 0958 " * 20) + ("@" * 300_000) + " [at] " * 1000
    assert ("phone", "+442079460958") in _values(text)
    assert extract_contacts(None or "", ["javascript:alert(1)", "http://[::1", "mailto:"]) == []


# --- seller identity on listing pages --------------------------------------------------------------


def test_schema_org_seller_with_url_and_identifier() -> None:
    page = Selector(text="<html><body><h1>x</h1></body></html>")
    info = seller_of_listing(
        {"@type": "Organization", "name": " Copy  Shop ", "url": "/shop/copy-shop", "identifier": "S-42"},
        page,
        "https://market.example/item/1",
        OWN,
    )
    assert info == {
        "name": "Copy Shop",
        "external_id": "S-42",
        "profile_url": "https://market.example/shop/copy-shop",
    }


def test_seller_link_on_a_page_without_structured_seller() -> None:
    html = """<html><body><div class="product"><h1>Bag</h1>
      <div class="seller-box">Sold by: <a href="/store/bag-king?ref=item">Bag King</a></div>
      <a href="/store/other">Other stores you may like</a></div></body></html>"""
    info = seller_of_listing(None, Selector(text=html), "https://market.example/item/2", OWN)
    assert info == {
        "name": "Bag King",
        "external_id": None,
        "profile_url": "https://market.example/store/bag-king?ref=item",
    }


def test_an_offsite_seller_url_is_not_followed() -> None:
    info = seller_of_listing(
        {"name": "Shop", "url": "https://elsewhere.example/"}, None, "https://market.example/i", OWN
    )
    assert info == {"name": "Shop", "external_id": None, "profile_url": None}


def test_platform_vendor_fields() -> None:
    assert seller_from_platform({"vendor": "Store Co"}, "https://s.example") == {
        "name": "Store Co",
        "external_id": None,
        "profile_url": None,
    }
    dokan = {"store": {"id": 7, "name": "Dokan Shop", "url": "/store/dokan-shop/"}}
    assert seller_from_platform(dokan, "https://s.example") == {
        "name": "Dokan Shop",
        "external_id": "7",
        "profile_url": "https://s.example/store/dokan-shop/",
    }
    assert seller_from_platform({"title": "no seller"}, "https://s.example") is None


def test_seller_page_name_and_contacts_from_main_content_only() -> None:
    html = """<html><head><script type="application/ld+json">{"@type": "Store", "name": "Galore"}</script></head>
      <body><header>Call the market: +44 20 7946 0999</header>
      <main><h1>ignored heading</h1><p>Phone 020 7946 0321</p><p>gadgets [at] galore-mail [dot] example</p>
      <script>var x = "+44 20 7946 0777";</script><a href="https://t.me/galore">tg</a></main>
      <footer>help [at] other-market [dot] example</footer></body></html>"""
    name, contacts = read_seller_page(html, "https://market.example/seller/galore", OWN, "GB")
    assert name == "Galore"
    assert [(c.kind, c.value) for c in contacts] == [
        ("email", "gadgets@galore-mail.example"),
        ("phone", "+442079460321"),
        ("handle", "telegram:galore"),
    ]


def test_malformed_seller_page_reads_what_it_can() -> None:
    name, contacts = read_seller_page(
        "<html><body><main><h1>Bro\x00ken<<p class='x>", "https://m.example/s/x", OWN, "GB"
    )
    assert contacts == [] and (name is None or isinstance(name, str))


def test_listing_contacts_come_from_the_seller_block_and_description() -> None:
    html = """<html><body><header>+44 20 7946 0999</header>
      <div class="description">WhatsApp me: +44 7911 123456</div>
      <div class="seller">Mail seller [at] copies [dot] example</div></body></html>"""
    found = listing_contacts(Selector(text=html), "https://market.example/item/3", OWN, "GB")
    assert [(c.kind, c.value) for c in found] == [
        ("email", "seller@copies.example"),
        ("phone", "+447911123456"),
    ]
