"""Variants in the review app: the detail page outlines where a variant differs from the original
on both images, and the queue filters copies from variants (test client and a real browser)."""

from __future__ import annotations

import re

import pytest

from db.engine import make_engine, session_factory
from db.models import Detection
from tests.review.conftest import PASSWORD, Seeded, login, screenshot

NOTE = "differs from the original here"
REGION = {"original": [120.0, 90.0, 180.0, 150.0], "query": [130.5, 100.0, 182.0, 152.5], "share": 0.04}


def _make_variant(seeded: Seeded, index: int = 2) -> int:
    """Label one seeded detection a variant, as the worker would, and return its id."""
    detection_id = seeded.detection_ids[index]
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s, s.begin():
        detection = s.get(Detection, detection_id)
        assert detection is not None
        detection.label, detection.variant_region = "variant", REGION
    engine.dispose()
    return detection_id


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="queue-row" data-id="(\d+)"', html)]


def test_the_detail_page_outlines_the_variant_region_on_both_images(client, seeded: Seeded) -> None:
    variant = _make_variant(seeded)
    login(client, seeded.reviewer_email)
    html = client.get(f"/detections/{variant}").get_data(as_text=True)
    assert html.count(NOTE) == 2 and 'id="variant-note"' in html
    rects = re.findall(
        r'<g class="variant-region">\s*<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"',
        html,
    )
    assert [tuple(float(v) for v in r) for r in rects] == [
        (130.5, 100.0, 51.5, 52.5),
        (120.0, 90.0, 60.0, 60.0),
    ]
    copy = seeded.detection_ids[0]
    assert NOTE not in client.get(f"/detections/{copy}").get_data(as_text=True)


def test_the_queue_filters_copies_from_variants(client, seeded: Seeded) -> None:
    variant = _make_variant(seeded)
    login(client, seeded.reviewer_email)
    everything = _ids(client.get("/queue").get_data(as_text=True))
    variants = _ids(client.get("/queue?label=variant").get_data(as_text=True))
    copies = _ids(client.get("/queue?label=copy").get_data(as_text=True))
    assert variants == [variant]
    assert variant in everything and variant not in copies
    assert sorted(copies + variants) == sorted(everything)
    response = client.get("/queue?label=lookalike")
    assert response.status_code == 400 and "label" in response.get_data(as_text=True)


@pytest.mark.browser
def test_a_reviewer_filters_variants_and_sees_the_region(page, live_server: str, seeded: Seeded) -> None:
    variant = _make_variant(seeded)
    page.goto(live_server + "/login")
    page.fill("input[name=email]", seeded.reviewer_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server + "/queue")
    page.select_option("#label-filter", "variant")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*label=variant.*"))
    rows = page.locator(".queue-row")
    assert rows.count() == 1 and rows.first.get_attribute("data-id") == str(variant)
    assert rows.first.locator(".variant-badge").count() == 1
    page.goto(live_server + f"/detections/{variant}")
    regions = page.locator(".variant-region")
    assert regions.count() == 2
    for i in range(2):
        assert regions.nth(i).locator("text").text_content() == NOTE
        box = regions.nth(i).locator("rect").bounding_box()
        assert box is not None and box["width"] > 5 and box["height"] > 5
    screenshot(page, "07-variant-detail")
