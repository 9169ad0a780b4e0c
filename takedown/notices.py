"""Takedown notices: the legal elements, the marketplace's form fields, text/HTML/Lumen JSON renderings.

A notice names every element 17 U.S.C. § 512(c)(3)(A) requires (i–vi) and the fields of the EU
Digital Services Act, Art. 16(2)(a–d); each infringing listing URL stands beside the original it
copies. The template follows the marketplace (its settings ``{"takedown": {"template": ...}}``):
``email`` (a generic e-mail notice) or the fields of eBay's VeRO report, Etsy's or Shopify's IP
report forms. The JSON follows the Lumen database's notice shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

GOOD_FAITH = (
    "I have a good faith belief that use of the copyrighted materials described above as allegedly "
    "infringing is not authorized by the copyright owner, its agent, or the law."
)
ACCURACY = (
    "I swear, under penalty of perjury, that the information in this notification is accurate and "
    "that I am the copyright owner or am authorized to act on behalf of the owner of an exclusive "
    "right that is allegedly infringed."
)
BONA_FIDE = (
    "I confirm my bona fide belief that the information and allegations contained in this notice are "
    "accurate and complete."
)

# The statutory elements every template must carry: key -> what the law asks for.
LEGAL_ELEMENTS: dict[str, str] = {
    "usc512_i_signature": "17 U.S.C. § 512(c)(3)(A)(i): signature of a person authorized to act for the owner",
    "usc512_ii_work": "(ii): identification of the copyrighted work claimed to be infringed",
    "usc512_iii_material": "(iii): identification of the infringing material, sufficient to locate it",
    "usc512_iv_contact": "(iv): address, telephone number and e-mail address of the complaining party",
    "usc512_v_good_faith": "(v): statement of good faith belief that the use is not authorized",
    "usc512_vi_accuracy": "(vi): statement of accuracy and, under penalty of perjury, of authority",
    "dsa_a_explanation": "DSA Art. 16(2)(a): a substantiated explanation of why the content is illegal",
    "dsa_b_locations": "DSA Art. 16(2)(b): the exact electronic location (URL) of each item",
    "dsa_c_submitter": "DSA Art. 16(2)(c): name and e-mail address of the submitter",
    "dsa_d_bona_fide": "DSA Art. 16(2)(d): statement of bona fide belief that the notice is accurate and complete",
}


@dataclass(frozen=True)
class FormField:
    """One field of a marketplace's report form and the element that fills it."""

    label: str
    element: str  # a key of the elements dict (see :func:`notice_elements`)


@dataclass(frozen=True)
class NoticeTemplate:
    name: str
    title: str  # what the recipient calls it
    channel: str  # how it is filed
    form_fields: tuple[FormField, ...] = ()


_CONTACT = (
    FormField("Email", "email"),
    FormField("Phone", "phone"),
    FormField("Address", "postal_address"),
)
TEMPLATES: dict[str, NoticeTemplate] = {
    "email": NoticeTemplate(
        "email", "Notice of copyright infringement", "e-mail to the marketplace's notice address"
    ),
    "ebay_vero": NoticeTemplate(
        "ebay_vero",
        "eBay VeRO Notice of Claimed Infringement",
        "eBay VeRO reporting tool / NOCI form",
        (
            FormField("VeRO participant (rights owner) name", "rights_owner"),
            FormField("Contact name", "submitter_name"),
            *_CONTACT,
            FormField("Item URLs (one per line)", "infringing_urls"),
            FormField("Reason code", "reason_code"),
            FormField("Description of the copyrighted work", "works"),
            FormField("Good-faith statement", "good_faith"),
            FormField("Accuracy and authority statement (penalty of perjury)", "accuracy"),
            FormField("Signature", "signature"),
            FormField("Date", "date"),
        ),
    ),
    "etsy": NoticeTemplate(
        "etsy",
        "Etsy Intellectual Property Infringement Report",
        "Etsy IP infringement report form",
        (
            FormField("Your full name", "submitter_name"),
            FormField("Rights owner (company)", "rights_owner"),
            FormField("Your relationship to the rights owner", "relationship"),
            *_CONTACT,
            FormField("Type of intellectual property", "ip_type"),
            FormField("Description of your original work", "works"),
            FormField("Link to your original work", "original_urls"),
            FormField("Etsy listing URLs (one per listing)", "infringing_urls"),
            FormField("Good-faith statement", "good_faith"),
            FormField("Accuracy and authority statement (penalty of perjury)", "accuracy"),
            FormField("Electronic signature", "signature"),
        ),
    ),
    "shopify": NoticeTemplate(
        "shopify",
        "Shopify Intellectual Property Report",
        "Shopify IP report form",
        (
            FormField("Name", "submitter_name"),
            *_CONTACT,
            FormField("Are you the rights owner or an authorised agent?", "relationship"),
            FormField("Rights owner", "rights_owner"),
            FormField("Type of complaint", "ip_type"),
            FormField("Description of the copyrighted work", "works"),
            FormField("URL of the original work", "original_urls"),
            FormField("Infringing product page URLs (one per product)", "infringing_urls"),
            FormField("Good-faith statement", "good_faith"),
            FormField("Accuracy and authority statement (penalty of perjury)", "accuracy"),
            FormField("Signature", "signature"),
        ),
    ),
}
PLATFORM_TEMPLATES = {"ebay": "ebay_vero", "etsy": "etsy", "shopify": "shopify"}


