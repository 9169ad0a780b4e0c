"""Contact data in seller and listing pages, normalised into keys that can be compared across sellers.

Four kinds, each with one normal form:

- ``email``: ``name@domain`` lower-cased, also when written to dodge scrapers
  (``name [at] domain [dot] com``, ``name(at)domain.com``, ``name AT domain DOT com``) or in a
  ``mailto:`` link;
- ``phone``: E.164 (``+442079460958``), parsed by ``phonenumbers`` (Google's libphonenumber) with the
  marketplace's default region for numbers written without a country code, and only numbers
  libphonenumber calls valid; ``wa.me`` / ``api.whatsapp.com`` links give phones too;
- ``handle``: ``service:name`` lower-cased for messaging and social accounts (``telegram:shopbot``,
  ``instagram:copy.shop``, ``wechat:abc123``), from profile links and from labelled text
  ("Telegram: @shopbot");
- ``domain``: an external shop's registrable host without ``www.`` (``cheap-copies.example``), from
  links and bare ``www.`` names, never the marketplace's own host nor a well-known platform.

Pure: text and links in, :class:`Contact` values out; nothing here fetches or stores.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import phonenumbers

EMAIL, PHONE, HANDLE, DOMAIN = "email", "phone", "handle", "domain"


@dataclass(frozen=True, order=True)
class Contact:
    """One contact key: ``kind`` (email/phone/handle/domain), normalised ``value``, and the ``raw`` text."""

    kind: str
    value: str
    raw: str = ""


_TLD = r"[a-z]{2,24}"
_LOCAL = r"[a-z0-9][a-z0-9._%+\-]{0,63}"
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"(?<![\w.+\-])({_LOCAL})@((?:{_LABEL}\.)+{_TLD})(?![\w\-])", re.I)
# "[at]", "(at)", "{at}", " at " and their "dot" twins; the bracketed forms are unambiguous, the bare
# words only count between two word-like parts followed by a dotted domain (or " dot ").
_AT = r"\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|<\s*at\s*>|\s+at\s+|\s*＠\s*)\s*"
_DOT = r"\s*(?:\[\s*dot\s*\]|\(\s*dot\s*\)|\{\s*dot\s*\}|<\s*dot\s*>|\s+dot\s+|\.)\s*"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.+\-])({_LOCAL}){_AT}((?:{_LABEL}{_DOT})+{_TLD})(?![\w\-])",
    re.I,
)
_DOT_SPLIT = re.compile(_DOT, re.I)

# Messaging and social services: a profile link's host → the service name, and the labels people write.
_HANDLE_HOSTS = {
    "t.me": "telegram",
    "telegram.me": "telegram",
    "telegram.dog": "telegram",
    "instagram.com": "instagram",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "m.me": "facebook",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "tiktok.com": "tiktok",
    "vk.com": "vk",
    "line.me": "line",
    "snapchat.com": "snapchat",
    "pinterest.com": "pinterest",
    "youtube.com": "youtube",
}
_HANDLE_LABELS = {
    "telegram": "telegram",
    "tg": "telegram",
    "instagram": "instagram",
    "insta": "instagram",
    "ig": "instagram",
    "wechat": "wechat",
    "weixin": "wechat",
    "wechat id": "wechat",
    "line": "line",
    "line id": "line",
    "skype": "skype",
    "signal": "signal",
    "kik": "kik",
    "snapchat": "snapchat",
    "tiktok": "tiktok",
    "twitter": "twitter",
    "facebook": "facebook",
    "discord": "discord",
}
_LABELLED_HANDLE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(k) for k in _HANDLE_LABELS), key=len, reverse=True)) + r")"
    r"\s*(?:id|handle|account|username)?\s*[:：=]\s*@?([a-z0-9][a-z0-9._\-]{1,63})",
    re.I,
)
_WHATSAPP_HOSTS = {"wa.me", "api.whatsapp.com", "whatsapp.com", "chat.whatsapp.com"}
# Hosts that are platforms, not a seller's own shop: never a shared "domain" key.
_PLATFORM_HOSTS = {
    *_HANDLE_HOSTS,
    *_WHATSAPP_HOSTS,
    "google.com",
    "goo.gl",
    "maps.google.com",
    "apple.com",
    "schema.org",
    "w3.org",
    "paypal.com",
    "stripe.com",
    "wikipedia.org",
    "linkedin.com",
    "amazon.com",
    "ebay.com",
    "etsy.com",
    "shopify.com",
    "myshopify.com",
    "wordpress.com",
    "gstatic.com",
    "googleapis.com",
    "cloudflare.com",
    "example.com",
}
_BARE_DOMAIN = re.compile(rf"\bwww\.((?:{_LABEL}\.)+{_TLD})\b", re.I)
_MAX_TEXT = 200_000  # a seller page's text beyond this is boilerplate or an attack; not read


def _host(url: str) -> str:
    try:
        host = (urlparse(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def _is_platform(host: str) -> bool:
    return any(host == p or host.endswith("." + p) for p in _PLATFORM_HOSTS)


def _same_site(host: str, own_hosts: frozenset[str]) -> bool:
    return any(host == own or host.endswith("." + own) or own.endswith("." + host) for own in own_hosts)


def normalise_email(local: str, domain: str) -> str | None:
    local, domain = local.strip().strip(".").lower(), domain.strip().strip(".").lower()
    if not local or not domain or ".." in local or "." not in domain:
        return None
    if domain.rsplit(".", 1)[-1] in {"png", "jpg", "jpeg", "gif", "webp", "svg", "css", "js"}:
        return None  # "logo@2x.png" and friends
    return f"{local}@{domain}"


def emails(text: str) -> list[Contact]:
    """E-mail addresses in ``text``, plain or obfuscated ("name [at] shop [dot] com")."""
    found: list[Contact] = []
    for match in _EMAIL.finditer(text):
        if value := normalise_email(match.group(1), match.group(2)):
            found.append(Contact(EMAIL, value, match.group(0)))
    for match in _OBFUSCATED_EMAIL.finditer(text):
        raw = match.group(0)
        if "@" in raw:
            continue  # a plain address, taken above
        domain = ".".join(p for p in _DOT_SPLIT.split(match.group(2)) if p)
        bare_at = re.search(r"\s+at\s+", raw, re.I) and not re.search(r"[\[({<]", raw)
        if bare_at and not re.search(r"\s+dot\s+", raw, re.I) and "." not in match.group(2):
            continue  # "meet us at home" is no address
        if bare_at and len(match.group(1)) < 2:
            continue
        if value := normalise_email(match.group(1), domain):
            found.append(Contact(EMAIL, value, raw))
    return found


def phone(raw: str, region: str | None) -> str | None:
    """``raw`` as E.164 when libphonenumber finds a valid number in it (``region`` for national formats)."""
    try:
        number = phonenumbers.parse(raw, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phones(text: str, region: str | None) -> list[Contact]:
    """Valid phone numbers in ``text``, as E.164; numbers without a country code use ``region``."""
    found: list[Contact] = []
    # "(0)" after a country code is the national trunk prefix that must not be dialled from abroad.
    cleaned = re.sub(r"(\+\s*\d{1,3})\s*\(\s*0\s*\)\s*", r"\1 ", text)
    matcher = phonenumbers.PhoneNumberMatcher(
        cleaned, (region or "").upper() or None, leniency=phonenumbers.Leniency.VALID, max_tries=200
    )
    for match in matcher:
        found.append(
            Contact(
                PHONE,
                phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164),
                match.raw_string,
            )
        )
    return found


def handles(text: str) -> list[Contact]:
    """Messaging handles written with their service's label ("Telegram: @shopbot", "WeChat ID: abc")."""
    found = []
    for match in _LABELLED_HANDLE.finditer(text):
        service = _HANDLE_LABELS[" ".join(match.group(1).lower().split())]
        name = match.group(2).rstrip("._-").lower()
        if service == "signal" and name.isdigit():
            continue  # a Signal "handle" that is a phone number is read as a phone
        found.append(Contact(HANDLE, f"{service}:{name}", match.group(0)))
    return found


