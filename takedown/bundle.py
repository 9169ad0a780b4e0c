"""Evidence bundles: one ZIP anyone can verify with nothing but SHA-256.

Layout::

    manifest.json                      every file's SHA-256, size, role, URL, capture time; the tool version
    detection-<id>/page.warc.gz        the listing page's HTTP exchange (WARC, ISO 28500)
    detection-<id>/screenshot.png      the page as Chromium rendered it
    detection-<id>/listing-image.<ext> the listing image as served (the stored bytes)
    detection-<id>/original.<ext>      the brand's original
    detection-<id>/region-listing.png  the matched region of the listing image, outlined
    detection-<id>/region-original.png the matched region of the original, outlined
    detection-<id>/recheck.warc.gz     the re-check that found the listing gone (when there is one)

``manifest.json`` is canonical JSON (sorted keys, no spaces, ASCII) holding ``manifest_sha256``,
the hash of the manifest without that field: a changed byte in the manifest itself is caught too.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from db.evidence import BundleDetection
from db.models import EvidenceKind, EvidencePurpose, EvidenceStatus
from takedown import tool_version
from takedown.store import stored_path

MANIFEST = "manifest.json"
FORMAT = "copywatch-evidence-bundle/1"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def region_image(path: Path, polygon: Sequence[Sequence[float]] | None, margin: float = 0.08) -> bytes | None:
    """A PNG of the polygon's bounding box (plus a margin) with the polygon outlined; None if unreadable."""
    import cv2
    import numpy as np

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    height, width = image.shape[:2]
    if polygon:
        points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        pad_x, pad_y = (x1 - x0) * margin, (y1 - y0) * margin
        left, top = int(max(0, x0 - pad_x)), int(max(0, y0 - pad_y))
        right, bottom = int(min(width, x1 + pad_x + 1)), int(min(height, y1 + pad_y + 1))
        outlined = image.copy()
        thickness = max(2, int(round(max(width, height) / 300)))
        cv2.polylines(outlined, [np.round(points).astype(np.int32)], True, (0, 0, 255), thickness)
        big_enough = right - left >= 2 and bottom - top >= 2
        image = outlined[top:bottom, left:right] if big_enough else outlined
    ok, data = cv2.imencode(".png", image)
    return data.tobytes() if ok else None


@dataclass
class _Builder:
    media_root: Path
    files: dict[str, bytes] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, path: str, data: bytes, role: str, detection_id: int, **meta: Any) -> None:
        self.files[path] = data
        self.entries.append(
            {
                "path": path,
                "sha256": _sha256(data),
                "bytes": len(data),
                "role": role,
                "detection_id": detection_id,
                **{k: v for k, v in meta.items() if v is not None},
            }
        )

    def add_stored(
        self, path: str, stored: str | None, role: str, detection_id: int, **meta: Any
    ) -> Path | None:
        if not stored:
            return None
        source = stored_path(self.media_root, stored)
        try:
            data = source.read_bytes()
        except OSError:
            return None
        self.add(path, data, role, detection_id, **meta)
        return source


def _evidence_file(row: Any) -> tuple[str, str] | None:
    """(file name in the bundle, role) for an evidence row worth shipping."""
    if row.kind == EvidenceKind.WARC and row.purpose == EvidencePurpose.DETECTION:
        return "page.warc.gz", "page_warc"
    if row.kind == EvidenceKind.SCREENSHOT and row.purpose == EvidencePurpose.DETECTION:
        return "screenshot.png", "screenshot"
    if (
        row.kind == EvidenceKind.WARC
        and row.purpose == EvidencePurpose.RECHECK
        and row.status == EvidenceStatus.GONE
    ):
        return "recheck.warc.gz", "recheck_warc"
    return None