def template_for(marketplace_settings: Mapping[str, Any] | None) -> NoticeTemplate:
    """The marketplace's template: ``takedown.template`` in its settings, else by its ``platform``,
    else the generic e-mail notice."""
    values = marketplace_settings or {}
    takedown = values.get("takedown") if isinstance(values.get("takedown"), Mapping) else {}
    name = str(
        (takedown or {}).get("template") or PLATFORM_TEMPLATES.get(str(values.get("platform", "")), "email")
    )
    if name not in TEMPLATES:
        raise ValueError(f"unknown notice template {name!r}; choose one of {', '.join(TEMPLATES)}")
    return TEMPLATES[name]


def recipient_for(marketplace_settings: Mapping[str, Any] | None) -> str | None:
    """Where the e-mail goes: ``takedown.email`` in the marketplace's settings (None: file it by hand)."""
    takedown = (marketplace_settings or {}).get("takedown")
    return str(takedown["email"]) if isinstance(takedown, Mapping) and takedown.get("email") else None


@dataclass(frozen=True)
class Holder:
    """The rights holder's profile as the notice needs it."""

    legal_name: str
    postal_address: str
    email: str
    phone: str | None
    agent_name: str | None
    signature: str
    registrations: Sequence[str] = ()


@dataclass(frozen=True)
class Infringement:
    """One infringing listing beside the original it copies."""

    listing_url: str
    image_url: str | None
    original_description: str
    original_url: str | None
    listing_title: str | None = None
    score: float | None = None


@dataclass
class RenderedNotice:
    template: str
    subject: str
    text: str
    html: str
    lumen: dict[str, Any]
    fields: dict[str, str]
    elements: dict[str, str] = field(default_factory=dict)


def notice_elements(
    holder: Holder, brand: str, marketplace: str, seller: str | None, items: Sequence[Infringement], on: date
) -> dict[str, str]:
    """Every value a notice or form needs, by key (the legal elements and the form-only ones)."""
    submitter = holder.agent_name or holder.legal_name
    works = _works(items)
    contact = f"{holder.postal_address}; telephone {holder.phone or 'not given'}; e-mail {holder.email}"
    infringing = "\n".join(i.listing_url for i in items)
    explanation = (
        f"The listings below{' by seller ' + seller if seller else ''} on {marketplace} display photographs "
        f"copied from {holder.legal_name}'s original product photographs ({brand}) without licence; the "
        "copies were identified by image matching and confirmed by a reviewer, and the evidence (the pages "
        "as served, hashed and timestamped) is available on request."
    )
    registrations = "; ".join(holder.registrations) if holder.registrations else ""
    work_lines = "\n".join(
        f"{w['description']}" + (f" — {', '.join(w['copyrighted_urls'])}" if w["copyrighted_urls"] else "")
        for w in works
    )
    if registrations:
        work_lines += f"\nRegistrations: {registrations}"
    return {
        "usc512_i_signature": f"/{holder.signature}/",
        "usc512_ii_work": work_lines,
        "usc512_iii_material": infringing,
        "usc512_iv_contact": contact,
        "usc512_v_good_faith": GOOD_FAITH,
        "usc512_vi_accuracy": ACCURACY,
        "dsa_a_explanation": explanation,
        "dsa_b_locations": infringing,
        "dsa_c_submitter": f"{submitter} <{holder.email}>",
        "dsa_d_bona_fide": BONA_FIDE,
        # form-only values
        "rights_owner": holder.legal_name,
        "submitter_name": submitter,
        "email": holder.email,
        "phone": holder.phone or "",
        "postal_address": holder.postal_address,
        "relationship": "Authorised agent" if holder.agent_name else "Rights owner",
        "ip_type": "Copyright",
        "reason_code": "Copyright — listing(s) contain an unlawful copy of a copyrighted image",
        "works": work_lines,
        "original_urls": "\n".join(u for w in works for u in w["copyrighted_urls"])
        or "(described above; no public URL)",
        "infringing_urls": infringing,
        "good_faith": GOOD_FAITH,
        "accuracy": ACCURACY,
        "signature": f"/{holder.signature}/",
        "date": on.isoformat(),
    }


