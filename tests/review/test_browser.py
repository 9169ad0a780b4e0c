"""The review page in a real browser (Debian's chromium via Playwright): log in, search by drag and drop,
filter by threshold, review a detection, and see the queue and the reports follow."""

from __future__ import annotations

import base64
import re

import cv2
import pytest

from tests.review.conftest import PASSWORD, Seeded, listing_copy, screenshot

pytestmark = pytest.mark.browser

DROP_FILE = """([b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, { type: "image/png" }));
  return dt;
}"""


def _log_in(page, base: str, email: str) -> None:
    page.goto(base + "/search")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/search$"))


def _kpi(page, name: str) -> int:
    return int(page.inner_text(f"#kpi-{name}").replace(",", ""))


def test_search_review_and_report_flow(page, live_server: str, seeded: Seeded) -> None:
    base = live_server
    login_page = page.goto(base + "/")
    assert login_page is not None
    screenshot(page, "01-login")
    _log_in(page, base, seeded.reviewer_email)

    # Drag and drop a stolen copy of an original onto the search page.
    original_id, original = list(seeded.originals.items())[4]
    ok, png = cv2.imencode(".png", listing_copy(original))
    assert ok
    data_transfer = page.evaluate_handle(DROP_FILE, [base64.b64encode(png.tobytes()).decode(), "suspect.png"])
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": data_transfer})
    page.wait_for_selector("#results li.result >> nth=9", timeout=30_000)
    items = page.locator("#results li.result")
    assert items.count() == 10
    percents = [float(t.rstrip("%")) for t in items.locator(".percent").all_inner_texts()]
    assert all(0 <= p <= 100 for p in percents)
    assert percents == sorted(percents, reverse=True)
    assert page.locator("#results li.result").first.locator(".name").inner_text() == f"Trail jacket {4}"
    # The matched region is drawn on both images.
    assert page.get_attribute("#query-region", "points")
    assert page.get_attribute("#match-region", "points")
    screenshot(page, "02-search-results")

    # A threshold between the results keeps only originals at or above it.
    threshold = (percents[0] + percents[-1]) / 2
    page.fill("#threshold", f"{threshold:.1f}")
    shown = [float(t.rstrip("%")) for t in page.locator("#results li.result .percent").all_inner_texts()]
    assert 0 < len(shown) < 10
    assert all(p >= round(threshold, 1) for p in shown)
    assert shown == [p for p in percents if p >= round(threshold, 1)]
    screenshot(page, "03-search-threshold")

    # The reports before the review.
    page.goto(base + "/reports")
    confirmed_before = _kpi(page, "confirmed")
    pending_before = _kpi(page, "pending")

    # Open the top detection of the queue and confirm it with a note.
    page.goto(base + "/queue")
    screenshot(page, "04-queue")
    first = page.locator(".queue-row").first
    detection_id = first.get_attribute("data-id")
    first.locator("a.title").click()
    page.wait_for_url(re.compile(rf".*/detections/{detection_id}.*"))
    assert page.locator("polygon.region-query").count() == 1
    assert page.locator("polygon.region-original").count() == 1
    screenshot(page, "05-detail")
    page.fill("#note", "Same photo, cropped")
    page.click("#confirm-button")
    page.wait_for_url(lambda url: f"/detections/{detection_id}" not in url)

    page.goto(base + "/queue")
    ids = page.locator(".queue-row").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert detection_id not in ids
    # One confirmed; the logo-only detection (no original, so no brand) is for admins only.
    assert len(ids) == len(seeded.detection_ids) - 2

    page.goto(base + "/queue?status=confirmed")
    assert page.locator(f'.queue-row[data-id="{detection_id}"]').count() == 1
    page.goto(base + f"/detections/{detection_id}")
    assert "Confirmed by" in page.inner_text(".review-card")
    assert seeded.reviewer_email in page.inner_text(".review-card")
    assert "Same photo, cropped" in page.inner_text(".review-card")

    page.goto(base + "/reports")
    assert _kpi(page, "confirmed") == confirmed_before + 1
    assert _kpi(page, "pending") == pending_before - 1
    assert page.locator("#table-top_sellers tbody tr").count() == 1
    screenshot(page, "06-reports")


