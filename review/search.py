"""The seed's search page: upload a suspect image, see the 10 most similar originals with their
similarity in %, filter them with a threshold, and see the matched region on both images."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, jsonify, render_template, request, url_for

from db.review_queries import originals_with_brand, visible_original_ids
from review.state import MatcherUnavailable, db, scope, state
from review.uploads import UploadRejected, decode_upload

bp = Blueprint("search", __name__)

RESULTS = 10
ACCEPTED_TYPES = "image/jpeg,image/png,image/webp,image/gif,image/bmp,image/tiff"
# Uploads decoded (and matched) at the same time in this process: a decoded image costs about
# 12 bytes a pixel, so 2 × UPLOAD_MAX_PIXELS bounds the page's memory whatever the traffic.
DECODE_SLOTS = 2
DECODE_WAIT_S = 20.0
_decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)


class SearchBusy(RuntimeError):
    """Every decode slot stayed taken for DECODE_WAIT_S."""


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of the DECODE_SLOTS while an upload is decoded and matched."""
    if not _decode_slots.acquire(timeout=DECODE_WAIT_S):
        raise SearchBusy("The search is busy with other uploads; try again in a moment.")
    try:
        yield
    finally:
        _decode_slots.release()


@bp.route("/search")
def page() -> Any:
    return render_template("search.html", accepted_types=ACCEPTED_TYPES, results=RESULTS)


def _points(region: Any) -> list[list[float]] | None:
    if not region:
        return None
    return [[round(float(x), 1), round(float(y), 1)] for x, y in region]


@bp.route("/api/search", methods=["POST"])
def upload() -> Any:
    """Match an uploaded image against the catalog; JSON ``{query, results, ms}`` or ``{error}``."""
    started = time.perf_counter()
    upload_file = request.files.get("image")
    if upload_file is None:
        return jsonify(error="No image in the upload (field 'image')."), 400
    settings = state().settings
    # Read at most one byte over the limit: enough to know it is too large, never the whole stream.
    data = upload_file.stream.read(settings.max_image_bytes + 1)
    try:
        with decode_slot():
            return _search(data, started)
    except SearchBusy as exc:
        return jsonify(error=str(exc)), 503


def _search(data: bytes, started: float) -> Any:
    settings = state().settings
    # The pixel count is read from the header and checked before a pixel is decoded.
    max_pixels = min(settings.upload_max_pixels, settings.max_image_pixels)
    try:
        image = decode_upload(data, max_bytes=settings.max_image_bytes, max_pixels=max_pixels)
    except UploadRejected as exc:
        return jsonify(error=str(exc)), 400
    try:
        matcher = state().matcher()
    except MatcherUnavailable as exc:
        return jsonify(error=str(exc)), 503
    # The seed's page always lists ten originals. The matcher leaves out originals without geometric
    # support; naming the whole catalog as candidates brings them back, ranked after, at score 0.
    catalog = getattr(matcher, "catalog", None)
    candidates = catalog.ids() if catalog is not None and hasattr(catalog, "ids") else None
    # A reviewer searches their brands' originals only: the others are no candidates at all.
    visible = visible_original_ids(db(), scope())
    if visible is not None and candidates is not None:
        candidates = [c for c in candidates if str(c).isdigit() and int(c) in visible]
    if visible is not None and not candidates:
        matches = []
    else:
        matches = (
            matcher.match(image, k=RESULTS, candidates=candidates)
            if candidates
            else matcher.match(image, k=RESULTS)
        )
    ids = [int(m.original_id) for m in matches if str(m.original_id).isdigit()]
    originals = originals_with_brand(db(), scope(), ids)
    if visible is not None:  # a matcher that ignored the candidates still shows nothing else
        matches = [m for m in matches if str(m.original_id).isdigit() and int(m.original_id) in originals]
    from review.media import image_size

    results = []
    for rank, match in enumerate(matches[:RESULTS], start=1):
        found = originals.get(int(match.original_id)) if str(match.original_id).isdigit() else None
        row, brand = found if found else (None, None)
        size = image_size(row.image_path, row.width, row.height) if row else None
        results.append(
            {
                "rank": rank,
                "original_id": str(match.original_id),
                "sku": row.sku if row else None,
                "title": (row.title if row else None) or f"Original {match.original_id}",
                "brand": brand,
                "score": float(match.score),
                "percent": round(float(match.score) * 100, 1),
                "components": {k: round(float(v), 4) for k, v in (match.components or {}).items()},
                "transform": getattr(match, "transform", None),
                "region_query": _points(match.region_query),
                "region_original": _points(match.region_original),
                "image_url": url_for("media.original", original_id=row.id) if row else None,
                "width": size[0] if size else None,
                "height": size[1] if size else None,
            }
        )
    return jsonify(
        query={"width": int(image.shape[1]), "height": int(image.shape[0])},
        results=results,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
