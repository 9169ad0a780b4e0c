"""Evidence files stored by content hash under ``MEDIA_ROOT/evidence`` (one file per distinct content)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

EVIDENCE_DIR = "evidence"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_evidence_file(media_root: Path, data: bytes, suffix: str) -> tuple[str, str]:
    """Write ``data`` to ``evidence/<ab>/<sha256><suffix>`` (atomically; kept when already there).

    Returns:
        (sha256, the path relative to ``media_root``).
    """
    digest = sha256_bytes(data)
    relative = f"{EVIDENCE_DIR}/{digest[:2]}/{digest}{suffix}"
    target = media_root / relative
    if target.exists() and target.stat().st_size == len(data):
        return digest, relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return digest, relative


def stored_path(media_root: Path, path: str) -> Path:
    """An evidence or image path from the database, absolute (relative ones are under MEDIA_ROOT)."""
    stored = Path(path)
    return stored if stored.is_absolute() else media_root / stored