def from_link(href: str, own_hosts: frozenset[str], region: str | None) -> list[Contact]:
    """What one link names: a ``mailto:``/``tel:`` contact, a WhatsApp phone, a profile handle, a shop domain."""
    href = html.unescape(href or "").strip()
    lowered = href.lower()
    if lowered.startswith("mailto:"):
        address = unquote(href[7:].split("?", 1)[0])
        local, _, domain = address.partition("@")
        value = normalise_email(local, domain)
        return [Contact(EMAIL, value, href)] if value else []
    if lowered.startswith(("tel:", "callto:")):
        value = phone(unquote(href.split(":", 1)[1]), region)
        return [Contact(PHONE, value, href)] if value else []
    if not lowered.startswith(("http://", "https://", "//")):
        return []
    host = _host(href if not href.startswith("//") else "http:" + href)
    if not host or _same_site(host, own_hosts):
        return []
    path = urlparse(href if not href.startswith("//") else "http:" + href).path
    if host in _WHATSAPP_HOSTS:
        digits = re.sub(r"\D", "", path) or re.sub(r"\D", "", _query_value(href, "phone"))
        value = phone("+" + digits, None) if digits else None
        return [Contact(PHONE, value, href)] if value else []
    service = next((s for h, s in _HANDLE_HOSTS.items() if host == h or host.endswith("." + h)), None)
    if service is not None:
        first = next((p for p in path.split("/") if p), "")
        name = first.lstrip("@").lower()
        if (
            name
            and re.fullmatch(r"[a-z0-9][a-z0-9._\-]{1,63}", name)
            and name not in {"share", "intent", "sharer.php", "home"}
        ):
            return [Contact(HANDLE, f"{service}:{name}", href)]
        return []
    if _is_platform(host):
        return []
    return [Contact(DOMAIN, host, href)]


