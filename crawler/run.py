"""Run a crawl: ``crawl(settings, marketplace_or_url)`` from the CLI, a Celery task or the demo.

Scrapy's Twisted reactor cannot be restarted inside one process, so each crawl runs in a child
process (``python -m crawler.run``). The parent writes the ``crawl_runs`` row first and marks it
failed if the child dies; the child records Scrapy's stats and the outcome when it finishes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from copywatch.settings import Settings
from db.crawl_runs import finish_crawl_run, get_crawl_run, start_crawl_run
from db.engine import make_engine, session_factory
from db.marketplaces import get_marketplace, marketplace_id_by_name, upsert_marketplace
from db.models import CrawlRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrawlSummary:
    run_id: int
    marketplace_id: int
    status: str
    listings: int
    images_stored: int
    images_failed: int
    pages: int
    error: str | None
    stats: dict[str, Any]


def _settings_to_json(settings: Settings) -> str:
    return json.dumps(
        {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(settings).items()}
    )


def _settings_from_json(text: str) -> Settings:
    data = json.loads(text)
    for name in ("data_dir", "media_root"):
        data[name] = Path(data[name])
    return Settings(**data)


# Names never passed on to the crawl process: the web page's and the mailer's secrets, and any
# variable that looks like a credential. DATABASE_URL and REDIS_URL stay: the crawl writes to the
# one and queues scoring tasks on the other.
_SECRET_ENV_NAMES = ("SECRET_KEY", "SMTP_PASSWORD", "SMTP_USER", "POSTGRES_PASSWORD", "REDIS_PASSWORD")
_SECRET_ENV_MARKERS = ("PASSWORD", "SECRET", "TOKEN", "CREDENTIAL", "API_KEY", "PRIVATE_KEY")


def child_environment(
    settings: Settings, parent_env: Mapping[str, str], overrides: dict[str, Any] | None = None
) -> dict[str, str]:
    """The crawl process's environment: the parent's less its secrets, and the settings it needs.

    The child gets :meth:`Settings.without_secrets` (no ``SECRET_KEY``, no SMTP credentials):
    a crawl parses pages strangers wrote, so it holds nothing it does not use.
    """
    env = {
        name: value
        for name, value in parent_env.items()
        if name not in _SECRET_ENV_NAMES and not any(m in name.upper() for m in _SECRET_ENV_MARKERS)
    }
    env["COPYWATCH_SETTINGS_JSON"] = _settings_to_json(settings.without_secrets())
    env["COPYWATCH_SCRAPY_OVERRIDES"] = json.dumps(overrides or {})
    return env


def resolve_marketplace(settings: Settings, marketplace_or_url: str, allow_local: bool = False) -> int:
    """The marketplace by name, or (for a URL) one named after its host, created if new.

    ``allow_local`` marks a marketplace created here as local (its shop may live on a loopback or
    private address); an existing marketplace keeps its own flag.
    """
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session, session.begin():
            found = marketplace_id_by_name(session, marketplace_or_url)
            if found is not None:
                return found
            parsed = urlparse(marketplace_or_url)
            if parsed.scheme not in {"http", "https"} or not parsed.netloc:
                raise LookupError(
                    f"no marketplace named {marketplace_or_url!r}; add it with `copywatch marketplace add` or give a URL"
                )
            existing = marketplace_id_by_name(session, parsed.netloc)
            found_marketplace = get_marketplace(session, existing) if existing is not None else None
            site = dict(found_marketplace.settings or {}) if found_marketplace is not None else {}
            if allow_local:
                site["local"] = True
            return upsert_marketplace(session, parsed.netloc, [marketplace_or_url], settings=site)
    finally:
        engine.dispose()


def crawl(
    settings: Settings,
    marketplace_or_url: str,
    limit: int | None = None,
    distributed: bool = False,
    overrides: dict[str, Any] | None = None,
    allow_local: bool = False,
    after: bool = True,
) -> CrawlSummary:
    """Crawl one marketplace into the database and the scoring queue; returns what it did.

    ``allow_local`` marks a marketplace created for a URL as local (see :func:`resolve_marketplace`).
    ``after``: then capture missing evidence and re-check noticed listings (queued, or in-process
    in the embedded mode); the demo turns it off to run and time those steps itself.
    """
    marketplace_id = resolve_marketplace(settings, marketplace_or_url, allow_local)
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        run_id = start_crawl_run(session, marketplace_id)
    command = [
        sys.executable,
        "-m",
        "crawler.run",
        "--run-id",
        str(run_id),
        "--marketplace-id",
        str(marketplace_id),
    ]
    if limit:
        command += ["--limit", str(limit)]
    if distributed:
        command.append("--distributed")
    env = child_environment(settings, os.environ, overrides)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        log.error("crawl process failed:\n%s", result.stderr[-4000:])
    log.debug("crawl output:\n%s", result.stderr[-8000:])
    with sessions() as session, session.begin():
        run = get_crawl_run(session, run_id)
        if run.finished_at is None:  # the child died before it could record the outcome
            tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
            finish_crawl_run(
                session, run_id, stats={}, error=f"crawl process exited {result.returncode}: {tail[0]}"
            )
        session.flush()
        session.refresh(run)
        summary = _summary(run)
    _refresh_sellers(sessions)
    engine.dispose()
    if after:
        # Evidence still missing is captured, and noticed listings are re-checked, after every crawl.
        from workers.evidence_enqueue import after_crawl

        try:
            after_crawl(settings, marketplace_id)
        except Exception:  # noqa: BLE001 - the crawl's own result stands; the sweep and next crawl retry
            log.exception("after-crawl evidence step of marketplace %s failed", marketplace_id)
    return summary


def _refresh_sellers(sessions: Any) -> None:
    """Networks and risk scores are recomputed after each crawl; a failure there fails no crawl."""
    from db.networks import refresh_sellers

    try:
        with sessions() as session, session.begin():
            refresh_sellers(session)
    except Exception:  # noqa: BLE001 - logged; the next crawl or `copywatch report networks` recomputes
        log.exception("recomputing seller networks failed")


def _summary(run: CrawlRun) -> CrawlSummary:
    stats = run.stats or {}
    return CrawlSummary(
        run_id=run.id,
        marketplace_id=run.marketplace_id,
        status=str(getattr(run.status, "value", run.status)),
        listings=int(stats.get("copywatch/listings", 0)),
        images_stored=int(stats.get("copywatch/images/stored", 0)),
        images_failed=int(stats.get("copywatch/images/failed", 0)),
        pages=int(stats.get("copywatch/pages", 0)),
        error=run.error,
        stats=stats,
    )


def _json_safe(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, int | float | str | bool) or v is None else str(v)) for k, v in stats.items()
    }


def _cache_hostname_encoding() -> None:
    """Remember Twisted's IDNA encoding of host names for the crawl.

    Twisted builds a ``HostnameEndpoint`` for every request, even on a kept-alive connection,
    and each one encodes the host with the ``idna`` package (IDNA 2008 checks of every label):
    about 3 % of the crawl's CPU for a host it has encoded thousands of times already. The
    encoding is a pure function of the name, so a bounded cache changes nothing else; names it
    rejects (``UnicodeError``) are not cached and are rejected again. Scrapy's own fallbacks for
    names ``idna`` refuses (emoji, underscores) are installed first and stay underneath.
    """
    import functools

    try:
        from scrapy.core.downloader._idna_patch import _install_twisted_idna_fallbacks
        from twisted.internet import endpoints
    except ImportError:  # another Scrapy or Twisted: leave encoding alone
        return
    _install_twisted_idna_fallbacks()
    for name in ("_idnaBytes", "_idnaText"):
        encode = getattr(endpoints, name, None)
        if encode is not None and not hasattr(encode, "cache_info"):
            setattr(endpoints, name, functools.lru_cache(maxsize=1024)(encode))


def _run_child(run_id: int, marketplace_id: int, limit: int | None, distributed: bool) -> int:
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.settings import scrapy_settings
    from crawler.speedups import (
        collect_less_often,
        freeze_startup_objects,
        install_lazy_parallel,
        keep_idle_connections,
        quiet_below_log_level,
    )
    from crawler.spiders.product import ProductSpider

    collect_less_often()
    settings = _settings_from_json(os.environ["COPYWATCH_SETTINGS_JSON"])
    overrides = json.loads(os.environ.get("COPYWATCH_SCRAPY_OVERRIDES") or "{}")
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    with sessions() as session:
        marketplace = get_marketplace(session, marketplace_id)
        if marketplace is None:
            raise SystemExit(f"no marketplace with id {marketplace_id}")
        start_urls = list(marketplace.start_urls)
        site = dict(marketplace.settings or {})
        per_site = site.get("scrapy", {})
        # Phone numbers written without a country code are read in the marketplace's region.
        phone_region = site.get("region")
    # The marketplace's fetch policy, unless the caller's overrides (tests, benchmarks) set it.
    values = scrapy_settings(settings, **{**per_site, **fetch_policy_settings(start_urls, site), **overrides})
    values.update(
        COPYWATCH_SETTINGS=settings,
        COPYWATCH_MARKETPLACE_ID=marketplace_id,
        COPYWATCH_MAX_IMAGE_PIXELS=settings.max_image_pixels,
        COPYWATCH_REGION=phone_region,
    )
    if limit:
        values["CLOSESPIDER_ITEMCOUNT"] = limit
    if distributed:
        if settings.eager:
            raise SystemExit("--distributed needs REDIS_URL")
        from crawler.distributed import scrapy_settings as shared_crawl_settings  # scrapy-redis: only here

        values.update(shared_crawl_settings(settings, marketplace_id))
    _cache_hostname_encoding()
    install_lazy_parallel()
    process = CrawlerProcess(values, install_root_handler=True)
    crawler = process.create_crawler(ProductSpider)
    # Once Scrapy has (re)installed its log handler, at LOG_LEVEL: records below it are not built.
    level = values.get("LOG_LEVEL", "DEBUG")
    crawler.signals.connect(lambda: quiet_below_log_level(level), signals.engine_started, weak=False)
    crawler.signals.connect(lambda: keep_idle_connections(crawler), signals.engine_started, weak=False)
    crawler.signals.connect(freeze_startup_objects, signals.engine_started, weak=False)
    error: str | None = None
    failures: list[str] = []
    try:
        deferred = process.crawl(crawler, start_urls=start_urls, marketplace_id=marketplace_id)
        deferred.addErrback(lambda failure: failures.append(f"{failure.type.__name__}: {failure.value}"))
        process.start()
    except Exception as exc:  # noqa: BLE001 - recorded on the crawl_runs row
        failures.append(f"{type(exc).__name__}: {exc}")
    stats = _json_safe(crawler.stats.get_stats() if crawler.stats else {})
    reason = stats.get("finish_reason")
    if failures:
        error = failures[0]
    elif reason is None:
        error = "the crawl did not start (see the crawler log)"
    elif reason not in {"finished", "closespider_itemcount", "closespider_pagecount", "page_budget"}:
        error = f"crawl ended: {reason}"
    elif _fetched_nothing(stats, distributed):
        causes = sorted(
            k.rsplit("/", 1)[-1] for k in stats if k.startswith("downloader/exception_type_count/")
        )
        refused = sorted(k.rsplit("/", 1)[-1] for k in stats if k.startswith("copywatch/refused/"))
        error = "no page could be fetched" + (
            f" ({', '.join(causes + refused)})" if causes or refused else ""
        )
        if "address" in refused:
            error += (
                "; the shop's address is not public: if it is on this machine or a private network,"
                " mark its marketplace local (`copywatch crawl URL --allow-local`,"
                " `copywatch marketplace add --local`)"
            )
    elif (empty := empty_crawl_reason(stats)) is not None and not distributed:
        error = empty
    with sessions() as session, session.begin():
        finish_crawl_run(session, run_id, stats=stats, error=error)
    engine.dispose()
    return 0 if error is None else 1


def fetch_policy_settings(start_urls: list[str], site: dict[str, Any]) -> dict[str, Any]:
    """The guard's settings for a marketplace: its ``local`` flag, its start URLs' ports and the
    further ``ports`` it is configured with (see :mod:`crawler.netguard`)."""
    from urllib.parse import urlsplit

    own = []
    for url in start_urls:
        parts = urlsplit(url)
        if parts.hostname:
            own.append(f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}")
    return {
        "COPYWATCH_ALLOW_LOCAL": bool(site.get("local")),
        "COPYWATCH_OWN_PORTS": own,
        "COPYWATCH_ALLOWED_PORTS": [int(p) for p in site.get("ports") or []],
    }


def empty_crawl_reason(stats: dict[str, Any]) -> str | None:
    """Why a crawl that fetched pages is still a failure: not one product recognised."""
    pages = int(stats.get("copywatch/pages") or 0)
    listings = int(stats.get("copywatch/listings") or 0)
    products = sum(
        int(v) for k, v in stats.items() if k.startswith("copywatch/products/") and "/failed" not in k
    )
    if pages and not listings and not products and not stats.get("item_scraped_count"):
        failed = int(stats.get("copywatch/products/failed") or 0)
        return f"{pages} pages, no product pages recognised" + (
            f" ({failed} products failed)" if failed else ""
        )
    return None


def _fetched_nothing(stats: dict[str, Any], distributed: bool) -> bool:
    """No page parsed and no item: a failure, unless distributed peers took every page of a live site."""
    if stats.get("copywatch/pages") or stats.get("item_scraped_count"):
        return False
    return not (distributed and stats.get("downloader/response_count"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--marketplace-id", type=int, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--distributed", action="store_true")
    args = parser.parse_args(argv)
    return _run_child(args.run_id, args.marketplace_id, args.limit, args.distributed)


if __name__ == "__main__":
    sys.exit(main())