def test_keyboard_dismisses_the_current_row(page, live_server: str, seeded: Seeded) -> None:
    _log_in(page, live_server, seeded.reviewer_email)
    page.goto(live_server + "/queue")
    rows = page.locator(".queue-row")
    count = rows.count()
    second = rows.nth(1).get_attribute("data-id")
    page.keyboard.press("j")
    assert "current" in (rows.nth(1).get_attribute("class") or "")
    page.keyboard.press("d")
    # (not wait_for_function: the page's CSP forbids the eval it relies on)
    page.locator(f'.queue-row[data-id="{second}"]').wait_for(state="detached")
    assert page.locator(".queue-row").count() == count - 1
    page.goto(live_server + "/queue?status=dismissed")
    assert page.locator(f'.queue-row[data-id="{second}"]').count() == 1


def test_bad_upload_shows_a_clear_error(page, live_server: str, seeded: Seeded) -> None:
    _log_in(page, live_server, seeded.reviewer_email)
    data_transfer = page.evaluate_handle(
        DROP_FILE, [base64.b64encode(b"<html>not an image</html>").decode(), "x.png"]
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": data_transfer})
    page.wait_for_selector("#search-error:not([hidden])")
    assert "image" in page.inner_text("#search-error").lower()
    assert page.locator("#results li.result").count() == 0


def test_file_picker_and_upload_button(page, live_server: str, seeded: Seeded, tmp_path) -> None:
    _log_in(page, live_server, seeded.reviewer_email)
    assert page.is_disabled("#upload-button")
    original = list(seeded.originals.values())[2]
    path = tmp_path / "picked.jpg"
    cv2.imwrite(str(path), listing_copy(original))
    page.set_input_files("#file-input", str(path))
    assert "picked.jpg" in page.inner_text("#file-name")
    assert page.locator("#results li.result").count() == 0  # a picked file waits for Upload
    page.click("#upload-button")
    page.wait_for_selector("#results li.result >> nth=9", timeout=30_000)
    assert page.locator("#results li.result").first.locator(".name").inner_text() == "Trail jacket 2"
    percents = [float(t.rstrip("%")) for t in page.locator("#results li.result .percent").all_inner_texts()]
    above_second = percents[1] + 0.1
    page.fill("#threshold", f"{above_second:.1f}")
    assert page.locator("#results li.result").count() == sum(p >= round(above_second, 1) for p in percents)
    assert page.locator("#results li.result").count() >= 1
    page.fill("#threshold", "100")
    at_100 = sum(p >= 100 for p in percents)
    assert page.locator("#results li.result").count() == at_100
    if at_100 == 0:
        assert "No original at or above 100%" in page.inner_text("#results-empty")


def test_admin_adds_a_reviewer_in_the_browser(page, live_server: str, seeded: Seeded) -> None:
    page.goto(live_server + "/admin/users")
    page.fill("input[name=email]", seeded.admin_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/users$"))
    page.fill("form.stack input[name=email]", "new.reviewer@example.com")
    page.fill("form.stack input[name=password]", "a good long password")
    page.click("form.stack button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert "new.reviewer@example.com" in page.inner_text("table.table")
    screenshot(page, "07-users")


def test_a_reviewer_follows_a_seller_into_its_network(page, live_server: str, seeded: Seeded) -> None:
    from db.engine import make_engine, session_factory
    from db.models import Seller
    from db.networks import refresh_sellers
    from db.sellers import add_contacts
    from tests.review.conftest import ACME_REVIEWER

    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s, s.begin():
        refresh_sellers(s)
        pair = s.query(Seller).filter_by(marketplace_id=1).order_by(Seller.id).all()[:2]
        for seller in pair:
            add_contacts(
                s, seller.id, [{"kind": "phone", "value": "+442079460321", "raw": "020 7946 0321"}], None
            )
        refresh_sellers(s)
        names = sorted(x.name for x in pair)
    engine.dispose()

    _log_in(page, live_server, ACME_REVIEWER)
    page.click("nav >> text=Sellers")
    page.wait_for_url(re.compile(r".*/sellers$"))
    assert page.locator(".seller-row").count() >= 2
    page.goto(live_server + "/networks")
    assert page.locator(".network-row").count() == 1
    page.locator(".network-row a").first.click()
    page.wait_for_url(re.compile(r".*/networks/\d+$"))
    members = page.locator(".member-row a").all_inner_texts()
    assert sorted(members) == names
    assert "shared phone" in page.inner_text("#links") and "+442079460321" in page.inner_text("#links")
    screenshot(page, "07-network")
    page.locator(".member-row a").first.click()
    page.wait_for_url(re.compile(r".*/sellers/\d+$"))
    assert "020 7946 0321" in page.inner_text("#contacts")