def _query_value(url: str, name: str) -> str:
    from urllib.parse import parse_qs

    return (parse_qs(urlparse(url).query).get(name) or [""])[0]


def bare_domains(text: str, own_hosts: frozenset[str]) -> list[Contact]:
    """External shops written as ``www.name.tld`` in text (not linked)."""
    found = []
    for match in _BARE_DOMAIN.finditer(text):
        host = match.group(1).lower()
        if not _same_site(host, own_hosts) and not _is_platform(host):
            found.append(Contact(DOMAIN, host, match.group(0)))
    return found


def extract_contacts(
    text: str,
    links: Sequence[str] = (),
    *,
    own_hosts: frozenset[str] | set[str] = frozenset(),
    region: str | None = None,
) -> list[Contact]:
    """Every contact key in a page's visible ``text`` and its ``links``, deduplicated, in a stable order.

    Args:
        text: the page's text (or the seller block's), markup removed.
        links: the ``href`` values of its links (absolute or ``mailto:``/``tel:``).
        own_hosts: the marketplace's own host names: its addresses are not a seller's.
        region: ISO 3166 country code for phone numbers written without a country code (``"GB"``).

    Returns:
        Contacts sorted by kind and value; e-mails on the marketplace's own domain are left out.

    Example:
        >>> [c.value for c in extract_contacts("Call 020 7946 0958 or mail bob [at] shop [dot] co.uk", region="GB")]
        ['bob@shop.co.uk', '+442079460958']
    """
    own = frozenset(h.lower().removeprefix("www.") for h in own_hosts)
    text = html.unescape(text or "")[:_MAX_TEXT]
    found: list[Contact] = [*emails(text), *phones(text, region), *handles(text), *bare_domains(text, own)]
    for href in list(links)[:2000]:
        found.extend(from_link(href, own, region))
    unique: dict[tuple[str, str], Contact] = {}
    for contact in found:
        if contact.kind == EMAIL and _same_site(contact.value.rsplit("@", 1)[-1], own):
            continue
        unique.setdefault((contact.kind, contact.value), contact)
    order = {EMAIL: 0, PHONE: 1, HANDLE: 2, DOMAIN: 3}
    return sorted(unique.values(), key=lambda c: (order[c.kind], c.value))
