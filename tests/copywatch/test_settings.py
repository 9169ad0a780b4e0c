"""Settings: embedded defaults, and invalid values that fail at start naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from copywatch.settings import Settings, SettingsError


def test_embedded_defaults_use_sqlite_under_data_dir_and_eager_celery(tmp_path: Path) -> None:
    s = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'copywatch.db'}"
    assert s.eager is True
    assert s.media_root == tmp_path / "media"
    assert s.index_dir == tmp_path / "index"
    assert s.crawl_obey_robots is True


def test_services_from_the_environment() -> None:
    s = Settings.from_env(
        {"DATABASE_URL": "postgres://u@db/cw", "REDIS_URL": "redis://cache:6379/1", "SMTP_TLS": "yes"}
    )
    assert s.database_url == "postgresql://u@db/cw"
    assert s.eager is False
    assert s.smtp_tls is True


def test_secrets_are_not_in_the_repr() -> None:
    assert "hunter2" not in repr(Settings.from_env({"SMTP_PASSWORD": "hunter2"}))


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"SMTP_PORT": "seventy"}, "SMTP_PORT"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT"),
        ({"REVIEW_THRESHOLD": "1.5"}, "REVIEW_THRESHOLD"),
        ({"REVIEW_THRESHOLD": "0.9", "ALERT_THRESHOLD": "0.5"}, "ALERT_THRESHOLD"),
        ({"CRAWL_OBEY_ROBOTS": "perhaps"}, "CRAWL_OBEY_ROBOTS"),
        ({"CRAWL_DELAY_S": "-1"}, "CRAWL_DELAY_S"),
        ({"MATCH_EFFORT": "quick"}, "MATCH_EFFORT"),
    ],
)
def test_invalid_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)


def test_cli_refuses_to_start_with_an_invalid_setting(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "copywatch", "db", "current"],
        env={"DATA_DIR": str(tmp_path), "SMTP_PORT": "nope", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "SMTP_PORT" in result.stderr


def test_help_lists_every_design_subcommand() -> None:
    result = subprocess.run([sys.executable, "-m", "copywatch", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for name in (
        "catalog",
        "crawl",
        "scan",
        "worker",
        "beat",
        "serve",
        "report",
        "eval",
        "train",
        "demo",
        "db",
    ):
        assert f"    {name} " in result.stdout
