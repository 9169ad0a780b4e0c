"""The GPU worker's exact catalog search, checked on the CPU against FAISS's exact index."""

from __future__ import annotations

import cv2
import faiss
import numpy as np

from detection.catalog import Catalog
from detection.hamming_torch import TorchHammingIndex
from detection.matcher import Matcher
from tests.detection.drawing import product_image


def _codes(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 32), dtype=np.uint8)


def test_distances_equal_faiss_exact_search_across_chunks() -> None:
    catalog = _codes(1000, 1)
    # Queries near some catalog codes (a few bits flipped) and unrelated ones.
    near = catalog[[3, 500, 999]].copy()
    near[:, 0] ^= 0b1011
    queries = np.vstack([near, _codes(20, 2)])
    exact = faiss.IndexBinaryFlat(256)
    exact.add(catalog)
    want_distances, want_ids = exact.search(queries, 3)
    distances, ids = TorchHammingIndex(catalog, "cpu", chunk=128).search(queries, 3)
    assert distances.dtype == np.int32 and ids.dtype == np.int64
    assert (distances == want_distances).all()
    assert ids[:3, 0].tolist() == [3, 500, 999] and distances[:3, 0].tolist() == [3, 3, 3]
    # Where distances tie, either order is right; the ids found must sit at those distances.
    found = np.unpackbits(catalog[ids] ^ queries[:, None, :], axis=2).sum(axis=2)
    assert (found == distances).all()


def test_fewer_codes_than_neighbours_asked_and_empty_inputs() -> None:
    distances, ids = TorchHammingIndex(_codes(1, 3), "cpu").search(_codes(2, 4), 2)
    assert ids[:, 0].tolist() == [0, 0] and ids[:, 1].tolist() == [-1, -1]
    assert (distances[:, 1] == np.iinfo(np.int32).max).all()
    empty_distances, empty_ids = TorchHammingIndex(_codes(5, 5), "cpu").search(np.zeros((0, 32), np.uint8), 2)
    assert empty_distances.shape == empty_ids.shape == (0, 2)
    assert (TorchHammingIndex(np.zeros((0, 32), np.uint8), "cpu").search(_codes(1, 6), 2)[1] == -1).all()


def test_the_matcher_finds_the_same_originals_with_the_exact_torch_search() -> None:
    catalog = Catalog.build((f"sku-{i}", product_image(i)) for i in range(10))
    faiss_matcher, torch_matcher = Matcher(catalog), Matcher(catalog, torch_search=True)
    queries = [
        product_image(2)[40:300],
        cv2.flip(product_image(5), 1),
        cv2.resize(product_image(7), None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA),
    ]
    for query, truth in zip(queries, ["sku-2", "sku-5", "sku-7"], strict=True):
        with_faiss, with_torch = faiss_matcher.match(query, k=1)[0], torch_matcher.match(query, k=1)[0]
        assert with_faiss.original_id == with_torch.original_id == truth
        assert with_torch.score > 0.9
    # An original added later is searched too: the codes on the device are refreshed.
    catalog.add("new", product_image(40))
    assert torch_matcher.match(product_image(40)[:260], k=1)[0].original_id == "new"


def test_a_cuda_matcher_searches_with_torch_and_a_cpu_one_with_faiss() -> None:
    catalog = Catalog.build((f"sku-{i}", product_image(i)) for i in range(2))
    assert Matcher(catalog, device="cuda")._torch_search  # nothing touches the GPU until a search
    assert not Matcher(catalog)._torch_search and not Matcher(catalog, device="cpu")._torch_search
