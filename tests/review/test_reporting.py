"""Report queries over the views on PostgreSQL and SQLite, the CSV export, and the report/user commands."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from copywatch.cli import main
from copywatch.settings import Settings
from db.detections import review_detection
from db.engine import make_engine, session_factory
from db.models import DetectionStatus, User
from db.reporting import REPORTS, report_csv, run_report
from tests.conftest import TEST_SECRET_KEY
from tests.review.conftest import PASSWORD, Seeded, login, seed


@pytest.fixture
def pg_seeded(tmp_path: Path, fresh_pg_url: str) -> Seeded:
    settings = Settings.from_env(
        {"DATA_DIR": str(tmp_path / "pgdata"), "DATABASE_URL": fresh_pg_url, "SECRET_KEY": TEST_SECRET_KEY}
    )
    settings.ensure_dirs()
    return seed(settings)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_seeded(request: pytest.FixtureRequest) -> Seeded:
    return request.getfixturevalue("seeded" if request.param == "sqlite" else "pg_seeded")


def _session(seeded: Seeded):
    return session_factory(make_engine(seeded.settings.database_url))()


def test_reports_follow_reviews(any_seeded: Seeded) -> None:
    with _session(any_seeded) as s:
        per_day = run_report(s, "detections_per_day")
        assert sum(int(r["detections"]) for r in per_day) == len(any_seeded.detection_ids)
        assert {r["marketplace"] for r in per_day} == {"shopA", "shopB"}
        assert run_report(s, "top_sellers") == []
        brands = {r["brand"]: r for r in run_report(s, "brand_summary")}
        assert (
            int(brands["Acme Outdoor"]["originals"]) == 7 and int(brands["Acme Outdoor"]["detections"]) == 4
        )
        health = {r["marketplace"]: r for r in run_report(s, "crawl_health")}
        assert health["shopB"]["last_status"] == "failed" and int(health["shopB"]["failed_runs"]) == 1
        assert health["shopA"]["last_status"] == "finished"

        reviewer = s.query(User).filter_by(email=any_seeded.reviewer_email).one()
        first, second = any_seeded.detection_ids[:2]
        review_detection(s, first, DetectionStatus.CONFIRMED, reviewer_id=reviewer.id)
        review_detection(s, second, DetectionStatus.DISMISSED, reviewer_id=reviewer.id)
        s.commit()

        per_day = run_report(s, "detections_per_day")
        assert sum(int(r["confirmed"]) for r in per_day) == 1
        assert sum(int(r["dismissed"]) for r in per_day) == 1
        sellers = run_report(s, "top_sellers")
        assert [(r["seller"], int(r["confirmed_hits"])) for r in sellers] == [("seller0", 1)]
        # ``since`` applies to each view's own date column.
        tomorrow = date.today() + timedelta(days=2)
        for name in REPORTS:
            assert run_report(s, name, since=tomorrow) == [], name
        recent = run_report(s, "detections_per_day", since=date.today() - timedelta(days=2))
        assert len({(r["marketplace"], r["day"]) for r in recent}) == 2  # one row per brand, too
        with pytest.raises(ValueError, match="unknown report"):
            run_report(s, "drop table users")


def test_csv_export_quotes_formulas() -> None:
    text = report_csv([{"seller": '=HYPERLINK("http://x")', "confirmed_hits": 3}])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [{"seller": '\'=HYPERLINK("http://x")', "confirmed_hits": "3"}]


def test_reports_page_and_csv_download(client, seeded: Seeded) -> None:
    login(client, seeded.reviewer_email)
    page = client.get("/reports")
    assert page.status_code == 200
    for name in REPORTS:
        assert f'id="report-{name}"'.encode() in page.data
    assert page.data.count(b'<svg class="chart') >= 4
    download = client.get("/reports/brand_summary.csv")
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert {r["brand"] for r in rows} == {"Acme Outdoor", "Borealis"}
    assert client.get("/reports/nope.csv").status_code == 404


def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("REDIS_URL", raising=False)


def test_report_command_prints_table_csv_and_json(
    pg_seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, pg_seeded.settings)
    assert main(["report", "crawl_health"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["marketplace_id", "marketplace"]
    assert len(table) == 4  # header, rule, two marketplaces
    assert main(["report", "brand_summary", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(r["brand"] for r in data) == ["Acme Outdoor", "Borealis"]
    assert main(["report", "detections_per_day", "--format", "csv", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == ""


def test_user_command_adds_an_account_that_can_log_in(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], app
) -> None:
    _env(monkeypatch, seeded.settings)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["user", "add", "Boss@Example.com", "--role", "admin", "--password-stdin"]) == 0
    assert "boss@example.com (admin)" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", "x@example.com", "--password-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "boss@example.com", "--password-stdin"]) == 1
    assert main(["user", "list"]) == 0
    listed = capsys.readouterr().out
    assert "boss@example.com\tadmin\tactive" in listed and "x@example.com" not in listed
    client = app.test_client()
    login(client, "boss@example.com", "a long password")
    assert client.get("/admin/users").status_code == 200


def test_serve_refuses_without_secret_key(seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    _env(monkeypatch, seeded.settings)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert main(["serve", "--port", "1"]) == 2
    assert "SECRET_KEY" in capsys.readouterr().err


def test_user_command_grants_brands_and_the_account_sees_only_them(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], app
) -> None:
    _env(monkeypatch, seeded.settings)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["user", "add", "bo@example.com", "--brand", "Borealis", "--password-stdin"]) == 0
    assert "bo@example.com (reviewer, brands: Borealis)" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["user", "add", "x@example.com", "--brand", "No Such Brand", "--password-stdin"]) == 1
    assert "no brand named 'No Such Brand'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["user", "add", "chief@example.com", "--admin", "--password-stdin"]) == 0
    assert main(["user", "list"]) == 0
    listed = capsys.readouterr().out
    assert "bo@example.com\treviewer\tactive\tBorealis" in listed
    assert "chief@example.com\tadmin\tactive\tall brands" in listed and "x@example.com" not in listed

    client = app.test_client()
    login(client, "bo@example.com", "a long password")
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/brand_summary.csv").get_data(as_text=True))))
    assert [r["brand"] for r in rows] == ["Borealis"]
    assert main(["user", "grant", "bo@example.com", "--brand", "Acme Outdoor"]) == 0
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/brand_summary.csv").get_data(as_text=True))))
    assert sorted(r["brand"] for r in rows) == ["Acme Outdoor", "Borealis"]
    assert main(["user", "revoke", "bo@example.com", "--brand", "Borealis"]) == 0
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/brand_summary.csv").get_data(as_text=True))))
    assert [r["brand"] for r in rows] == ["Acme Outdoor"]
    assert main(["user", "grant", "nobody@example.com", "--brand", "Borealis"]) == 1


def test_report_networks_command_recomputes_and_prints(
    pg_seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from db.models import Seller
    from db.sellers import add_contacts, carry_over_listing_sellers

    _env(monkeypatch, pg_seeded.settings)
    engine = make_engine(pg_seeded.settings.database_url)
    with session_factory(engine)() as s, s.begin():
        carry_over_listing_sellers(s)
        for seller in s.query(Seller).filter_by(marketplace_id=1).all():
            add_contacts(s, seller.id, [{"kind": "handle", "value": "telegram:same_operator"}], None)
    engine.dispose()
    assert main(["report", "networks", "--refresh", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all("shared_handle: telegram:same_operator" in r["shared_keys"] for r in rows)
    assert {int(r["members"]) for r in rows} == {4}  # seller0, seller1, seller2 and seller9 on shopA


def test_marketplace_region_for_phone_numbers(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from db.models import Marketplace

    _env(monkeypatch, seeded.settings)
    assert main(["marketplace", "add", "uk-market", "https://uk.invalid/", "--region", "gb"]) == 0
    with pytest.raises(SystemExit):
        main(["marketplace", "add", "x", "https://x.invalid/", "--region", "XX"])
    engine = make_engine(seeded.settings.database_url)
    with session_factory(engine)() as s:
        assert s.query(Marketplace).filter_by(name="uk-market").one().settings["region"] == "GB"
    engine.dispose()
