"""A saved catalog rewritten as an older format wrote it (to test that older catalogs still load)."""

from __future__ import annotations

import json
import lzma
import zlib
from pathlib import Path

import faiss

from detection.catalog import Catalog


def rewrite_as_format(catalog: Catalog, folder: Path, version: int) -> None:
    """``catalog``, saved in ``folder``, rewritten as formats 2 and 3 laid it out: the index as FAISS
    writes it (an inverted file with its ids), the thumbnails' packed codes LZMA-compressed
    together, 0/1 thumbnail flags in meta.json."""
    for name in ("codes.npy", "lists.npy", "quantizer.faiss", "thumbnails.zlib"):
        (folder / name).unlink(missing_ok=True)
    faiss.write_index_binary(catalog.index, str(folder / "features.faiss"))
    packed = b"".join(zlib.decompress(t) for t in catalog.compressed_thumbnails if t)
    (folder / "thumbnails.xz").write_bytes(lzma.compress(packed))
    meta = json.loads((folder / "meta.json").read_text())
    meta.update(format=version, thumbnails=[int(bool(t)) for t in catalog.compressed_thumbnails])
    meta.pop("index", None)
    (folder / "meta.json").write_text(json.dumps(meta))
