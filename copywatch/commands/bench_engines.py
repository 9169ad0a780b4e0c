"""``copywatch bench crawl-engines``: the crawler on real shop engines' default storefronts.

Each engine under ``bench/engines/<engine>/`` has a ``run.sh PORT`` that installs it (from its
package registry, into the git-ignored ``bench/engines/.installed/``), loads the benchmark
catalogue (``bench/engines/catalog.py``) through the engine's own import commands or API, and
serves its default storefront on 127.0.0.1. The command starts each engine behind a small
logging proxy (so every path the crawler asked for is known), crawls it twice with the real
crawler into a temporary SQLite database, and compares what was stored with the catalogue:

- **product recall**: catalogue products with a listing of their title;
- **image recall**: catalogue photos found among their product's stored images (matched by
  picture — a 16x16 grey thumbnail — since engines serve resized copies);
- **extra listings**: listings that are no catalogue product, or a product's second listing;
- **extra images**: stored images that are none of their product's photos, or a photo again;
- **wrong prices**: a product's listing whose price is not the catalogue's (a price read off
  another product's card or a mini-cart on a page that shows none: printed, not a target);
- **disallowed requests**: requests for paths the engine's robots.txt disallows;
- **CPU per page**: the crawl process's CPU (``RUSAGE_CHILDREN``) per parsed page;
- **second crawl**: listings and images the second crawl added (must be 0); both crawls must
  finish.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.robotparser import RobotFileParser

from copywatch.settings import Settings

ENGINES_DIR = Path(__file__).resolve().parents[2] / "bench" / "engines"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/0"


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "crawl-engines", help="crawl real shop engines' default storefronts twice; recall and extras"
    )
    parser.add_argument("--engines", help="comma-separated engines (default: every bench/engines/*/run.sh)")
    parser.add_argument("--start-timeout", type=float, default=1800, help="seconds to install and start one")
    parser.add_argument("--redis-url", default=BENCH_REDIS_URL, help="broker for the (unconsumed) queue")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line last")
    parser.set_defaults(handler=run)


def available_engines() -> list[str]:
    return sorted(p.parent.name for p in ENGINES_DIR.glob("*/run.sh"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoggingProxy:
    """Forward HTTP requests to ``127.0.0.1:target`` and remember every path asked for."""

    def __init__(self, target: int) -> None:
        self.paths: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                proxy.paths.append(self.path)
                connection = http.client.HTTPConnection("127.0.0.1", target, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"connection"}}
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                connection.close()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the engine exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=30):
                return
        except OSError:
            time.sleep(2)
    raise RuntimeError(f"the engine did not answer {url} within {timeout:.0f} s")


def _thumb(path: Path) -> Any:
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L").resize((16, 16)), dtype=np.float32)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def score(
    catalogue: dict[str, Any], photos_dir: Path, media_root: Path, settings: Settings
) -> dict[str, Any]:
    """Compare the stored listings and images with the catalogue (see the module's docstring)."""
    from db.engine import make_engine, session_factory
    from db.listings import all_listings
    from db.models import ImageStatus

    products = {_norm(p["title"]): p for p in catalogue["products"]}
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        listings = [
            (
                listing.url,
                listing.title,
                listing.price,
                [i for i in listing.images if i.status != ImageStatus.FAILED],
            )
            for listing in all_listings(session)
        ]
    engine.dispose()
    thumbs = {name: _thumb(photos_dir / name) for p in catalogue["products"] for name in p["images"]}
    found_products: set[str] = set()
    found_photos: set[str] = set()
    extra_listings, extra_images, stored_images, wrong_prices = [], 0, 0, []
    for url, title, price, images in listings:
        product = products.get(_norm(title))
        stored_images += len(images)
        if product is None or _norm(title) in found_products:
            extra_listings.append(url)
            extra_images += len(images)
            continue
        found_products.add(_norm(title))
        if price is not None and Decimal(price) != Decimal(product["price"]):
            wrong_prices.append(f"{url} {price} (catalogue {product['price']})")
        for image in images:
            if image.path is None:
                continue
            picture = _thumb(media_root / image.path)
            distances = {name: float(abs(thumbs[name] - picture).mean()) for name in product["images"]}
            best = min(distances, key=distances.__getitem__)
            if distances[best] < 12 and best not in found_photos:
                found_photos.add(best)
            else:
                extra_images += 1
    total_photos = sum(len(p["images"]) for p in catalogue["products"])
    return {
        "products": len(products),
        "photos": total_photos,
        "product_recall": round(100 * len(found_products) / max(len(products), 1), 2),
        "image_recall": round(100 * len(found_photos) / max(total_photos, 1), 2),
        "extra_listings": len(extra_listings),
        "extra_images": extra_images,
        "extra_images_pct": round(100 * extra_images / max(stored_images, 1), 2),
        "listings": len(listings),
        "images": stored_images,
        "extra_listing_urls": extra_listings[:5],
        "wrong_prices": len(wrong_prices),
        "wrong_price_examples": wrong_prices[:3],
    }


def _disallowed(base: str, paths: list[str], user_agent: str) -> list[str]:
    robots = RobotFileParser(base + "/robots.txt")
    try:
        robots.read()
    except OSError:
        return []
    return [p for p in paths if p != "/robots.txt" and not robots.can_fetch(user_agent, base + p)]


def measure_engine(name: str, redis_url: str, start_timeout: float) -> dict[str, Any]:
    """Start ``name``, crawl it twice, return its figures."""
    import redis

    from crawler.run import crawl
    from db.migrate import upgrade

    engine_port = _free_port()
    proxy = LoggingProxy(engine_port)  # before the engine: its address is the shop's public one
    base = f"http://127.0.0.1:{proxy.port}"
    log_path = Path(tempfile.gettempdir()) / f"copywatch-engine-{name}.log"  # the engine's own output
    log = log_path.open("wb")
    process = subprocess.Popen(
        ["bash", str(ENGINES_DIR / name / "run.sh"), str(engine_port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # A Python with Pillow for catalog.py; the address shops that print absolute links are seen at.
        env={**os.environ, "CATALOG_PYTHON": sys.executable, "ENGINE_PUBLIC_URL": base},
    )
    queue = f"bench-engines-{uuid.uuid4().hex[:8]}"
    try:
        _wait_until_up(f"http://127.0.0.1:{engine_port}/", process, start_timeout)
        state = ENGINES_DIR / ".installed" / f"{name}-state"
        catalogue = json.loads((state / "catalogue.json").read_text())
        with tempfile.TemporaryDirectory(prefix="copywatch-bench-engines-") as tmp:
            database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(database_url)
            settings = Settings.from_env(
                {
                    "DATA_DIR": str(Path(tmp) / "data"),
                    "DATABASE_URL": database_url,
                    "REDIS_URL": redis_url,
                    "SCORING_QUEUE": queue,
                    "CRAWL_DELAY_S": "0",
                }
            )
            settings.ensure_dirs()
            runs = []
            for _ in range(2):
                usage = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu_before = usage.ru_utime + usage.ru_stime
                summary = crawl(settings, base + "/", allow_local=True, overrides={"LOG_LEVEL": "WARNING"})
                usage = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu_s = usage.ru_utime + usage.ru_stime - cpu_before
                runs.append((summary, cpu_s))
            figures = score(catalogue, state / "images", settings.media_root, settings)
            disallowed = _disallowed(base, proxy.paths, settings.crawl_user_agent)
        first, second = runs[0][0], runs[1][0]
        return {
            "engine": name,
            **figures,
            "disallowed_requests": len(disallowed),
            "disallowed_paths": disallowed[:5],
            "cpu_ms_per_page": round(1000 * runs[0][1] / max(first.pages, 1), 2),
            "pages": first.pages,
            "status": [first.status, second.status],
            "second_crawl_new_listings": figures["listings"] - first.listings,
            "second_crawl_new_images": second.images_stored,
        }
    finally:
        proxy.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
        client = redis.Redis.from_url(redis_url)
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    names = args.engines.split(",") if args.engines else available_engines()
    unknown = sorted(set(names) - set(available_engines()))
    if unknown:
        print(
            f"copywatch bench crawl-engines: no engine {', '.join(unknown)} in {ENGINES_DIR}", file=sys.stderr
        )
        return 2
    results = []
    for name in names:
        try:
            figures = measure_engine(name, args.redis_url, args.start_timeout)
        except Exception as exc:  # noqa: BLE001 - one engine failing must not hide the others
            figures = {"engine": name, "error": f"{type(exc).__name__}: {exc}"}
        results.append(figures)
        if "error" in figures:
            print(f"{name}: {figures['error']}")
            continue
        print(
            f"{name}: products {figures['product_recall']:.1f} % ({figures['products']}), "
            f"images {figures['image_recall']:.1f} % ({figures['photos']}), "
            f"extra listings {figures['extra_listings']}, extra images {figures['extra_images']} "
            f"({figures['extra_images_pct']:.1f} %), wrong prices {figures['wrong_prices']}, "
            f"disallowed requests {figures['disallowed_requests']}, "
            f"{figures['cpu_ms_per_page']:.1f} ms CPU/page ({figures['pages']} pages), second crawl added "
            f"{figures['second_crawl_new_listings']} listings / {figures['second_crawl_new_images']} images"
            + (
                ""
                if figures["status"] == ["finished", "finished"]
                else f", crawls {' / '.join(figures['status'])}"
            )
        )
    if args.json:
        print(json.dumps(results))
    ok = all(
        "error" not in r
        and r["product_recall"] >= 99
        and r["image_recall"] >= 98
        and r["extra_listings"] == 0
        and r["extra_images_pct"] <= 2
        and r["disallowed_requests"] == 0
        and r["second_crawl_new_listings"] == 0
        and r["second_crawl_new_images"] == 0
        and r["status"] == ["finished", "finished"]
        for r in results
    )
    return 0 if ok else 1
