"""The catalog index: every original's local features in one binary vector index, versioned on disk.

Layout of a saved catalog directory::

    meta.json        ids, image sizes, version, calibration, parameters
    points.npy       float16 (n, 2) keypoint positions in each original's working frame
    offsets.npy      int64 (originals + 1): descriptors of original i are offsets[i]:offsets[i+1]
    scales.npy       float32 (originals,): working frame / original pixels
    features.faiss   an exact index as FAISS writes it (descriptor i has id i), or, for an
                     inverted file (:func:`detection.catalog_index.write`):
    codes.npy        uint8 (descriptors, 32) the codes in id order
    lists.npy        uint16 (uint32 from 65,535 lists) each code's inverted list (the type's largest value: none)
    quantizer.faiss  the inverted file's quantizer (its list centres)
    thumbnails.zlib  each original's packed 4-bit grayscale thumbnail (:mod:`detection.verify`),
                     zlib-compressed as held in memory, one after another; meta.json lists their
                     lengths (0: none, as for an original added as features). Formats 2 and 3:
                     thumbnails.xz, the packed codes LZMA-compressed together, and 0/1 flags.

Small catalogs use an exact Hamming index; larger ones an inverted file (trained once, then
extended by :meth:`Catalog.add`), whose lists follow the catalog's size so that a search costs
about the same at any size (:mod:`detection.catalog_index`).
"""

from __future__ import annotations

import copy
import json
import logging
import lzma
import os
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from detection import catalog_index
from detection.calibration import Calibration
from detection.features import (
    ORIGINAL_FEATURES,
    WORKING_SIDE,
    FeatureExtractor,
    normalised,
    to_gray,
    to_resized,
)
from detection.hamming_torch import InvertedLists
from detection.progress import progress_bar
from detection.verify import make_thumbnail, pack, thumbnail_size, unpack

log = logging.getLogger(__name__)
_FLAT: Any = faiss.IndexBinaryFlat  # isinstance() with it keeps an index Any: faiss's stubs omit .xb

# 2: thumbnails for structural verification; 3: a faint thumbnail is contrast-stretched before
# quantising (a format-2 index still reads: its thumbnails only keep faint drawings less well);
# 4: an inverted file saved as codes, list numbers and quantizer (catalog_index.write), without
# FAISS's 8-byte id a code (formats 2 and 3 still read: their inverted file is in features.faiss).
FORMAT_VERSION = 4
READABLE_FORMATS = (2, 3, 4)
DESCRIPTOR_BITS = catalog_index.DESCRIPTOR_BITS
CALIBRATION_SAMPLES = 200

#: Measures a catalog's score calibration: ``(catalog, sampled originals' pixels by position,
#: progress) -> Calibration`` (:func:`detection.matching.calibrate`, which matches each sampled
#: original against the rest of the catalog; the catalog itself knows nothing of the matcher).
Calibrator = Callable[["Catalog", Mapping[int, np.ndarray], bool], Calibration]


