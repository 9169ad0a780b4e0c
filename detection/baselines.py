"""Retrieval methods behind :class:`detection.evaluate.RetrievalMethod`: our matcher and its peers.

* ``phash`` — imagehash's 64-bit perceptual hash, Hamming distance.
* ``pdq`` — Meta's 256-bit PDQ hash (pdqhash), Hamming distance.
* ``orb`` — plain ORB features: a FAISS binary index of every original's descriptors shortlists
  originals by descriptor votes, then ratio-test matching + RANSAC homography counts inliers.
* ``siamese`` — the seed's network: twin features of every original, similarity head per pair.
* ``matcher`` — :class:`detection.matcher.Matcher` (imported only when asked for).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from detection.evaluate import RetrievalMethod

if TYPE_CHECKING:
    import faiss
    import torch

    from detection.catalog import Catalog
    from detection.matcher import Matcher


def _top(ids: Sequence[str], scores: np.ndarray, k: int) -> list[tuple[str, float]]:
    # Stable sort on -score: ties keep catalog order, so results are reproducible.
    order = np.argsort(-scores, kind="stable")[:k]
    return [(ids[i], float(scores[i])) for i in order]


def _restrict(ids: list[str], candidates: Sequence[str] | None) -> np.ndarray:
    if candidates is None:
        return np.arange(len(ids))
    position = {oid: i for i, oid in enumerate(ids)}
    return np.array([position[c] for c in candidates if c in position], dtype=np.int64)


class _HashMethod:
    """Shared Hamming-distance ranking over packed binary hashes."""

    name = "hash"
    bits = 64

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.codes = np.zeros((0, self.bits // 8), dtype=np.uint8)

    def encode(self, image: np.ndarray) -> np.ndarray:
        """Packed hash bits (``bits / 8`` bytes)."""
        raise NotImplementedError

    def build(self, originals: dict[str, np.ndarray]) -> None:
        self.ids = list(originals)
        self.codes = np.stack([self.encode(image) for image in originals.values()])

    def rank(
        self, query: np.ndarray, k: int, candidates: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        rows = _restrict(self.ids, candidates)
        distance = np.unpackbits(self.codes[rows] ^ self.encode(query), axis=1).sum(axis=1)
        scores = 1.0 - distance / self.bits
        return _top([self.ids[r] for r in rows], scores, k)

    def index_bytes(self) -> int:
        return int(self.codes.nbytes)


class PHashMethod(_HashMethod):
    """imagehash pHash (DCT of a 32x32 grayscale, 64 bits)."""

    name = "phash"
    bits = 64

    def encode(self, image: np.ndarray) -> np.ndarray:
        import imagehash
        from PIL import Image

        pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        return np.packbits(imagehash.phash(pil).hash.flatten())


class PDQMethod(_HashMethod):
    """Meta's PDQ hash (256 bits)."""

    name = "pdq"
    bits = 256

    def encode(self, image: np.ndarray) -> np.ndarray:
        import pdqhash

        vector, _quality = pdqhash.compute(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        return np.packbits(vector.astype(np.uint8))


class ORBMethod:
    """Plain ORB + RANSAC with a FAISS shortlist (no learning, no calibration)."""

    name = "orb"

    def __init__(self, features: int = 500, shortlist: int = 20, max_side: int = 512) -> None:
        self.features = features
        self.shortlist = shortlist
        self.max_side = max_side
        self.orb = cv2.ORB.create(nfeatures=features)
        self.ids: list[str] = []
        self.keypoints: list[np.ndarray] = []
        self.descriptors: list[np.ndarray] = []
        self.owner = np.zeros(0, dtype=np.int32)
        self.index: faiss.IndexBinaryFlat | None = None
        self._last: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None = None

    def _extract(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        scale = self.max_side / max(gray.shape)
        if scale < 1:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        points, descriptors = self.orb.detectAndCompute(gray, None)
        if descriptors is None:
            return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
        return np.array([p.pt for p in points], np.float32), descriptors

    def build(self, originals: dict[str, np.ndarray]) -> None:
        import faiss

        self.ids = list(originals)
        self.keypoints, self.descriptors = [], []
        owners = []
        for row, image in enumerate(originals.values()):
            points, descriptors = self._extract(image)
            self.keypoints.append(points)
            self.descriptors.append(descriptors)
            owners.append(np.full(len(descriptors), row, dtype=np.int32))
        self.owner = np.concatenate(owners) if owners else np.zeros(0, np.int32)
        self.index = faiss.IndexBinaryFlat(256)
        if len(self.owner):
            self.index.add(np.concatenate(self.descriptors))

    def _inliers(self, q_points: np.ndarray, q_desc: np.ndarray, row: int) -> int:
        o_desc = self.descriptors[row]
        if len(o_desc) < 2 or len(q_desc) < 2:
            return 0
        matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        good = [
            m
            for m, n in (p for p in matcher.knnMatch(q_desc, o_desc, k=2) if len(p) == 2)
            if m.distance < 0.8 * n.distance
        ]
        if len(good) < 4:
            return len(good) // 2
        src = q_points[[m.queryIdx for m in good]]
        dst = self.keypoints[row][[m.trainIdx for m in good]]
        _, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
        return int(mask.sum()) if mask is not None else 0

    def _query_features(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The seed protocol ranks the same query again among its candidates: extract once.
        if self._last is None or self._last[0] is not query:
            self._last = (query, self._extract(query))
        return self._last[1]

    def rank(
        self, query: np.ndarray, k: int, candidates: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        q_points, q_desc = self._query_features(query)
        rows = _restrict(self.ids, candidates)
        votes = np.zeros(len(self.ids), dtype=np.float64)
        if len(q_desc) and len(self.owner) and self.index is not None:
            _, neighbours = self.index.search(q_desc, 5)
            np.add.at(votes, self.owner[neighbours[neighbours >= 0]], 1.0)
        allowed = np.zeros(len(self.ids), dtype=bool)
        allowed[rows] = True
        order = [r for r in np.argsort(-votes, kind="stable") if allowed[r]]
        # Verified originals rank by inliers; the rest follow by votes (scaled below any inlier count).
        scores = np.full(len(self.ids), -np.inf)
        scores[rows] = votes[rows] / (1.0 + votes.max()) - 1.0
        for row in order[: self.shortlist]:
            scores[row] = float(self._inliers(q_points, q_desc, row))
        return _top([self.ids[r] for r in rows], scores[rows], k)

    def index_bytes(self) -> int:
        return int(sum(d.nbytes for d in self.descriptors) + sum(p.nbytes for p in self.keypoints))


class SiameseMethod:
    """The seed's Siamese network as a retrieval method (twin features of every original)."""

    name = "siamese"

    def __init__(self, checkpoint: str | Path | None = None, device: str = "cpu") -> None:
        from detection.siamese import default_checkpoint, load_checkpoint

        self.model, self.metadata, _ = load_checkpoint(checkpoint or default_checkpoint(), device)
        self.device = device
        self.ids: list[str] = []
        self.features: torch.Tensor | None = None
        self._last: tuple[np.ndarray, torch.Tensor] | None = None

    def _embed(self, images: list[np.ndarray]):
        import torch

        from detection.preprocess import preprocess_batch

        with torch.no_grad():
            chunks = [
                self.model.embed(preprocess_batch(images[i : i + 64]).to(self.device))
                for i in range(0, len(images), 64)
            ]
        return torch.cat(chunks)

    def build(self, originals: dict[str, np.ndarray]) -> None:
        self.ids = list(originals)
        self.features = self._embed(list(originals.values()))

    def rank(
        self, query: np.ndarray, k: int, candidates: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        import torch

        rows = _restrict(self.ids, candidates)
        # The seed protocol ranks the same query again among its candidates: embed it once.
        if self._last is None or self._last[0] is not query:
            self._last = (query, self._embed([query]))
        if self.features is None:
            raise RuntimeError("build() the method before ranking with it")
        with torch.no_grad():
            scores = self.model.similarity(self._last[1], self.features[torch.from_numpy(rows)])
        return _top([self.ids[r] for r in rows], scores.cpu().numpy().astype(np.float64), k)

    def index_bytes(self) -> int:
        return 0 if self.features is None else int(self.features.numel() * self.features.element_size())


class MatcherMethod:
    """Adapter for :class:`detection.matching.Matcher` (our matcher), imported lazily."""

    name = "matcher"

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.catalog: Catalog | None = None
        self.matcher: Matcher | None = None

    def build(self, originals: dict[str, np.ndarray]) -> None:
        from detection.matching import Matcher, build_catalog

        self.catalog = build_catalog(originals.items())
        self.matcher = Matcher(self.catalog, device=self.device)

    def rank(
        self, query: np.ndarray, k: int, candidates: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        return [
            (m.original_id, float(m.score)) for m in self._built()[1].match(query, k=k, candidates=candidates)
        ]

    def _built(self) -> tuple[Catalog, Matcher]:
        if self.catalog is None or self.matcher is None:
            raise RuntimeError("build() the method before ranking with it")
        return self.catalog, self.matcher

    def index_bytes(self) -> int:
        # What a worker loads: the saved catalog's files on disk.
        with tempfile.TemporaryDirectory() as tmp:
            self._built()[0].save(Path(tmp) / "catalog")
            return sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())


METHODS: dict[str, Callable[[], RetrievalMethod]] = {
    "matcher": MatcherMethod,
    "siamese": SiameseMethod,
    "phash": PHashMethod,
    "pdq": PDQMethod,
    "orb": ORBMethod,
}


def make_method(name: str, **options: object) -> RetrievalMethod:
    """Instantiate a method by name (one of :data:`METHODS`)."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return METHODS[name](**options)
