"""``copywatch demo``: the whole mission on a generated brand and marketplace, start to end.

Embedded (the default): SQLite under ``DATA_DIR``, tasks in-process. Distributed
(``--distributed``): the configured PostgreSQL, images queued to Redis and scored by separate
``copywatch worker`` processes, which the demo waits for. The steps are the ones a real
deployment runs: migrate, register the brand's originals and their logos, build the index,
crawl the marketplace, score every image, write detections; then the demo compares the
detections with the ground truth it planted and reports.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from copywatch.demo.catalog import DemoCatalog, write_catalog
from copywatch.demo.marketplace import DemoMarketplace, DemoShop, build_marketplace
from copywatch.demo.results import DemoOutcome, collect_outcome, write_report
from copywatch.settings import Settings
from db.engine import make_engine, session_factory
from db.listings import image_status_counts, queued_image_ids
from db.marketplaces import delete_marketplace
from db.models import Role
from db.users import reset_account
from detection.progress import progress_bar

log = logging.getLogger(__name__)

MARKETPLACE_NAME = "demo-bazaar"
REVIEWER_EMAIL = "demo-reviewer@copywatch.invalid"


class DemoError(RuntimeError):
    """The demo cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class DemoOptions:
    """How to run the demo.

    Attributes:
        listings: the demo marketplace's size (120 by default; tests use fewer).
        originals: the brand catalog's size.
        distributed: score with separate ``copywatch worker`` processes over Redis.
        keep_serving: leave the demo marketplace up (until Ctrl-C) after the report.
        json_only: print only the final JSON line.
        worker_idle_timeout_s: in distributed mode, give up when no image is scored for this long.
        queue: the Celery queue to send scoring tasks to (None = the workers' default).
    """

    listings: int = 120
    originals: int = 40
    distributed: bool = False
    keep_serving: bool = False
    json_only: bool = False
    worker_idle_timeout_s: float = 180.0
    queue: str | None = None


class _Steps:
    """Times each step and prints a line per step unless quiet."""

    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out, self.quiet = out, quiet
        self.timings: dict[str, float] = {}

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.out, flush=True)

    @contextmanager
    def step(self, name: str, text: str) -> Iterator[None]:
        self.say(f"» {text}")
        start = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - start


def demo_settings(settings: Settings, options: DemoOptions) -> Settings:
    """The settings the demo runs on: the user's, made polite-but-fast for a shop on localhost."""
    if options.distributed:
        if not settings.redis_url or not settings.database_url.startswith("postgres"):
            raise DemoError(
                "--distributed needs DATABASE_URL (PostgreSQL) and REDIS_URL set, and `copywatch worker` "
                "processes running against them"
            )
        changes: dict[str, object] = {"scoring_queue": options.queue} if options.queue else {}
    else:
        # Embedded: tasks run in-process even when REDIS_URL happens to be set.
        changes = {"redis_url": ""}
    # The demo shop runs on this machine; a crawl delay would only make the user wait.
    changes.update(crawl_delay_s=0.0, crawl_concurrency_per_domain=8, crawl_obey_robots=True)
    return settings.with_overrides(**changes)