def _works(items: Sequence[Infringement]) -> list[dict[str, Any]]:
    """Items grouped by original: Lumen's works (one copyrighted work, its infringing URLs)."""
    works: dict[str, dict[str, Any]] = {}
    for item in items:
        work = works.setdefault(
            item.original_description,
            {
                "description": item.original_description,
                "kind": "photograph",
                "copyrighted_urls": [item.original_url] if item.original_url else [],
                "infringing_urls": [],
            },
        )
        if item.listing_url not in work["infringing_urls"]:
            work["infringing_urls"].append(item.listing_url)
    return list(works.values())


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def lumen_json(
    holder: Holder,
    template: NoticeTemplate,
    subject: str,
    marketplace: str,
    recipient: str | None,
    items: Sequence[Infringement],
    sent_at: datetime | None,
) -> dict[str, Any]:
    """The notice in the Lumen database's shape: works (copyrighted and infringing URLs) and the
    entities by role (sender, principal, recipient), with the date sent."""
    sender = {
        "role": "sender",
        "name": holder.agent_name or holder.legal_name,
        "email": holder.email,
        "address": holder.postal_address,
        "phone": holder.phone,
    }
    principal = {
        "role": "principal",
        "name": holder.legal_name,
        "email": holder.email,
        "address": holder.postal_address,
        "phone": holder.phone,
    }
    return {
        "title": subject,
        "type": "DMCA",
        "subject": template.title,
        "language": "en",
        "date_sent": sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z") if sent_at else None,
        "works": _works(items),
        "entities": [sender, principal, {"role": "recipient", "name": marketplace, "email": recipient}],
        "tags": ["copyright", "product-photo", template.name],
    }


def render_notice(
    holder: Holder,
    *,
    brand: str,
    marketplace: str,
    seller: str | None,
    items: Sequence[Infringement],
    template: NoticeTemplate,
    recipient: str | None,
    on: date | None = None,
    sent_at: datetime | None = None,
) -> RenderedNotice:
    """Render a notice (subject, text, HTML, Lumen JSON, the form's fields).

    Raises:
        ValueError: with no item, or a holder missing a required part (name, address, e-mail, signature).
    """
    if not items:
        raise ValueError("a notice needs at least one infringing listing")
    for name in ("legal_name", "postal_address", "email", "signature"):
        if not str(getattr(holder, name) or "").strip():
            raise ValueError(f"the rights holder profile has no {name.replace('_', ' ')}")
    on = on or datetime.now(UTC).date()
    elements = notice_elements(holder, brand, marketplace, seller, items, on)
    subject = (
        f"{template.title}: {len(items)} listing{'s' if len(items) != 1 else ''}"
        f"{' by ' + seller if seller else ''} on {marketplace} ({holder.legal_name})"
    )
    fields = {f.label: elements[f.element] for f in template.form_fields}
    context = {
        "holder": holder,
        "brand": brand,
        "marketplace": marketplace,
        "seller": seller,
        "items": items,
        "template": template,
        "recipient": recipient,
        "subject": subject,
        "elements": elements,
        "legal": LEGAL_ELEMENTS,
        "fields": fields,
        "date": on.isoformat(),
    }
    env = _environment()
    return RenderedNotice(
        template=template.name,
        subject=subject,
        text=env.get_template("notice.txt.j2").render(**context),
        html=env.get_template("notice.html.j2").render(**context),
        lumen=lumen_json(holder, template, subject, marketplace, recipient, items, sent_at),
        fields=fields,
        elements={k: elements[k] for k in LEGAL_ELEMENTS},
    )
