"""Exact Hamming nearest neighbours on a torch device: the catalog search of a GPU worker.

The CPU matcher searches the catalog's binary descriptors with a FAISS inverted file: fast on a
CPU core, but approximate, and it leaves a GPU idle. On a GPU the search is cheaper done exactly,
as one matrix product: a 256-bit code as a vector of ±1 has dot product ``256 - 2 * hamming``
with another, so every query-catalog distance of a batch comes out of one GEMM (a 400-descriptor
query against 2.1 M codes is ~0.2 TFLOP of half precision, a millisecond or so on a data-centre
GPU). The codes stay packed on the device (32 bytes each, 68 MB for a 10,000-original catalog)
and are unpacked to ±1 one chunk at a time.
The same code runs on the CPU (in float32), which is how the tests check it; there it is slower
than FAISS and not used.
"""

from __future__ import annotations

import numpy as np

BITS = 256
CODE_BYTES = BITS // 8
# Catalog codes multiplied at a time: bounds the unpacked chunk (128 MB in half precision) and the
# (queries x chunk) score matrix (~0.5 GB for the dense look's 1,000 descriptors).
CHUNK = 1 << 18


class TorchHammingIndex:
    """Exact k-nearest neighbours of 256-bit codes by Hamming distance, on ``device``.

    Args:
        codes: (n, 32) uint8 catalog codes; code i gets id i.
        device: a torch device (``cuda``, ``cuda:1``, ``cpu``).
        chunk: catalog codes per matrix product.

    Example:
        >>> index = TorchHammingIndex(codes, "cuda")
        >>> distances, ids = index.search(query_codes, 2)  # like FAISS's IndexBinary.search
    """

    def __init__(self, codes: np.ndarray, device: str = "cuda", chunk: int = CHUNK) -> None:
        import torch

        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, CODE_BYTES)
        self.device = torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.chunk = chunk
        self.ntotal = len(codes)
        self._codes = torch.from_numpy(codes).to(self.device)
        # np.unpackbits order: the most significant bit of each byte first.
        self._shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=self.device)

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
            for start in range(0, self.ntotal, self.chunk):
                dots = signs @ self._signs(self._codes[start : start + self.chunk]).T
                top = dots.topk(min(k, dots.shape[1]), dim=1)
                best_dots.append(top.values)
                best_ids.append(top.indices + start)
            dots, found = torch.cat(best_dots, dim=1), torch.cat(best_ids, dim=1)
            top = dots.topk(min(k, dots.shape[1]), dim=1)
            chosen = found.gather(1, top.indices)
        kept = top.values.shape[1]
        # Dot products of ±1 vectors are exact integers in float16 (|dot| <= 256 < 2048).
        distances[:, :kept] = ((BITS - top.values.float().round()) / 2).to(torch.int32).cpu().numpy()
        ids[:, :kept] = chosen.cpu().numpy()
        return distances, ids
