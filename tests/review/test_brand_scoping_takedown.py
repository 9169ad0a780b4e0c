"""Brands kept apart on the takedown pages: a reviewer granted Acme tries every evidence, bundle,
rights-holder and notice URL with Borealis' ids (a real notice, a real evidence file of Borealis)
and gets a 404 that names nothing of Borealis; the same URLs with Acme's ids are served."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from db.detections import review_detection
from db.engine import make_engine, session_factory
from db.evidence import record_evidence
from db.models import (
    Detection,
    DetectionStatus,
    EvidenceKind,
    EvidencePurpose,
    EvidenceStatus,
    Original,
)
from db.notices import upsert_rights_holder
from takedown.lifecycle import draft_notices
from tests.review.conftest import ACME_REVIEWER, Seeded, login

ACME, BOREALIS = "Acme Outdoor", "Borealis"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4bb0000000049454e44ae426082"
)


@dataclass
class BrandIds:
    brand: int
    detection: int
    notice: int
    evidence: int


def _prepare(seeded: Seeded, brand_name: str) -> BrandIds:
    """Confirm the brand's first hit, give the brand a rights holder, draft its notice and store a
    screenshot of the listing as evidence."""
    engine = make_engine(seeded.settings.database_url)
    digest = hashlib.sha256(PNG + brand_name.encode()).hexdigest()
    relative = f"evidence/{digest[:2]}/{digest}.png"
    target = seeded.settings.media_root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(PNG)
    with session_factory(engine)() as s, s.begin():
        detection = (
            s.query(Detection)
            .join(Original, Original.id == Detection.original_id)
            .filter(Original.brand.has(name=brand_name))
            .order_by(Detection.id)
            .first()
        )
        assert detection is not None
        brand_id = detection.original.brand_id
        review_detection(s, detection.id, DetectionStatus.CONFIRMED, reviewer_id=None)
        upsert_rights_holder(
            s,
            brand_id,
            legal_name=f"{brand_name} Ltd",
            postal_address="1 High Street, London",
            email="legal@example.com",
            signature=f"/{brand_name} legal/",
        )
        s.flush()
        notice_ids = draft_notices(s, actor="test", brand_id=brand_id)
        assert notice_ids, "a confirmed hit drafts a notice"
        evidence = record_evidence(
            s,
            listing_id=detection.listing_image.listing_id,
            key="test",
            kind=EvidenceKind.SCREENSHOT,
            purpose=EvidencePurpose.DETECTION,
            url=detection.listing_image.listing.url,
            status=EvidenceStatus.CAPTURED,
            detection_id=detection.id,
            sha256=digest,
            path=relative,
            size_bytes=len(PNG),
        )
        ids = BrandIds(brand_id, detection.id, notice_ids[0], evidence.id)
    engine.dispose()
    return ids


CASES = [
    ("takedown.bundle", "GET", "/detections/{detection}/evidence.zip"),
    ("takedown.evidence_file", "GET", "/detections/{detection}/evidence/{evidence}"),
    ("takedown.capture", "POST", "/detections/{detection}/evidence/capture"),
    ("takedown.holder", "GET", "/brands/{brand}/rights-holder"),
    ("takedown.holder", "POST", "/brands/{brand}/rights-holder"),
    ("takedown.notice", "GET", "/notices/{notice}"),
    ("takedown.download", "GET", "/notices/{notice}.json"),
    ("takedown.edit", "POST", "/notices/{notice}/edit"),
    ("takedown.send", "POST", "/notices/{notice}/send"),
    ("takedown.status", "POST", "/notices/{notice}/status"),
]


@pytest.mark.parametrize(("endpoint", "method", "template"), CASES)
def test_other_brands_takedown_urls_are_refused(
    client, seeded: Seeded, endpoint: str, method: str, template: str
) -> None:
    acme, borealis = _prepare(seeded, ACME), _prepare(seeded, BOREALIS)
    token = login(client, ACME_REVIEWER)

    def call(ids: BrandIds):
        url = template.format(**ids.__dict__)
        if method == "GET":
            return client.get(url)
        return client.post(url, data={"csrf_token": token, "status": "refused", "body_text": "x"})

    refused = call(borealis)
    assert refused.status_code == 404, (endpoint, refused.status_code)
    assert BOREALIS not in refused.get_data(as_text=True)
    if method == "GET":
        served = call(acme)
        assert served.status_code in {200, 302}, (endpoint, served.status_code)


def test_notice_list_and_draft_show_only_the_granted_brand(client, seeded: Seeded) -> None:
    _prepare(seeded, ACME)
    _prepare(seeded, BOREALIS)
    login(client, ACME_REVIEWER)
    page = client.get("/notices").get_data(as_text=True)
    assert "Acme Outdoor Ltd" in page or ACME in page
    assert BOREALIS not in page
