"""Hamming nearest neighbours on a torch device: the catalog search of a GPU worker.

The CPU matcher searches the catalog's binary descriptors with a FAISS inverted file: fast on a
CPU core, but approximate, and it leaves a GPU idle. On a GPU the search is cheaper done exactly,
as one matrix product: a 256-bit code as a vector of ±1 has dot product ``256 - 2 * hamming``
with another, so every query-catalog distance of a batch comes out of one GEMM (a 400-descriptor
query against 2.1 M codes is ~0.2 TFLOP of half precision, a millisecond or so on a data-centre
GPU). The codes stay packed on the device (32 bytes each, 68 MB for a 10,000-original catalog)
and are unpacked to ±1 one chunk at a time.
The same code runs on the CPU (in float32), which is how the tests check it; there it is slower
than FAISS and not used.

Exact is not what the catalog was calibrated with, though: a catalog large enough for FAISS's
inverted file is calibrated on that file's answers, and an exact search finds more
correspondences for copies and look-alikes alike (on dev, 10 innocent listings over the 0.8
alert threshold instead of 9). So given the inverted file's layout — each code's list, the
lists' centres, the number of lists probed — the search is restricted the way FAISS restricts
it: each query code is compared only with the codes of its ``nprobe`` nearest lists, and finds
the neighbours FAISS finds (up to the order of equally distant codes and lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

import numpy as np

BITS = 256
CODE_BYTES = BITS // 8
# Catalog codes multiplied at a time: bounds the unpacked chunk (128 MB in half precision) and the
# (queries x chunk) score matrix (~0.5 GB for the dense look's 1,000 descriptors).
CHUNK = 1 << 18


@dataclass(frozen=True)
class InvertedLists:
    """An inverted file's layout, to search as it does (see the module's docstring)."""

    list_of: np.ndarray  # (n,) int: the list holding each catalog code
    centres: np.ndarray  # (lists, 32) uint8: the lists' centres
    nprobe: int  # lists searched per query code


class TorchHammingIndex:
    """k-nearest neighbours of 256-bit codes by Hamming distance, on ``device``: exact, or within
    the lists an inverted file would probe.

    Args:
        codes: (n, 32) uint8 catalog codes; code i gets id i.
        device: a torch device (``cuda``, ``cuda:1``, ``cpu``).
        chunk: catalog codes per matrix product.
        lists: search as this inverted file does (None: every code is a candidate).

    Example:
        >>> index = TorchHammingIndex(codes, "cuda")
        >>> distances, ids = index.search(query_codes, 2)  # like FAISS's IndexBinary.search
    """

    def __init__(
        self,
        codes: np.ndarray,
        device: str = "cuda",
        chunk: int = CHUNK,
        lists: InvertedLists | None = None,
    ) -> None:
        import torch

        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, CODE_BYTES)
        self.device = torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.chunk = chunk
        self.ntotal = len(codes)
        self._codes = torch.from_numpy(codes).to(self.device)
        # np.unpackbits order: the most significant bit of each byte first.
        self._shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=self.device)
        # Set for a search restricted as an inverted file's:
        self._centres: torch.Tensor | None = None
        self._list_of: torch.Tensor | None = None
        self._nprobe = 0
        if lists is not None:
            centres = torch.from_numpy(np.ascontiguousarray(lists.centres, dtype=np.uint8)).to(self.device)
            self._centres = self._signs(centres)
            self._list_of = torch.from_numpy(np.asarray(lists.list_of, dtype=np.int64)).to(self.device)
            self._nprobe = min(lists.nprobe, len(centres))

    def _signs(self, codes):  # noqa: ANN001, ANN202 - torch.Tensor in and out (torch imported lazily)
        """(n, 32) uint8 codes on the device as (n, 256) ±1 vectors of ``dtype``."""
        bits = (codes.unsqueeze(2) >> self._shifts) & 1
        return bits.reshape(len(codes), BITS).to(self.dtype) * 2 - 1

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest catalog codes of each query code.

        Returns:
            ``(distances, ids)``, both (m, k): int32 Hamming distances ascending, int64 ids;
            where the catalog holds fewer than ``k`` codes the rest are id -1 (FAISS's convention).
        """
        import torch

        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, CODE_BYTES)
        count = len(queries)
        distances = np.full((count, k), np.iinfo(np.int32).max, np.int32)
        ids = np.full((count, k), -1, np.int64)
        if count == 0 or self.ntotal == 0:
            return distances, ids
        best_dots, best_ids = [], []
        with torch.no_grad():
            signs = self._signs(torch.from_numpy(queries).to(self.device))
            probed = self._probed(signs)
            for start in range(0, self.ntotal, self.chunk):
                dots = signs @ self._signs(self._codes[start : start + self.chunk]).T
                if (
                    probed is not None and self._list_of is not None
                ):  # codes outside a query's probed lists are no candidates
                    allowed = probed.gather(1, self._list_of[start : start + self.chunk].expand(count, -1))
                    dots = dots.masked_fill(~allowed, -(BITS + 1))
                top = dots.topk(min(k, dots.shape[1]), dim=1)
                best_dots.append(top.values)
                best_ids.append(top.indices + start)
            dots, found = torch.cat(best_dots, dim=1), torch.cat(best_ids, dim=1)
            top = dots.topk(min(k, dots.shape[1]), dim=1)
            chosen = found.gather(1, top.indices)
        values = top.values.float().round().cpu().numpy()
        # Dot products of ±1 vectors are exact integers in float16 (|dot| <= 256 < 2048); a masked
        # code (below -256) is no neighbour.
        real = values >= -BITS
        kept = values.shape[1]
        distances[:, :kept] = np.where(real, (BITS - values) / 2, distances[:, :kept]).astype(np.int32)
        ids[:, :kept] = np.where(real, chosen.cpu().numpy(), -1)
        return distances, ids

    def _probed(self, signs):  # noqa: ANN001, ANN202 - torch.Tensor in and out
        """(queries, lists) bool: the lists each query code searches; None without lists."""
        if self._centres is None:
            return None
        nearest = (signs @ self._centres.T).topk(self._nprobe, dim=1).indices
        probed = signs.new_zeros((len(signs), len(self._centres)), dtype=bool)
        return probed.scatter_(1, nearest, True)