class Catalog:
    """A brand's originals, indexed for :class:`detection.matcher.Matcher`.

    Example:
        >>> catalog = build_catalog([("sku-1", image1), ("sku-2", image2)])  # detection.matching
        >>> catalog.save("data/index"); Catalog.load("data/index").ids()
        ['sku-1', 'sku-2']
    """

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._id_set: set[str] = set()
        self.sizes: list[tuple[int, int]] = []  # (width, height) in original pixels
        self.scales: list[float] = []
        self.offsets: list[int] = [0]
        self._offsets_array = np.zeros(1, np.int64)  # self.offsets as an array, for owners()
        self._points: list[np.ndarray] = []
        self.points = np.zeros((0, 2), np.float16)
        self.index: Any = faiss.IndexBinaryFlat(DESCRIPTOR_BITS)
        # Each original's packed 4-bit thumbnail codes, zlib-compressed in memory (read only when the
        # structure check's cache misses); b"": no thumbnail.
        self.compressed_thumbnails: list[bytes] = []
        self.calibration = Calibration.default()
        self.version = uuid.uuid4().hex
        self._extractor = FeatureExtractor(ORIGINAL_FEATURES)

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> list[str]:
        return list(self._ids)

    def id_at(self, position: int) -> str:
        """The id of the original at ``position`` (no copy of the id list)."""
        return self._ids[position]

    def __contains__(self, original_id: object) -> bool:
        return original_id in self._id_set

    @property
    def descriptor_count(self) -> int:
        return self.offsets[-1]

    # --- building ----------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        items: Iterable[tuple[str, np.ndarray]],
        progress: bool = False,
        calibrator: Calibrator | None = None,
    ) -> Catalog:
        """Index ``(original_id, BGR image)`` pairs; with a ``calibrator``, then measure the score
        calibration on a seeded sample of the originals' pixels (without one the catalog keeps
        :meth:`Calibration.default`: use :func:`detection.matching.build_catalog`)."""
        catalog = cls()
        descriptors: list[np.ndarray] = []
        # A seeded reservoir of originals' pixels (grayscale, working size) for the calibration.
        rng = np.random.default_rng(0)
        sample: list[tuple[int, np.ndarray]] = []
        for seen, (original_id, image) in enumerate(
            progress_bar(items, desc="indexing originals", enabled=progress, unit="img")
        ):
            descriptors.append(catalog._append(original_id, image))
            if calibrator is None:
                continue
            if seen < CALIBRATION_SAMPLES:
                sample.append((seen, normalised(to_gray(image))[0]))
            elif (slot := int(rng.integers(0, seen + 1))) < CALIBRATION_SAMPLES:
                sample[slot] = (seen, normalised(to_gray(image))[0])
        if catalog._points:
            catalog.points = np.concatenate(catalog._points)
        catalog._points = []
        all_descriptors = np.concatenate(descriptors) if descriptors else np.zeros((0, 32), np.uint8)
        catalog.index = catalog_index.make_index(all_descriptors)
        if calibrator is not None:
            catalog.calibration = calibrator(catalog, dict(sample), progress)
        return catalog

    def _append(self, original_id: str, image: np.ndarray) -> np.ndarray:
        original_id = str(original_id)
        if original_id in self._id_set:
            raise ValueError(f"original {original_id!r} is already in the catalog")
        features = self._extractor.extract(image)
        scale = WORKING_SIDE / max(features.width, features.height)
        self._ids.append(original_id)
        self._id_set.add(original_id)
        self.sizes.append((features.width, features.height))
        self.scales.append(scale)
        self.offsets.append(self.offsets[-1] + len(features))
        self._points.append(to_resized(features.points, scale).astype(np.float16))
        self.compressed_thumbnails.append(_compressed(pack(make_thumbnail(image))))
        return features.descriptors

    def add(self, original_id: str, image: np.ndarray) -> None:
        """Add one original without rebuilding; the version changes."""
        descriptors = self._append(original_id, image)
        self.points = np.concatenate([self.points, *self._points])
        self._points = []
        if catalog_index.outgrown(self.index, self.descriptor_count):
            existing = self.all_descriptors()
            self.index = catalog_index.make_index(np.concatenate([existing, descriptors]))
        elif len(descriptors):
            self.index.add(descriptors)
        self.version = uuid.uuid4().hex

    def with_extra_features(
        self, extra: Iterable[tuple[str, np.ndarray, np.ndarray, tuple[int, int]]]
    ) -> Catalog:
        """A copy of this catalog plus originals given as ready-made features (for scale benchmarks).

        Args:
            extra: ``(original_id, descriptors uint8 (n, 32), points float (n, 2) in the working
                frame, (width, height))`` per extra original.

        Returns:
            A new catalog (same calibration) whose index type suits its total size.
        """
        catalog = Catalog()
        catalog._ids = list(self._ids)
        catalog._id_set = set(self._ids)
        catalog.sizes = list(self.sizes)
        catalog.scales = list(self.scales)
        catalog.offsets = list(self.offsets)
        catalog.calibration = self.calibration
        catalog.compressed_thumbnails = list(self.compressed_thumbnails)
        codes = [np.concatenate([self.descriptors_of(i) for i in range(len(self))])] if len(self) else []
        points = [self.points]
        for original_id, descriptors, at, (width, height) in extra:
            if original_id in catalog._id_set:
                raise ValueError(f"original {original_id!r} is already in the catalog")
            catalog._ids.append(original_id)
            catalog._id_set.add(original_id)
            catalog.sizes.append((int(width), int(height)))
            catalog.scales.append(WORKING_SIDE / max(width, height))
            catalog.offsets.append(catalog.offsets[-1] + len(descriptors))
            catalog.compressed_thumbnails.append(b"")  # no pixels: no verification
            codes.append(np.asarray(descriptors, np.uint8))
            points.append(np.asarray(at, np.float16))
        catalog.points = np.concatenate(points)
        catalog.index = catalog_index.make_index(
            np.concatenate(codes) if codes else np.zeros((0, 32), np.uint8)
        )
        return catalog

    def exact_twin(self) -> Catalog:
        """This catalog searched exhaustively: the reference an approximate index is measured against."""
        twin = copy.copy(self)
        twin.index = faiss.IndexBinaryFlat(DESCRIPTOR_BITS)
        twin.index.add(self.all_descriptors())
        return twin

    # --- descriptors of one original (used by calibration and diagnostics) -------------------------

    def descriptors_of(self, position: int) -> np.ndarray:
        start, stop = self.offsets[position], self.offsets[position + 1]
        if isinstance(self.index, _FLAT):
            flat = faiss.rev_swig_ptr(self.index.xb.data(), self.index.ntotal * 32)
            return np.asarray(flat[start * 32 : stop * 32]).reshape(-1, 32).copy()
        self.index.make_direct_map()
        return (
            np.stack([self.index.reconstruct(i) for i in range(start, stop)])
            if stop > start
            else np.zeros((0, 32), np.uint8)
        )

    def all_descriptors(self) -> np.ndarray:
        """Every indexed descriptor, (index.ntotal, 32) uint8, row i holding descriptor id i
        (during :meth:`add`, the new original's are not indexed yet)."""
        count = int(self.index.ntotal)
        if isinstance(self.index, _FLAT):
            return faiss.rev_swig_ptr(self.index.xb.data(), count * 32).reshape(-1, 32).copy()
        codes = np.zeros((count, 32), np.uint8)
        for _, ids, list_codes in catalog_index.inverted_file(self.index):
            codes[ids] = list_codes
        return codes

    def for_calibration(self) -> Catalog:
        """The catalog the score calibration matches against: this one, but searched exhaustively
        when its index is the small inverted file. A catalog that small is calibrated on a few
        dozen originals, so its null's tail rests on a handful of them and moved with the
        chance neighbours an eighth of the lists leaves out (on 65 photographs the tail's scale
        fell from 2.9 to its 2.0 floor, and a tenth of the innocent photos rose over the review
        threshold); the exhaustive search finds every chance neighbour the inverted file could,
        so the null stays an upper bound of what the listings meet. Shares everything else."""
        return self.exact_twin() if catalog_index.is_small_inverted_file(self.index) else self

    def inverted_lists(self) -> InvertedLists | None:
        """The inverted file's layout (each code's list, the centres, the lists probed), so that
        another search can restrict itself as FAISS does; None for an exact index."""
        centres = catalog_index.centres(self.index)
        if centres is None:
            return None
        list_of = np.zeros(self.descriptor_count, np.int64)
        for number, ids, _ in catalog_index.inverted_file(self.index):
            list_of[ids] = number
        return InvertedLists(list_of, centres, int(self.index.nprobe))

    def thumbnail_of(self, position: int) -> np.ndarray | None:
        """The original's grayscale thumbnail (:func:`detection.verify.make_thumbnail`), or None."""
        compressed = self.compressed_thumbnails[position]
        if not compressed:
            return None
        width, height = thumbnail_size(*self.sizes[position])
        return unpack(np.frombuffer(zlib.decompress(compressed), np.uint8), width, height)

    def owners(self, descriptor_ids: np.ndarray) -> np.ndarray:
        """The catalog position owning each descriptor id."""
        # Offsets only grow (add appends, load and with_extra_features build a new list), so a
        # length check keeps the array current; converting the list every call cost 0.3 ms at 10k.
        if len(self._offsets_array) != len(self.offsets):
            self._offsets_array = np.asarray(self.offsets, dtype=np.int64)
        return np.searchsorted(self._offsets_array, descriptor_ids, side="right") - 1

    # --- persistence ---------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write atomically: a reader never sees a half-written index."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".catalog-", dir=directory.parent))
        try:
            np.save(staging / "points.npy", self.points)
            np.save(staging / "offsets.npy", np.asarray(self.offsets, dtype=np.int64))
            np.save(staging / "scales.npy", np.asarray(self.scales, dtype=np.float32))
            # As held in memory, so that loading a catalog does not compress them again.
            (staging / "thumbnails.zlib").write_bytes(b"".join(self.compressed_thumbnails))
            stored_index = catalog_index.write(self.index, staging)
            meta = {
                "format": FORMAT_VERSION,
                "version": self.version,
                "ids": self._ids,
                "sizes": self.sizes,
                "calibration": self.calibration.to_dict(),
                "working_side": WORKING_SIDE,
                "features_per_original": ORIGINAL_FEATURES,
                "thumbnails": [len(t) for t in self.compressed_thumbnails],
                "index": stored_index,
            }
            (staging / "meta.json").write_text(json.dumps(meta))
            old = directory.with_name(directory.name + f".old-{uuid.uuid4().hex[:8]}")
            if directory.exists():
                os.replace(directory, old)
            os.replace(staging, directory)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @staticmethod
    def stored_version(directory: str | Path) -> str | None:
        """The version of the catalog saved in ``directory``, or None when there is none."""
        try:
            return json.loads((Path(directory) / "meta.json").read_text())["version"]
        except (FileNotFoundError, NotADirectoryError, KeyError, json.JSONDecodeError):
            return None

    @classmethod
    def load(cls, directory: str | Path) -> Catalog:
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if not meta_path.exists():
            raise FileNotFoundError(
                f"no catalog index in {directory} (build one with `copywatch catalog build`)"
            )
        meta = json.loads(meta_path.read_text())
        if meta.get("format") not in READABLE_FORMATS or meta.get("working_side") != WORKING_SIDE:
            raise ValueError(
                f"catalog index in {directory} has format {meta.get('format')}, this version reads"
                f" {' or '.join(map(str, READABLE_FORMATS))}; rebuild it with `copywatch catalog build`"
            )
        catalog = cls()
        catalog._ids = [str(i) for i in meta["ids"]]
        catalog._id_set = set(catalog._ids)
        catalog.sizes = [tuple(s) for s in meta["sizes"]]
        catalog.version = meta["version"]
        catalog.calibration = Calibration.from_dict(meta["calibration"])
        catalog.points = np.load(directory / "points.npy")
        catalog.offsets = [int(v) for v in np.load(directory / "offsets.npy")]
        catalog.scales = [float(v) for v in np.load(directory / "scales.npy")]
        catalog.index = catalog_index.read(directory, meta.get("index"))
        catalog.compressed_thumbnails = (
            _stored_thumbnails(directory, meta["thumbnails"], len(catalog.sizes))
            if meta["format"] >= 4
            else _lzma_thumbnails(directory, catalog.sizes, meta["thumbnails"])
        )
        return catalog

    def nbytes(self) -> int:
        """Memory of the index proper: codes, ids, positions, compressed thumbnails (what grows
        with the catalog)."""
        codes = self.descriptor_count * (32 + catalog_index.extra_bytes_per_code(self.index))
        thumbnails = sum(len(t) for t in self.compressed_thumbnails)
        return int(codes + self.points.nbytes + 8 * len(self.offsets) + 12 * len(self) + thumbnails)


