"""A brand's catalog of originals: rows in the database, files under MEDIA_ROOT, and the index on disk.

The database is the source of truth; the index under ``settings.index_dir`` is derived from it
and updated incrementally (new originals are added, nothing is rebuilt), keyed by
``str(original.id)``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from copywatch.settings import Settings
from db.catalog import (
    add_original,
    original_image_path,
    original_image_paths,
    set_logo_reference,
    upsert_brand,
)
from db.catalog import list_originals as db_list_originals
from db.engine import make_engine, session_factory

if TYPE_CHECKING:
    from detection.catalog import Catalog

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def image_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into the image files they hold (sorted), keep files as given."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def register_originals(
    settings: Settings,
    brand_name: str,
    image_paths: Iterable[str | Path],
    *,
    alert_emails: list[str] | None = None,
) -> list[int]:
    """Copy each image under ``MEDIA_ROOT/originals`` (content-addressed) and add its row.

    An image that cannot be decoded raises :class:`detection.imageio.InvalidImageError` naming
    the file, before anything is written for it. Registering the same bytes twice is a no-op.

    Returns:
        The original ids, in the order of ``image_paths`` (folders expanded).
    """
    from detection.imageio import InvalidImageError, decode_image

    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    ids: list[int] = []
    try:
        with session_factory(engine)() as session, session.begin():
            brand_id = upsert_brand(session, brand_name, alert_emails)
            for path in image_files(image_paths):
                data = path.read_bytes()
                try:
                    image = decode_image(data, max_pixels=settings.max_image_pixels)
                except InvalidImageError as exc:
                    raise InvalidImageError(f"{path}: {exc}") from exc
                sha256 = hashlib.sha256(data).hexdigest()
                stored = settings.media_root / "originals" / sha256[:2] / f"{sha256}{path.suffix.lower()}"
                if not stored.exists():
                    stored.parent.mkdir(parents=True, exist_ok=True)
                    tmp = stored.with_suffix(stored.suffix + ".part")
                    shutil.copyfile(path, tmp)
                    tmp.replace(stored)
                original_id, _ = add_original(
                    session,
                    brand_id,
                    image_path=str(stored.relative_to(settings.media_root)),
                    sha256=sha256,
                    sku=path.stem,
                    title=path.stem.replace("_", " ").replace("-", " "),
                    width=int(image.shape[1]),
                    height=int(image.shape[0]),
                )
                ids.append(original_id)
    finally:
        engine.dispose()
    return ids


def original_path(settings: Settings, image_path: str) -> Path:
    path = Path(image_path)
    return path if path.is_absolute() else settings.media_root / path


def _originals(settings: Settings, exclude: set[str]) -> Iterator[tuple[str, Path]]:
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            rows = original_image_paths(session)
    finally:
        engine.dispose()
    for original_id, image_path in rows:
        if str(original_id) not in exclude:
            yield str(original_id), original_path(settings, image_path)


def build_index(settings: Settings, *, progress: bool = False, rebuild: bool = False) -> Catalog:
    """Bring the index on disk up to date with the database and return it.

    Without ``rebuild``, an existing index is loaded and only originals it lacks are added.
    """
    from detection.catalog import Catalog
    from detection.imageio import load_image
    from detection.matching import build_catalog

    index_dir = settings.index_dir
    existing = None
    if not rebuild and Catalog.stored_version(index_dir) is not None:
        existing = Catalog.load(index_dir)
    known = set(existing.ids()) if existing is not None else set()
    pending = list(_originals(settings, known))
    items = ((original_id, load_image(path)) for original_id, path in pending)
    if existing is None:
        catalog = build_catalog(items, progress=progress)
    else:
        catalog = existing
        for original_id, image in items:
            catalog.add(original_id, image)
    if pending or existing is None:
        catalog.save(index_dir)
    log.info(
        "catalog index: %d originals (%d added), version %s", len(catalog), len(pending), catalog.version
    )
    return catalog


def register_logo(
    settings: Settings,
    original_id: int,
    box: tuple[int, int, int, int] | None,
    image_path: str | Path | None = None,
) -> dict | None:
    """Store the logo reference of an original (``box`` = x, y, w, h; None = find it automatically).

    With ``image_path`` (the brand's own logo file, alpha or plain background) the mark is kept
    under ``MEDIA_ROOT/logos`` by content hash and carried in the reference; its place on the
    original is where the mark is found there (unless ``box`` says so), and listings are then
    checked by finding that mark. A file that is no image raises ``ValueError``.
    """
    from dataclasses import replace

    from detection.imageio import load_image
    from detection.logo import reference_from_original
    from detection.logo.brand_mark import BrandMark, find_marks
    from detection.logo.shape import classify_shape, shape_features

    mark = stored = None
    if image_path is not None:
        data = Path(image_path).read_bytes()
        mark = BrandMark.from_bytes(data)
        sha256 = hashlib.sha256(data).hexdigest()
        stored = Path("logos") / sha256[:2] / f"{sha256}{Path(image_path).suffix.lower() or '.png'}"
        target = settings.media_root / stored
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session, session.begin():
            original_file = original_image_path(session, original_id)
            if original_file is None:
                raise LookupError(f"no original with id {original_id}")
            image = load_image(original_path(settings, original_file))
            if mark is not None and box is None:
                hits = [hit for hit in find_marks(image, mark) if not hit.mirrored]
                box = hits[0].box if hits else None
            reference = reference_from_original(image, box)
            if reference is not None and mark is not None:
                reference = replace(
                    reference, mark=mark, mark_path=str(stored),
                    shape=classify_shape(shape_features(mark.mask())) or reference.shape,
                )  # fmt: skip
            data_out = reference.to_dict() if reference is not None else None
            set_logo_reference(session, original_id, data_out)
            return data_out
    finally:
        engine.dispose()


def list_originals(settings: Settings) -> list[dict[str, object]]:
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            rows = db_list_originals(session)
    finally:
        engine.dispose()
    return [{"id": r.id, "brand": r.brand, "sku": r.sku, "path": r.path, "logo": r.has_logo} for r in rows]
