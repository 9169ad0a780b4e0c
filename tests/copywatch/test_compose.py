"""docker-compose.yml: the production stack has every role, health checks and named volumes.

No Docker engine runs on CI machines, so the file is parsed and checked here.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_role_is_a_service() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "worker", "worker-gpu", "beat", "crawler", "web"} <= set(services)


def test_long_running_services_have_health_checks() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        if name != "migrate":
            assert "healthcheck" in service, name
            assert service["healthcheck"]["test"], name


def test_data_lives_in_named_volumes() -> None:
    compose = _compose()
    assert {"pgdata", "media"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    assert "media:/data" in compose["services"]["worker"]["volumes"]


def test_app_services_wait_for_the_migration_and_read_env_file() -> None:
    services = _compose()["services"]
    for name in ("worker", "beat", "crawler", "web"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["env_file"] == ".env"


def test_gpu_worker_reserves_a_gpu_and_takes_the_gpu_queue() -> None:
    gpu = _compose()["services"]["worker-gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert "score_gpu" in gpu["command"]


def test_no_secret_is_committed() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in text
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()
