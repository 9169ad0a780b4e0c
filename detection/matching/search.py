"""Catalog search: each query descriptor's nearest catalog descriptors, votes, and the verified
shortlist of originals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.catalog import Catalog
from detection.features import WORKING_SIDE, Features, to_resized
from detection.hamming_torch import TorchHammingIndex
from detection.matching import tuning
from detection.matching.geometry import Verified, verify


@dataclass
class Searched:
    """A query's features and each one's nearest catalog descriptors."""

    features: Features
    distances: np.ndarray  # (n, NEIGHBOURS) Hamming distances
    ids: np.ndarray  # (n, NEIGHBOURS) descriptor ids, -1 when none


class CatalogSearch:
    """Nearest-descriptor search over a catalog: FAISS on the CPU, or
    :class:`~detection.hamming_torch.TorchHammingIndex` on ``device`` (``torch_search``)."""

    def __init__(self, catalog: Catalog, device: str = "cpu", torch_search: bool = False) -> None:
        self.catalog = catalog
        self.device = device
        self.torch_search = torch_search
        self._torch_index: TorchHammingIndex | None = None

    def search(self, query: Features, known: Searched | None = None) -> Searched:
        """Each of ``query``'s descriptors' ``NEIGHBOURS`` nearest catalog descriptors.

        ``known``: an earlier search; a descriptor it holds keeps the neighbours found for it
        there (FAISS searches each descriptor on its own, so they are the ones a search would
        find): the dense look's features include many of the plain pass's.
        """
        if len(query) == 0 or self.catalog.descriptor_count == 0:
            empty = np.zeros((len(query), tuning.NEIGHBOURS), np.int64)
            return Searched(query, empty.astype(np.int32), empty - 1)
        # FAISS searches each descriptor on its own; the device search's top-k may order equal
        # distances by the batch, so there every descriptor is searched.
        if self.torch_search or known is None:
            return Searched(query, *self._nearest(query.descriptors))
        rows = _rows_in(query.descriptors, known.features.descriptors)
        if not (rows >= 0).any():
            return Searched(query, *self._nearest(query.descriptors))
        fresh = np.flatnonzero(rows < 0)
        distances = known.distances[np.maximum(rows, 0)]
        ids = known.ids[np.maximum(rows, 0)]
        if len(fresh):
            distances[fresh], ids[fresh] = self._nearest(np.ascontiguousarray(query.descriptors[fresh]))
        return Searched(query, distances, ids)

    def _nearest(self, descriptors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.torch_search:
            return self._device_index().search(descriptors, tuning.NEIGHBOURS)
        return self.catalog.index.search(descriptors, tuning.NEIGHBOURS)

    def _device_index(self) -> TorchHammingIndex:
        """The catalog's codes (and its inverted file's layout) on ``device``, copied there once,
        again if originals were added."""
        index = self._torch_index
        if index is None or index.ntotal != self.catalog.descriptor_count:
            index = self._torch_index = TorchHammingIndex(
                self.catalog.all_descriptors(), self.device, lists=self.catalog.inverted_lists()
            )
        return index

    def verify_voted(
        self, searched: Searched, mirrored: bool, allowed: set[int] | None
    ) -> tuple[list[Verified], list[int]]:
        """RANSAC-verified best-voted originals (among ``allowed`` positions, all when None), and
        the originals with votes, most first."""
        catalog = self.catalog
        query, distances, ids = searched.features, searched.distances, searched.ids
        if len(query) == 0:
            return [], []
        close = (ids >= 0) & (distances <= tuning.MAX_HAMMING)
        query_rows, ranks = np.nonzero(close)
        found = ids[query_rows, ranks]
        found_distance = distances[query_rows, ranks]
        owners = catalog.owners(found)
        if allowed is not None:
            keep = np.isin(owners, list(allowed))
            query_rows, found, found_distance, owners = (
                query_rows[keep],
                found[keep],
                found_distance[keep],
                owners[keep],
            )
        if owners.size == 0:
            return [], []
        # One vote per (query keypoint, original). Only originals with votes are ranked (most
        # first, ties by position): the catalog's size does not enter.
        pair_keys = np.unique(query_rows.astype(np.int64) * len(catalog) + owners)
        positions, counts = np.unique(pair_keys % len(catalog), return_counts=True)
        order = np.argsort(-counts, kind="stable")
        ranked = list(zip(positions[order].tolist(), counts[order].tolist(), strict=True))
        votes = dict(ranked[: tuning.SHORTLIST])
        shortlist = [position for position, count in ranked[: tuning.SHORTLIST] if count >= tuning.MIN_VOTES]
        voted = [position for position, _ in ranked[: tuning.DENSE_CANDIDATES]]
        q_scale = WORKING_SIDE / max(query.width, query.height)
        results = []
        for position in shortlist:
            mask = owners == position
            results.append(
                verify(
                    catalog,
                    position,
                    to_resized(query.points[query_rows[mask]], q_scale),
                    found[mask],
                    found_distance[mask],
                    votes[position],
                    mirrored,
                )
            )
        return results, voted


def _rows_in(descriptors: np.ndarray, known: np.ndarray) -> np.ndarray:
    """For each of ``descriptors`` the row of ``known`` that holds the same code, or -1."""
    codes = np.ascontiguousarray(known).view(f"V{known.shape[1]}").ravel().tolist()
    row_of = dict(zip(codes, range(len(codes)), strict=True))
    wanted = np.ascontiguousarray(descriptors).view(f"V{descriptors.shape[1]}").ravel().tolist()
    return np.fromiter((row_of.get(code, -1) for code in wanted), np.int64, len(wanted))