def build_bundle(items: Sequence[BundleDetection], media_root: Path, out: Path) -> dict[str, Any]:
    """Write the bundle of ``items`` to ``out`` (a ZIP); returns the manifest.

    Raises:
        ValueError: when there is no detection to export.
    """
    if not items:
        raise ValueError("no detection to export (unknown ids, or not visible to you)")
    builder = _Builder(media_root)
    detections = []
    for item in items:
        d, listing, image, original = item.detection, item.listing, item.image, item.original
        folder = f"detection-{d.id}"
        taken: set[str] = set()
        for row in item.evidence:  # newest first: the latest capture of each kind
            named = _evidence_file(row)
            if named is None or named[0] in taken:
                continue
            taken.add(named[0])
            builder.add_stored(
                f"{folder}/{named[0]}",
                row.path,
                named[1],
                d.id,
                url=row.url,
                captured_at=_iso(row.captured_at),
                http_status=row.http_status,
                user_agent=row.user_agent,
                tool_version=row.tool_version,
                evidence_id=row.id,
            )
        image_suffix = Path(image.path or "").suffix or ".img"
        listing_source = builder.add_stored(
            f"{folder}/listing-image{image_suffix}",
            image.path,
            "listing_image",
            d.id,
            url=image.url,
            captured_at=_iso(image.created_at),
        )
        original_source = None
        if original is not None:
            original_source = builder.add_stored(
                f"{folder}/original{Path(original.image_path).suffix or '.img'}",
                original.image_path,
                "original",
                d.id,
                sku=original.sku,
                title=original.title,
            )
        for source, polygon, name in (
            (listing_source, d.region_query, "region-listing.png"),
            (original_source, d.region_original, "region-original.png"),
        ):
            if source is not None and polygon:
                data = region_image(source, polygon)
                if data is not None:
                    builder.add(f"{folder}/{name}", data, name.removesuffix(".png").replace("-", "_"), d.id)
        detections.append(
            {
                "id": d.id,
                "kind": str(d.kind.value),
                "status": str(d.status.value),
                "score": round(float(d.score), 4),
                "found_at": _iso(d.created_at),
                "reviewed_at": _iso(d.reviewed_at),
                "marketplace": item.marketplace.name,
                "listing_url": listing.url,
                "listing_title": listing.title,
                "seller": listing.seller,
                "image_url": image.url,
                "brand": item.brand_name,
                "original": None
                if original is None
                else {
                    "id": original.id,
                    "sku": original.sku,
                    "title": original.title,
                    "sha256": original.sha256,
                },
                "region_listing": d.region_query,
                "region_original": d.region_original,
            }
        )
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "tool_version": tool_version(),
        "created_at": _iso(datetime.now(UTC)),
        "hash": "sha256",
        "detections": detections,
        "files": builder.entries,
    }
    manifest["manifest_sha256"] = _sha256(canonical_json(manifest))
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, canonical_json(manifest))
        for path, data in builder.files.items():
            archive.writestr(path, data)
    temp.replace(out)
    return manifest


@dataclass
class VerifyReport:
    """What ``verify`` found: ``ok`` only when every listed file is there and unchanged."""

    files_checked: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra or self.problems)


def verify_bundle(path: Path) -> VerifyReport:
    """Recompute every hash of a bundle against its manifest (and the manifest against itself)."""
    report = VerifyReport()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(f"not a readable ZIP file: {exc}")
        return report
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        contents: dict[str, bytes | None] = {}
        for name in names:
            try:
                contents[name] = archive.read(name)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # e.g. a bad CRC-32
                contents[name] = None
                report.problems.append(f"{name}: unreadable in the ZIP ({exc})")
    raw = contents.get(MANIFEST)
    if raw is None:
        if MANIFEST not in contents:
            report.missing.append(MANIFEST)
        else:
            report.changed.append(MANIFEST)
        return report
    try:
        manifest = json.loads(raw)
        claimed = manifest.pop("manifest_sha256")
        intact = raw == canonical_json({**manifest, "manifest_sha256": claimed}) and claimed == _sha256(
            canonical_json(manifest)
        )
        files = list(manifest["files"])
    except (ValueError, KeyError, TypeError, AttributeError):
        intact, files = False, []
    if not intact:
        # One changed byte in the manifest could also make a file look changed: name the manifest only.
        report.changed.append(MANIFEST)
        return report
    listed = set()
    for entry in files:
        name = str(entry.get("path"))
        listed.add(name)
        report.files_checked += 1
        if name not in contents:
            report.missing.append(name)
            continue
        data = contents[name]
        if data is None or _sha256(data) != entry.get("sha256") or len(data) != entry.get("bytes"):
            report.changed.append(name)
    report.extra = sorted(set(contents) - listed - {MANIFEST})
    # A bad CRC is a changed file: keep it in `changed` and not twice in `problems`.
    report.problems = [p for p in report.problems if p.split(":", 1)[0] not in report.changed]
    return report


def bundle_bytes_summary(manifest: dict[str, Any]) -> str:
    """One line: detections and files in a bundle."""
    return f"{len(manifest['detections'])} detection(s), {len(manifest['files'])} file(s)"


__all__ = ["VerifyReport", "build_bundle", "canonical_json", "region_image", "verify_bundle"]
