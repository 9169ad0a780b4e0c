"""One settings object, read once from the environment.

Every other module receives a :class:`Settings`; nothing else reads ``os.environ``.
Invalid values fail at start with a :class:`SettingsError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


class SettingsError(ValueError):
    """A setting from the environment is missing or malformed."""


def _text(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, default).strip()


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _text(env, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = _text(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _text(env, name).lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _text(env, name) or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    raw = _text(env, name)
    if raw and urlparse(raw).scheme.split("+")[0] not in schemes:
        raise SettingsError(f"{name} must be a URL with scheme {' or '.join(schemes)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build it with :meth:`from_env`; tests use :meth:`with_overrides`."""

    data_dir: Path
    media_root: Path
    database_url: str
    redis_url: str = ""
    # Detections at or above review_threshold are stored; at or above alert_threshold they are mailed.
    # Matcher scores are calibrated: a threshold s admits about (1 - s)^4 of images that are not
    # copies (detection/calibration.py), so 0.68 ≈ 1 % and 0.8 ≈ 0.16 % false alarms.
    review_threshold: float = 0.68
    alert_threshold: float = 0.8
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_sender: str = "copywatch@localhost"
    smtp_tls: bool = False
    crawl_user_agent: str = "CopywatchBot/0.1 (+mailto:trust@example.invalid)"
    crawl_obey_robots: bool = True
    crawl_delay_s: float = 0.5
    crawl_concurrency_per_domain: int = 2
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    score_max_attempts: int = 5
    scoring_queue: str = "score"  # Celery queue the scoring tasks are sent to and workers consume
    # Which of the matcher's optional looks the scoring workers take (detection.runtime.MATCH_EFFORTS):
    # "thorough" every one, also those that only rank weak finds (the dense look, the strip
    # fallback); "balanced" skips those two — what the workers store, matches at or above the
    # review threshold, is the same on both benchmarks, at about a third less CPU on listings
    # that copy nothing; "fast" also skips matching the pictures pasted into a listing (fewer
    # finds in collages and inserts).
    match_effort: str = "balanced"

    @property
    def eager(self) -> bool:
        """Celery runs tasks in-process when no broker is configured (embedded default)."""
        return not self.redis_url

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(_text(env, "DATA_DIR") or "data").expanduser().resolve()
        media_root = Path(_text(env, "MEDIA_ROOT") or str(data_dir / "media")).expanduser().resolve()
        database_url = _url(env, "DATABASE_URL", ("postgresql", "postgres", "sqlite"))
        if database_url.startswith("postgres://"):
            database_url = "postgresql://" + database_url[len("postgres://") :]
        if not database_url:
            database_url = f"sqlite:///{data_dir / 'copywatch.db'}"
        review = _float(env, "REVIEW_THRESHOLD", 0.68, 0.0, 1.0)
        alert = _float(env, "ALERT_THRESHOLD", 0.8, 0.0, 1.0)
        if alert < review:
            raise SettingsError(f"ALERT_THRESHOLD ({alert}) must not be below REVIEW_THRESHOLD ({review})")
        return cls(
            data_dir=data_dir,
            media_root=media_root,
            database_url=database_url,
            redis_url=_url(env, "REDIS_URL", ("redis", "rediss")),
            review_threshold=review,
            alert_threshold=alert,
            secret_key=_text(env, "SECRET_KEY"),
            base_url=_text(env, "BASE_URL") or "http://127.0.0.1:8000",
            smtp_host=_text(env, "SMTP_HOST"),
            smtp_port=_int(env, "SMTP_PORT", 25, 1, 65535),
            smtp_user=_text(env, "SMTP_USER"),
            smtp_password=_text(env, "SMTP_PASSWORD"),
            smtp_sender=_text(env, "SMTP_SENDER") or "copywatch@localhost",
            smtp_tls=_bool(env, "SMTP_TLS", False),
            crawl_user_agent=_text(env, "CRAWL_USER_AGENT") or cls.crawl_user_agent,
            crawl_obey_robots=_bool(env, "CRAWL_OBEY_ROBOTS", True),
            crawl_delay_s=_float(env, "CRAWL_DELAY_S", 0.5, 0.0, 60.0),
            crawl_concurrency_per_domain=_int(env, "CRAWL_CONCURRENCY_PER_DOMAIN", 2, 1, 64),
            max_image_bytes=_int(env, "MAX_IMAGE_BYTES", 20 * 1024 * 1024, 1024, 1 << 31),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", 40_000_000, 4096, 1 << 31),
            score_max_attempts=_int(env, "SCORE_MAX_ATTEMPTS", 5, 1, 100),
            scoring_queue=_text(env, "SCORING_QUEUE") or "score",
            match_effort=_choice(env, "MATCH_EFFORT", "balanced", ("thorough", "balanced", "fast")),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.media_root.mkdir(parents=True, exist_ok=True)