def _compressed(packed: np.ndarray) -> bytes:
    """Packed thumbnail codes as kept in memory: a clip-art thumbnail shrinks ~3.7× (mostly flat), a
    photograph's ~1.5×; decompressing one costs a few microseconds."""
    return zlib.compress(packed.tobytes(), 6)


def _stored_thumbnails(directory: Path, lengths: list[int], originals: int) -> list[bytes]:
    """The compressed thumbnails of a format-4 catalog, as saved."""
    stored = (directory / "thumbnails.zlib").read_bytes()
    if len(lengths) != originals or sum(lengths) != len(stored):
        raise ValueError(f"{directory}: thumbnails.zlib does not match meta.json; rebuild the catalog")
    ends = np.cumsum(lengths, dtype=np.int64)
    return [stored[end - length : end] for end, length in zip(ends.tolist(), lengths, strict=True)]


def _lzma_thumbnails(directory: Path, sizes: list[tuple[int, int]], present: list[int]) -> list[bytes]:
    """The thumbnails of a format-2 or -3 catalog (packed codes LZMA-compressed together), compressed
    one by one as a catalog holds them."""
    codes = np.frombuffer(lzma.decompress((directory / "thumbnails.xz").read_bytes()), np.uint8)
    thumbnails, start = [], 0
    for size, has_one in zip(sizes, present, strict=True):
        length = (int(np.prod(thumbnail_size(*size))) + 1) // 2 if has_one else 0
        thumbnails.append(_compressed(codes[start : start + length]) if length else b"")
        start += length
    return thumbnails