def run_demo(settings: Settings, options: DemoOptions, out: TextIO = sys.stdout) -> DemoOutcome:
    """Run the demo and write its report; returns the outcome (figures via ``outcome.summary()``).

    Raises:
        DemoError: when a step cannot run (e.g. no worker consumes the queue in distributed mode).
    """
    from db.migrate import upgrade

    started = time.perf_counter()
    settings = demo_settings(settings, options)
    steps = _Steps(out, options.json_only)
    settings.ensure_dirs()
    demo_dir = settings.data_dir / "demo"
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        with steps.step("migrate", f"database {_redact(settings.database_url)}"):
            upgrade(settings.database_url)
        with steps.step("generate", "drawing the brand's originals and the demo marketplace"):
            catalog = write_catalog(demo_dir / "catalog", count=options.originals)
            shop = build_marketplace(demo_dir / "shop", catalog, listings=options.listings)
        with steps.step(
            "catalog", f"registering {catalog.brand} ({len(catalog.paths)} originals) and its logos"
        ):
            original_ids = register_catalog(settings, catalog)
        with steps.step("index", "building the catalog index"):
            from copywatch.catalog_store import build_index

            build_index(settings, progress=not options.json_only)
        with sessions() as session, session.begin():
            delete_marketplace(session, MARKETPLACE_NAME)
        server = DemoMarketplace(shop)
        with server.serving() as base_url:
            marketplace_id = _register_marketplace(sessions, base_url)
            crawl_text = f"crawling the demo marketplace at {base_url}" + (
                ", workers scoring as images arrive"
                if options.distributed
                else ", scoring each image as it arrives"
            )
            with (
                steps.step("crawl", crawl_text),
                _ScoringProgress(sessions, marketplace_id, options.json_only),
            ):
                summary = crawl_demo(settings, marketplace_id)
            error = getattr(summary, "error", None)
            if error:
                steps.say(f"  the crawl reported: {error}")
            if not _image_counts(sessions, marketplace_id):
                raise DemoError(f"the crawl stored no listing images ({error or 'no error recorded'})")
            with steps.step("score", "scoring what is left"):
                if options.distributed:
                    wait_for_workers(sessions, marketplace_id, options, steps)
                else:
                    score_in_process(settings, sessions, marketplace_id, options)
            with (
                steps.step("networks", "linking sellers into networks"),
                sessions() as session,
                session.begin(),
            ):
                from db.networks import refresh_sellers

                refresh_sellers(session)
            from copywatch.demo.takedown import run_takedowns

            run_takedowns(
                settings, sessions, server, shop, marketplace_id, catalog.brand, steps.step,
                recrawl=lambda: crawl_demo(settings, marketplace_id),
            )  # fmt: skip
            with sessions() as session:
                outcome = collect_outcome(
                    session, shop, marketplace_id, settings.media_root, settings.alert_threshold
                )
                from copywatch.demo.network_outcome import collect_networks

                outcome.networks = collect_networks(session, shop.networks, marketplace_id)
            outcome.seconds = time.perf_counter() - started
            outcome.timings = dict(steps.timings)
            report = write_report(
                outcome,
                settings.data_dir / "demo-report.html",
                brand=catalog.brand,
                originals=len(original_ids),
                review_url=settings.base_url,
            )
            if not options.json_only:
                print("", file=out)
                print(outcome.table(), file=out)
                print(f"\nreport: {report}", file=out)
                _print_review_help(settings, sessions, out)
            print(json.dumps(outcome.summary()), file=out, flush=True)
            if options.keep_serving:
                steps.say(f"the demo marketplace stays up at {base_url} — Ctrl-C to stop")
                _wait_forever()
        return outcome
    finally:
        engine.dispose()


def register_catalog(settings: Settings, catalog: DemoCatalog) -> list[int]:
    """Register the originals and, for those with one, their logo reference at the known box."""
    from copywatch.catalog_store import register_logo, register_originals

    ids = register_originals(settings, catalog.brand, catalog.paths)
    for spec, original_id in zip(catalog.specs, ids, strict=True):
        box = catalog.logo_boxes.get(spec.sku)
        if box is not None and register_logo(settings, original_id, box) is None:
            log.warning("no logo reference could be made for %s", spec.sku)
    return ids


def _register_marketplace(sessions: Callable, base_url: str) -> int:
    from db.marketplaces import upsert_marketplace

    with sessions() as session, session.begin():
        # The demo's sellers write UK phone numbers; the region reads the national formats.
        return upsert_marketplace(
            session,
            MARKETPLACE_NAME,
            [base_url + "/"],
            settings={"demo": True, "local": True, "region": "GB"},
        )


def crawl_demo(settings: Settings, marketplace_id: int) -> object:
    """Crawl the demo marketplace with the project's crawler (listings, images, queued for scoring)."""
    from crawler.run import crawl

    # Evidence and re-checks run as the demo's own (timed) steps, not inside the crawl.
    return crawl(settings, MARKETPLACE_NAME, after=False)


def _image_counts(sessions: Callable, marketplace_id: int) -> dict[str, int]:
    with sessions() as session:
        return image_status_counts(session, marketplace_id)


def _queued_ids(sessions: Callable, marketplace_id: int) -> list[int]:
    with sessions() as session:
        return queued_image_ids(session, marketplace_id)


