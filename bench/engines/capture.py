"""Capture a running shop into one small test fixture: ``python capture.py BASE_URL OUT.json.gz``.

Fetches every same-host page reachable from ``BASE_URL`` (robots.txt obeyed, at most
``--max-pages``), keeping each response's status, type, redirect target and body. Images are
re-encoded smaller (at most 120 px a side, never below 64, quality 70) so the fixture stays small;
HTML is kept as served. The test fixture server (``tests/crawler/engine_fixtures.py``) replays it.
Needs Pillow (any of the project's virtualenvs).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import re
import urllib.error
import urllib.request
from collections import deque
from html import unescape
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from PIL import Image

_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"'#]+)""", re.I)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


def _small(body: bytes) -> bytes:
    with Image.open(io.BytesIO(body)) as image:
        image = image.convert("RGB")
        scale = min(1.0, 120 / max(image.size))
        size = tuple(max(1, round(s * scale)) for s in image.size)
        if min(size) < 64 <= min(image.size):
            scale = 64 / min(image.size)
            size = tuple(round(s * scale) for s in image.size)
        out = io.BytesIO()
        image.resize(size).save(out, "JPEG", quality=70)
        return out.getvalue()


def capture(base: str, max_pages: int) -> dict[str, dict]:
    host = urlsplit(base).netloc
    robots = RobotFileParser(urljoin(base, "/robots.txt"))
    robots.read()
    opener = urllib.request.build_opener(_NoRedirect)
    pages: dict[str, dict] = {}
    queue, seen = deque([base, urljoin(base, "/robots.txt")]), {base}
    while queue and len(pages) < max_pages:
        url = queue.popleft()
        parts = urlsplit(url)
        key = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            response = opener.open(url, timeout=30)
            status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        ctype = headers.get("Content-Type", "")
        entry: dict = {"status": status, "type": ctype}
        if 300 <= status < 400 and headers.get("Location"):
            entry["location"] = headers["Location"]
            target = urljoin(url, headers["Location"])
            if urlsplit(target).netloc == host and target not in seen:
                seen.add(target)
                queue.append(target)
        elif ctype.startswith("image/"):
            entry["body64"] = base64.b64encode(_small(body)).decode()
            entry["type"] = "image/jpeg"
        else:
            text = body.decode("utf-8", "replace")
            entry["text"] = text
            if "html" in ctype:
                for link in _LINK.findall(text):
                    target = urldefrag(urljoin(url, unescape(link)))[0]
                    if urlsplit(target).netloc != host or target in seen:
                        continue
                    if not robots.can_fetch("*", target) or re.search(
                        r"\.(css|js|svg|ico|woff2?)$", urlsplit(target).path
                    ):
                        continue
                    seen.add(target)
                    queue.append(target)
        pages[key] = entry
    return pages


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base")
    parser.add_argument("out")
    parser.add_argument("--max-pages", type=int, default=2000)
    args = parser.parse_args()
    pages = capture(args.base, args.max_pages)
    with gzip.open(args.out, "wt", compresslevel=9) as f:
        json.dump(pages, f, separators=(",", ":"), sort_keys=True)
    print(f"{len(pages)} responses captured into {args.out}")
