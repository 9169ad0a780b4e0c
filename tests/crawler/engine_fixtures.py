"""Replay a shop engine captured by ``bench/engines/capture.py`` on 127.0.0.1, for crawl tests.

The capture (``tests/crawler/fixtures/<engine>.json.gz``) holds every response of the engine's
default storefront as served (HTML as is, images re-encoded smaller), keyed by path and query.
``<engine>.truth.json`` says what the engine was loaded with: its product count, its image count,
a pattern of its product pages' paths and the paths its robots.txt disallows.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.support.http import serve_on_loopback

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class ReplayedShop:
    base: str = ""
    truth: dict[str, Any] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


def load(engine: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    with gzip.open(FIXTURES / f"{engine}.json.gz", "rt") as f:
        pages = json.load(f)
    truth = json.loads((FIXTURES / f"{engine}.truth.json").read_text())
    return pages, truth


@contextmanager
def replay(engine: str) -> Iterator[ReplayedShop]:
    """Serve the captured ``engine`` on a free port until the block ends."""
    pages, truth = load(engine)
    captured_base = truth["captured_base"].encode()
    shop = ReplayedShop(truth=truth)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            shop.requests.append(self.path)
            entry = pages.get(self.path)
            if entry is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(entry["status"])
            if "location" in entry:
                self.send_header("Location", entry["location"].replace(truth["captured_base"], shop.base))
            if "body64" in entry:
                body = base64.b64decode(entry["body64"])
            else:
                body = entry.get("text", "").encode().replace(captured_base, shop.base.encode())
            self.send_header("Content-Type", entry["type"] or "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serve_on_loopback(Handler) as base:
        shop.base = base
        yield shop


def disallowed(shop: ReplayedShop) -> list[str]:
    """The requests the shop received for paths its robots.txt disallows."""
    prefixes = tuple(shop.truth["disallowed"])
    return [path for path in shop.requests if path.startswith(prefixes)]


def is_product_path(shop: ReplayedShop, path: str) -> bool:
    return re.fullmatch(shop.truth["product_path"], path) is not None
