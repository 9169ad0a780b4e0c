"""One settings object, read once from the environment.

Every other module receives a :class:`Settings`; nothing else reads ``os.environ``.
Invalid values fail at start with a :class:`SettingsError` naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlsplit, urlunsplit


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


MIN_SECRET_KEY_LENGTH = 32
# Values shipped in examples: whoever copies them unchanged has a key the whole world knows.
PLACEHOLDER_SECRET_KEYS = frozenset(
    {
        "generate-with-python-c-import-secrets-print-secrets.token_hex-32",
        "replace-with-the-output-of-openssl-rand-hex-32",
        "change-me",
    }
)
# Fields never shown in a repr or a log, and never handed to a process that does not need them.
SECRET_FIELDS = ("secret_key", "smtp_password")


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` cannot sign sessions and CSRF tokens, or None when it can.

    A key must have at least 32 characters, not be an example's placeholder, and not be
    one character repeated or a short pattern (at least 10 different characters).
    """
    advice = "Generate one with: openssl rand -hex 32"
    if not key:
        return f"SECRET_KEY is not set; sessions and CSRF tokens need a secret key. {advice}"
    if key in PLACEHOLDER_SECRET_KEYS or key.lower().startswith(("replace-with", "generate-with", "change")):
        return f"SECRET_KEY is still the placeholder from .env.example. {advice}"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return (
            f"SECRET_KEY is too short ({len(key)} characters): it needs at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters. {advice}"
        )
    if len(set(key)) < 10:
        return f"SECRET_KEY is not random (only {len(set(key))} different characters). {advice}"
    return None


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for reprs and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[-1]}"))


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a literal loopback address (names are not resolved: DNS can lie)."""
    host = host.strip().strip("[]").lower()
    if host in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, repr=False)
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
    secret_key: str = field(default="", repr=False)
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
    # The search page decodes uploads in the web process: a smaller cap than the crawler's, since
    # a 38 KB PNG can declare 40 megapixels (≈ 480 MB decoded).
    upload_max_pixels: int = 16_000_000
    # Reverse proxies in front of `copywatch serve` whose X-Forwarded-For/-Proto are trusted (0: none,
    # the peer's address is the client's). The login throttle keys on the client's address.
    proxy_hops: int = 0
    score_max_attempts: int = 5
    scoring_queue: str = "score"  # Celery queue the scoring tasks are sent to and workers consume
    # Which of the matcher's optional looks the scoring workers take (detection.runtime.MATCH_EFFORTS):
    # "thorough" every one, also those that only rank weak finds (the dense look, the strip
    # fallback); "balanced" skips those two — what the workers store, matches at or above the
    # review threshold, is the same on both benchmarks, at about a third less CPU on listings
    # that copy nothing; "fast" also skips matching the pictures pasted into a listing (fewer
    # finds in collages and inserts).
    match_effort: str = "balanced"
    # Evidence capture (takedown/): the browser, the page fetch's deadline and body cap, tries per listing.
    chromium_path: str = "/usr/bin/chromium"
    evidence_timeout_s: float = 20.0
    evidence_max_page_bytes: int = 5 * 1024 * 1024
    evidence_max_attempts: int = 3

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                shown.append(f"{f.name}={'***' if value else ''!r}")
            elif f.name in {"database_url", "redis_url"}:
                shown.append(f"{f.name}={redact_url(value)!r}")
            else:
                shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    def without_secrets(self) -> Settings:
        """These settings less what only the web page and the mailer need (for child processes)."""
        return replace(self, secret_key="", smtp_password="", smtp_user="")

    @property
    def eager(self) -> bool:
        """Celery runs tasks in-process when no broker is configured (embedded default)."""
        return not self.redis_url

    @property
    def evidence_queue(self) -> str:
        """The Celery queue of evidence capture and re-checks: ``evidence``, or ``<scoring queue>-evidence``
        for a deployment (or test) with its own scoring queue on a shared Redis."""
        return "evidence" if self.scoring_queue == "score" else f"{self.scoring_queue}-evidence"

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
        smtp_host, smtp_user, smtp_tls = (
            _text(env, "SMTP_HOST"),
            _text(env, "SMTP_USER"),
            _bool(env, "SMTP_TLS", False),
        )
        if smtp_user and smtp_host and not smtp_tls and not is_loopback_host(smtp_host):
            raise SettingsError(
                f"SMTP_USER is set but SMTP_TLS is false: the password would cross the network to {smtp_host} "
                "in clear text. Set SMTP_TLS=true (STARTTLS, or implicit TLS on port 465)."
            )
        return cls(
            data_dir=data_dir,
            media_root=media_root,
            database_url=database_url,
            redis_url=_url(env, "REDIS_URL", ("redis", "rediss")),
            review_threshold=review,
            alert_threshold=alert,
            secret_key=_text(env, "SECRET_KEY"),
            base_url=_text(env, "BASE_URL") or "http://127.0.0.1:8000",
            smtp_host=smtp_host,
            smtp_port=_int(env, "SMTP_PORT", 25, 1, 65535),
            smtp_user=smtp_user,
            smtp_password=_text(env, "SMTP_PASSWORD"),
            smtp_sender=_text(env, "SMTP_SENDER") or "copywatch@localhost",
            smtp_tls=smtp_tls,
            crawl_user_agent=_text(env, "CRAWL_USER_AGENT") or cls.crawl_user_agent,
            crawl_obey_robots=_bool(env, "CRAWL_OBEY_ROBOTS", True),
            crawl_delay_s=_float(env, "CRAWL_DELAY_S", 0.5, 0.0, 60.0),
            crawl_concurrency_per_domain=_int(env, "CRAWL_CONCURRENCY_PER_DOMAIN", 2, 1, 64),
            max_image_bytes=_int(env, "MAX_IMAGE_BYTES", 20 * 1024 * 1024, 1024, 1 << 31),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", 40_000_000, 4096, 1 << 31),
            upload_max_pixels=_int(env, "UPLOAD_MAX_PIXELS", 16_000_000, 4096, 1 << 31),
            proxy_hops=_int(env, "PROXY_HOPS", 0, 0, 5),
            score_max_attempts=_int(env, "SCORE_MAX_ATTEMPTS", 5, 1, 100),
            scoring_queue=_text(env, "SCORING_QUEUE") or "score",
            match_effort=_choice(env, "MATCH_EFFORT", "balanced", ("thorough", "balanced", "fast")),
            chromium_path=_text(env, "CHROMIUM_PATH") or "/usr/bin/chromium",
            evidence_timeout_s=_float(env, "EVIDENCE_TIMEOUT_S", 20.0, 1.0, 600.0),
            evidence_max_page_bytes=_int(env, "EVIDENCE_MAX_PAGE_BYTES", 5 * 1024 * 1024, 1024, 1 << 30),
            evidence_max_attempts=_int(env, "EVIDENCE_MAX_ATTEMPTS", 3, 1, 20),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.media_root.mkdir(parents=True, exist_ok=True)
