"""Migrations run both ways on PostgreSQL and SQLite, and never drift from the models."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from db.engine import make_engine, sqlite_file
from db.migrate import alembic_config, downgrade, head, upgrade
from db.models import REPORT_VIEWS, Base

TABLES = {
    "brands",
    "originals",
    "marketplaces",
    "crawl_runs",
    "listings",
    "listing_images",
    "detections",
    "users",
    "sellers",
    "seller_contacts",
    "seller_links",
    "user_brands",
    "evidence",
    "rights_holders",
    "notices",
    "notice_items",
    "notice_events",
}


def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return set(inspector.get_table_names()) - {"alembic_version"}, set(inspector.get_view_names())
    finally:
        engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(request: pytest.FixtureRequest, make_pg_database: Callable[[], str], tmp_path: Path) -> str:
    if request.param == "postgresql":
        return make_pg_database()
    return f"sqlite:///{tmp_path / 'empty.db'}"


def test_upgrade_downgrade_upgrade_round_trip(empty_url: str) -> None:
    upgrade(empty_url)
    tables, views = _schema(empty_url)
    assert tables == TABLES
    assert views == set(REPORT_VIEWS)

    downgrade(empty_url, "base")
    assert _schema(empty_url) == (set(), set())

    upgrade(empty_url)
    assert _schema(empty_url) == (TABLES, set(REPORT_VIEWS))


def test_models_and_migrations_do_not_drift(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_cli_db_upgrade_creates_every_table_and_view(
    make_pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = make_pg_database()
    env = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "copywatch", "db", "upgrade"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert result.stdout.strip().endswith(head)
    assert _schema(url) == (TABLES, set(REPORT_VIEWS))


def test_commands_started_together_on_a_fresh_sqlite_file_all_migrate_it(tmp_path: Path) -> None:
    """Four processes call ensure_current at once: each returns, and the file ends at head."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    script = (
        "import sys, time; from db.migrate import ensure_current; "
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); ensure_current(sys.argv[1])"
    )
    start_at = f"{time.time() + 3.0:.3f}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    failures = []
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            failures.append(stderr.strip().splitlines()[-4:])  # the error, not only its link
    assert failures == []
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
        assert revision == head()
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/copywatch.db", Path("data/copywatch.db")),
        ("sqlite:////var/lib/copywatch.db", Path("/var/lib/copywatch.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://postgres@127.0.0.1:5432/test", None),
    ],
)
def test_only_a_sqlite_url_with_a_path_names_a_file(url: str, expected: Path | None) -> None:
    """The file the engine creates a folder for and the migration lock sits beside."""
    assert sqlite_file(url) == expected
