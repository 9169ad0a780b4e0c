"""``copywatch scan``: score one image, a folder or a URL against the catalog by hand.

Uses the workers' own code (the same matcher cache, thresholds and logo rule); writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from copywatch.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scan", help="score one image, a folder or a URL against the catalog")
    parser.add_argument("target", metavar="PATH_OR_URL")
    parser.add_argument("--k", type=int, default=10, help="matches to show per image (default 10)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
    parser.set_defaults(handler=run)


def _images(settings: Settings, target: str) -> list[tuple[str, Any]]:
    """(name, BGR image or the error text) for each image the target names."""
    from copywatch.catalog_store import image_files
    from detection.imageio import InvalidImageError, decode_image

    if target.startswith(("http://", "https://")):
        request = urllib.request.Request(target, headers={"User-Agent": settings.crawl_user_agent})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only
            data = response.read(settings.max_image_bytes + 1)
        if len(data) > settings.max_image_bytes:
            return [(target, f"larger than {settings.max_image_bytes} bytes")]
        sources = [(target, data)]
    else:
        sources = [(str(p), p.read_bytes()) for p in image_files([Path(target)])]
    found: list[tuple[str, Any]] = []
    for name, data in sources:
        try:
            found.append((name, decode_image(data, max_pixels=settings.max_image_pixels)))
        except InvalidImageError as exc:
            found.append((name, str(exc)))
    return found


def scan(settings: Settings, target: str, k: int = 10) -> list[dict[str, Any]]:
    """Score each image ``target`` names. Returns one dict per image: its matches (best first) and
    the detections the workers would store for it."""
    from workers.scoring import detections_for, originals_of, runtime

    sessions, matchers = runtime(settings)
    matcher = matchers.get()
    results: list[dict[str, Any]] = []
    for name, image in _images(settings, target):
        if isinstance(image, str):
            results.append({"image": name, "error": image, "matches": [], "detections": []})
            continue
        matches = matcher.match(image, k)
        originals = originals_of(sessions, {0: matches}, settings.review_threshold)
        references = {i: o.logo_reference for i, o in originals.items()}
        detections = detections_for(image, matches, references, settings)
        results.append(
            {
                "image": name,
                "matches": [
                    {
                        "original_id": m.original_id,
                        "score": round(m.score, 4),
                        "transform": m.transform,
                        "components": m.components,
                    }
                    for m in matches
                ],  # fmt: skip
                "detections": [
                    {
                        "original_id": d["original_id"],
                        "kind": str(d["kind"].value),
                        "score": round(d["score"], 4),
                        "logo": (d["logo_verdict"] or {}).get("verdict"),
                    }
                    for d in detections
                ],
            }
        )
    return results


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        results = scan(settings, args.target, args.k)
    except FileNotFoundError as exc:
        print(f"copywatch scan: {exc}", file=sys.stderr)
        return 2
    for result in results:
        if args.json:
            print(json.dumps(result))
            continue
        print(result["image"])
        if result.get("error"):
            print(f"  not scored: {result['error']}")
            continue
        if not result["matches"]:
            print("  no match in the catalog")
        for m in result["matches"]:
            flag = " *" if m["score"] >= settings.review_threshold else ""
            print(f"  original {m['original_id']:>8}  score {m['score']:.3f}{flag}")
        for d in result["detections"]:
            logo = f", logo {d['logo']}" if d["logo"] else ""
            print(f"  → detection: {d['kind']} of {d['original_id']} at {d['score']:.3f}{logo}")
    return 0
