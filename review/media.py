"""Serve stored images by database id only: the path comes from the row, never from the request,
and only images of the user's brands (``db.scoping``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, request, send_file

from db.review_queries import listing_image_path, original_image_path
from detection.imagetype import sniff_image_type
from review.state import db, scope, state

bp = Blueprint("media", __name__, url_prefix="/media")

# Served with the type the bytes say they are; anything else is not served (nosniff is set too).
_MIMETYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "webp": "image/webp",
}


def stored_path(relative_or_absolute: str | None) -> Path | None:
    """The file of a stored image, or None when it is missing or would leave MEDIA_ROOT."""
    if not relative_or_absolute:
        return None
    media_root = state().settings.media_root.resolve()
    try:
        # An absolute path replaces media_root in the join; either way the resolved file (links
        # followed) must lie under MEDIA_ROOT, or a row pointing elsewhere would be served.
        path = (media_root / relative_or_absolute).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(media_root):
        return None
    return path if path.is_file() else None


def sniff_mimetype(path: Path) -> str | None:
    with path.open("rb") as handle:
        image_type = sniff_image_type(handle.read(16))
    return _MIMETYPES.get(image_type) if image_type else None


def image_size(
    relative_or_absolute: str | None, width: int | None, height: int | None
) -> tuple[int, int] | None:
    """Pixel size of a stored image: from its row, else read from the file header."""
    if width and height:
        return int(width), int(height)
    path = stored_path(relative_or_absolute)
    if path is None:
        return None
    try:
        from PIL import Image

        with Image.open(path) as img:
            return img.size
    except Exception:  # noqa: BLE001 - an unreadable file is shown without overlay, not an error page
        return None


THUMB_SIDE = 160


def thumbnail(path: Path) -> Path:
    """A small JPEG of a stored image for the queue's rows, made once and kept under DATA_DIR/thumbs.

    Stored images are named by their content hash, so the name keys the cache and a thumbnail
    never goes stale.
    """
    from PIL import Image

    cache = state().settings.data_dir / "thumbs" / f"{path.stem}-{THUMB_SIDE}.jpg"
    if cache.is_file():
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(path) as opened:
        opened.draft("RGB", (THUMB_SIDE * 2, THUMB_SIDE * 2))  # JPEG: decode at reduced size
        opened.thumbnail((THUMB_SIDE, THUMB_SIDE))
        img: Image.Image = opened
        if img.mode in {"RGBA", "LA", "P"}:
            img = img.convert("RGBA")
            background = Image.new("RGB", img.size, "white")
            background.paste(img, mask=img.split()[-1])
            img = background
        tmp = cache.with_suffix(f".{os.getpid()}.part")
        img.convert("RGB").save(tmp, "JPEG", quality=82)
    tmp.replace(cache)
    return cache


def _send(relative_or_absolute: str | None) -> Any:
    path = stored_path(relative_or_absolute)
    if path is None:
        abort(404, "The image file is missing.")
    if request.args.get("size") == "thumb":
        # An image Pillow cannot shrink is sent as stored; the browser shows what it can.
        with contextlib.suppress(OSError):
            path = thumbnail(path)
    mimetype = sniff_mimetype(path)
    if mimetype is None:
        abort(404, "The stored file is not an image type the browser can show.")
    response = send_file(path, mimetype=mimetype, max_age=3600, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/listing-image/<int:image_id>")
def listing_image(image_id: int) -> Any:
    # Missing and another brand's image get the same answer.
    path = listing_image_path(db(), scope(), image_id)
    if path is None:
        abort(404)
    return _send(path)


@bp.route("/original/<int:original_id>")
def original(original_id: int) -> Any:
    path = original_image_path(db(), scope(), original_id)
    if path is None:
        abort(404)
    return _send(path)