def score_in_process(
    settings: Settings, sessions: Callable, marketplace_id: int, options: DemoOptions
) -> None:
    """Score the images still queued, in this process, with the workers' own scoring code.

    In the embedded mode the crawler's enqueue step already scores each image as it is stored;
    this catches any left ``queued`` (e.g. an enqueue that failed), in batches as a worker would.
    """
    from workers.scoring import runtime, score_batch

    pending = _queued_ids(sessions, marketplace_id)
    if not pending:
        return
    worker_sessions, matchers = runtime(settings)
    with progress_bar(total=len(pending), desc="scoring", unit="img", enabled=not options.json_only) as bar:
        for start in range(0, len(pending), 16):
            chunk = pending[start : start + 16]
            score_batch(worker_sessions, matchers.get(), settings, chunk)
            bar.update(len(chunk))


class _ScoringProgress:
    """A progress bar of the demo crawl's images scored so far, fed by polling the database
    (scoring happens inside the crawl in the embedded mode, in other processes when distributed)."""

    def __init__(self, sessions: Callable, marketplace_id: int, quiet: bool, interval_s: float = 0.5) -> None:
        self.sessions, self.marketplace_id, self.quiet, self.interval_s = (
            sessions,
            marketplace_id,
            quiet,
            interval_s,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _ScoringProgress:
        if not self.quiet:
            self._thread = threading.Thread(target=self._run, name="demo-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with progress_bar(total=0, desc="images scored", unit="img") as bar:
            while True:
                stopping = self._stop.wait(self.interval_s)
                try:
                    counts = _image_counts(self.sessions, self.marketplace_id)
                except Exception:  # noqa: BLE001 - a busy SQLite file must not kill the progress bar
                    continue
                bar.total = sum(counts.values())
                bar.n = counts.get("scored", 0) + counts.get("failed", 0)
                bar.refresh()
                if stopping:
                    return


def wait_for_workers(sessions: Callable, marketplace_id: int, options: DemoOptions, steps: _Steps) -> None:
    """Wait until every image of the demo crawl is scored (or failed) by the separate workers."""
    counts = _image_counts(sessions, marketplace_id)
    total = sum(counts.values())
    done = counts.get("scored", 0) + counts.get("failed", 0)
    last_progress, last_done = time.monotonic(), done
    with progress_bar(
        total=total,
        initial=done,
        desc="workers scoring",
        unit="img",
        enabled=not options.json_only,
    ) as bar:
        while done < total:
            time.sleep(0.5)
            counts = _image_counts(sessions, marketplace_id)
            done = counts.get("scored", 0) + counts.get("failed", 0)
            bar.update(done - bar.n)
            if done > last_done:
                last_progress, last_done = time.monotonic(), done
            elif time.monotonic() - last_progress > options.worker_idle_timeout_s:
                raise DemoError(
                    f"no image was scored for {options.worker_idle_timeout_s:.0f} s ({done} of {total} done): "
                    "is a worker consuming the queue? Start one with `copywatch worker` (same DATABASE_URL, "
                    "REDIS_URL and DATA_DIR/MEDIA_ROOT)"
                )


def _print_review_help(settings: Settings, sessions: Callable, out: TextIO) -> None:
    """Create (or reset) the demo reviewer account and say how to log in; the password is shown once."""
    from werkzeug.security import generate_password_hash

    password = secrets.token_urlsafe(12)
    with sessions() as session, session.begin():
        reset_account(session, REVIEWER_EMAIL, generate_password_hash(password), Role.ADMIN)
    print(
        "\nreview the hits in the web page:\n"
        f"  SECRET_KEY=$(openssl rand -hex 16) DATA_DIR={settings.data_dir} .venv/bin/copywatch serve\n"
        f"  open {settings.base_url} and log in as {REVIEWER_EMAIL} with password {password}\n"
        "  (shown once; `copywatch user add EMAIL` makes more accounts)",
        file=out,
    )


def _redact(url: str) -> str:
    """A database URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}@{host}"


def _wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def load_shop(settings: Settings) -> DemoShop:
    """The last demo run's marketplace and ground truth (for tests and tools)."""
    from copywatch.demo.marketplace import load_manifest

    return load_manifest(Path(settings.data_dir) / "demo" / "shop")
