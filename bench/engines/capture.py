"""Capture a running shop into one small test fixture: ``python capture.py BASE_URL OUT.json.gz``.

Fetches every same-host page reachable from ``BASE_URL`` (robots.txt obeyed, at most
``--max-pages``), keeping each response's status, type, redirect target and body. Images are
re-encoded smaller (at most 120 px a side, never below 64, quality 70) so the fixture stays small;
HTML is kept as served, except that ``--empty-styles`` empties inline ``<style>`` blocks (a shop
that inlines its whole stylesheet into every page; the crawler never reads them). The test fixture server (``tests/crawler/engine_fixtures.py``) replays it.
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
_SRCSET = re.compile(r"""srcset\s*=\s*["']([^"']+)""", re.I)
_LOC = re.compile(r"<loc>\s*([^<\s]+)\s*</loc>", re.I)
_SITEMAP_LINE = re.compile(r"^\s*sitemap:\s*(\S+)", re.I | re.M)


def _links(text: str, ctype: str, path: str) -> list[str]:
    """Links to follow in a response: HTML links and srcsets' widest, sitemap entries."""
    if "html" in ctype:
        found = _LINK.findall(text)
        for srcset in _SRCSET.findall(text):  # its widest candidate, the one a crawler takes
            candidates = [c.split() for c in unescape(srcset).split(",") if c.strip()]
            found.append(max(candidates, key=lambda c: int(re.sub(r"\D", "", c[-1]) or 0))[0])
        return found
    if path.endswith("robots.txt"):
        return _SITEMAP_LINE.findall(text)
    return _LOC.findall(text) if "xml" in ctype else []


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


_STYLE = re.compile(r"(<style[^>]*>).*?(</style>)", re.I | re.S)


def capture(base: str, max_pages: int, empty_styles: bool = False) -> dict[str, dict]:
    host = urlsplit(base).netloc
    robots = RobotFileParser(urljoin(base, "/robots.txt"))
    robots.read()
    opener = urllib.request.build_opener(_NoRedirect)
    pages: dict[str, dict] = {}
    queue = deque([base, urljoin(base, "/robots.txt"), urljoin(base, "/sitemap.xml")])
    seen = set(queue)
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
            entry["text"] = _STYLE.sub(r"\1\2", text) if empty_styles and "html" in ctype else text
            for link in _links(text, ctype, parts.path):
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
    parser.add_argument("--empty-styles", action="store_true", help="empty inline <style> blocks")
    args = parser.parse_args()
    pages = capture(args.base, args.max_pages, args.empty_styles)
    with gzip.open(args.out, "wt", compresslevel=9) as f:
        json.dump(pages, f, separators=(",", ":"), sort_keys=True)
    print(f"{len(pages)} responses captured into {args.out}")
