"""The GPU worker's catalog search, checked on the CPU against FAISS (exact and inverted file)."""

from __future__ import annotations

import cv2
import faiss
import numpy as np

from detection.hamming_torch import TorchHammingIndex
from detection.matching import Matcher, build_catalog
from tests.support.images import product_image


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


def test_the_matcher_finds_the_same_originals_with_the_torch_search() -> None:
    catalog = build_catalog((f"sku-{i}", product_image(i)) for i in range(10))
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
    catalog = build_catalog((f"sku-{i}", product_image(i)) for i in range(2))
    assert Matcher(catalog, device="cuda").search.torch_search  # nothing touches the GPU until a search
    assert not Matcher(catalog).search.torch_search and not Matcher(catalog, device="cpu").search.torch_search


def test_with_an_inverted_files_layout_only_the_probed_lists_are_searched() -> None:
    from detection.hamming_torch import InvertedLists

    centres = np.vstack([np.zeros((1, 32), np.uint8), np.full((1, 32), 255, np.uint8)])
    codes = np.vstack([np.zeros((1, 32), np.uint8), np.full((1, 32), 255, np.uint8)])
    codes[0, 0] = 0b1111  # 4 bits from centre 0
    query = np.full((1, 32), 255, np.uint8)
    query[0, :2] = 0  # nearer centre 1 (16 bits) than centre 0 (240)
    lists = InvertedLists(np.array([0, 1]), centres, nprobe=1)
    distances, ids = TorchHammingIndex(codes, "cpu", lists=lists).search(query, 2)
    assert ids[0].tolist() == [1, -1] and distances[0, 0] == 16  # code 0's list is not probed
    assert TorchHammingIndex(codes, "cpu").search(query, 2)[1][0].tolist() == [1, 0]


def test_a_large_catalogs_inverted_file_is_searched_as_faiss_does(monkeypatch) -> None:  # noqa: ANN001
    import detection.catalog_index as catalog_index

    monkeypatch.setattr(catalog_index, "IVF_FROM", 500)  # an inverted file on a small catalog
    catalog = build_catalog((f"sku-{i}", product_image(i)) for i in range(10))
    lists = catalog.inverted_lists()
    assert lists is not None and len(lists.list_of) == catalog.descriptor_count
    queries = catalog.all_descriptors()[::7].copy()
    queries[:, 3] ^= 0b101  # near, not equal, to catalog codes
    want, _ = catalog.index.search(queries, 2)
    distances, ids = TorchHammingIndex(catalog.all_descriptors(), "cpu", lists=lists).search(queries, 2)
    assert (distances == want).mean() > 0.95  # the rest: ties between equally near lists
    assert (distances[:, 0] == 2).mean() > 0.95
    query = product_image(6)[30:280]
    found = Matcher(catalog, torch_search=True).match(query, k=1)[0]
    assert found.original_id == Matcher(catalog).match(query, k=1)[0].original_id == "sku-6"
