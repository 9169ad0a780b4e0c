"""The catalog's binary descriptor index, chosen by the catalog's size.

Four kinds, by the number of 256-bit ORB descriptors ``n`` (about 213 an original):

* below ``SMALL_IVF_FROM``: exact (``IndexBinaryFlat``): every code compared.
* up to ``IVF_FROM``: a small inverted file of ``SMALL_LISTS`` lists, ``SMALL_NPROBE`` of them
  searched: an eighth of the codes instead of all of them, at a recall (of the neighbours within
  ``MAX_HAMMING``) of ~0.93 of the exhaustive search's on a 65-photograph catalog — above the
  ~0.78 of the next kind on dev's 595 originals, with which the matcher is calibrated already.
* up to ``GRAPH_FROM``: an inverted file whose ``√(NPROBE · n)`` k-means lists (at most
  ``MAX_LISTS``) are found by comparing a query code with every list centre, then ``NPROBE`` lists
  searched: ``lists + NPROBE · n / lists`` comparisons a query code, least at ``√(NPROBE · n)``
  lists, so the cost grows as ``√n``.
* from ``LARGE_FROM`` on: an inverted file whose list count follows the catalog
  (``n / CODES_PER_LIST`` lists), so that the ``LARGE_NPROBE`` lists searched hold the same few
  hundred codes at any size, and whose list centres are found through a second, small inverted
  file over the centres themselves (``√(COARSE_NPROBE · lists)`` groups, ``COARSE_NPROBE`` of
  them searched) instead of comparing a query code with every centre. A query code then costs
  about ``2·√(COARSE_NPROBE · n / CODES_PER_LIST) + LARGE_NPROBE · CODES_PER_LIST`` comparisons:
  about 3,000 at 10,000 originals and 4,000 at 100,000, where the first kind would cost 7,000 and
  36,000. The centres are a seeded random sample of the catalog's own codes: they follow its
  density, so lists come out roughly even, and no k-means over tens of thousands of centres has
  to be trained (hours on a small machine); only the few hundred groups are k-means-trained.

Each catalog keeps the index it was built (and calibrated) with; a saved index records its own
kind and probe counts, so older catalogs load as they were built. An inverted file is saved as its
codes in id order, each code's list number (2 bytes; 4 from 65,535 lists) and its quantizer, not
as FAISS writes it (with an 8-byte id a code): the lists are refilled in id order on loading, so
the loaded index holds the same lists in the same order and answers every search as the saved
one did.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

DESCRIPTOR_BITS = 256
CODE_BYTES = DESCRIPTOR_BITS // 8
SMALL_IVF_FROM = 10_000  # descriptors (~47 originals); below this the exact search
SMALL_LISTS = 64
SMALL_NPROBE = 8
IVF_FROM = 60_000  # descriptors; from here the inverted file whose lists follow the catalog
MAX_LISTS = 4096
TRAIN_PER_LIST = 40
NPROBE = 6
# From here (~4,700 originals; 2·√(NPROBE · n) = 4,900 comparisons a code) the two-level inverted file.
LARGE_FROM = 1_000_000
CODES_PER_LIST = 128
LARGE_NPROBE = 6
COARSE_NPROBE = 8
LOAD_CHUNK = 1 << 20  # codes added to a loaded inverted file at a time (32 MB)

#: Names this module's choice of index, for caches of built indexes (changes when a parameter does).
DESIGN = f"small{SMALL_IVF_FROM}-{SMALL_LISTS}x{SMALL_NPROBE}-ivf{IVF_FROM}-{MAX_LISTS}x{NPROBE}-large{LARGE_FROM}-{CODES_PER_LIST}x{LARGE_NPROBE}x{COARSE_NPROBE}"

_FLAT: Any = faiss.IndexBinaryFlat  # isinstance() with it keeps an index Any: faiss's stubs omit .xb


def make_index(descriptors: np.ndarray) -> Any:
    """A filled index of ``descriptors`` ((n, 32) uint8; row i gets id i) of the kind its size calls for."""
    count = len(descriptors)
    descriptors = np.ascontiguousarray(descriptors, dtype=np.uint8).reshape(-1, CODE_BYTES)
    if count >= LARGE_FROM:
        index = _two_level_inverted_file(descriptors)
    elif count >= IVF_FROM:
        index = _inverted_file(descriptors)
    elif count >= SMALL_IVF_FROM:
        index = _inverted_file(descriptors, SMALL_LISTS, SMALL_NPROBE)
    else:
        index = faiss.IndexBinaryFlat(DESCRIPTOR_BITS)
    if count:
        index.add(descriptors)
    return index


def _inverted_file(descriptors: np.ndarray, lists: int | None = None, nprobe: int = NPROBE) -> Any:
    count = len(descriptors)
    # Capped so that training (k-means on a sample of TRAIN_PER_LIST codes per list) stays a
    # matter of seconds to a minute.
    if lists is None:
        lists = int(min(MAX_LISTS, max(64, np.sqrt(NPROBE * count))))
    index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(DESCRIPTOR_BITS), DESCRIPTOR_BITS, lists)
    index.cp.niter = 10
    rng = np.random.default_rng(0)
    sample = descriptors[rng.choice(count, size=min(count, lists * TRAIN_PER_LIST), replace=False)]
    index.train(np.ascontiguousarray(sample))
    index.nprobe = nprobe
    return index


def is_small_inverted_file(index: Any) -> bool:
    """Whether ``index`` is the small inverted file of catalogs under ``IVF_FROM`` codes."""
    return (
        not isinstance(index, _FLAT)
        and index.nlist == SMALL_LISTS
        and index.nprobe == SMALL_NPROBE
        and index.ntotal < IVF_FROM
    )


def outgrown(index: Any, count: int) -> bool:
    """Whether an index built for fewer codes is of a smaller kind than ``count`` codes call for
    (exact, or the small inverted file, past its range): rebuild it then."""
    if isinstance(index, _FLAT):
        return count >= min(SMALL_IVF_FROM, IVF_FROM)
    return count >= IVF_FROM and is_small_inverted_file(index)


def _two_level_inverted_file(descriptors: np.ndarray) -> Any:
    lists = max(MAX_LISTS, len(descriptors) // CODES_PER_LIST)
    rng = np.random.default_rng(0)
    centres = np.ascontiguousarray(descriptors[np.sort(rng.choice(len(descriptors), lists, replace=False))])
    groups = int(max(64, np.sqrt(COARSE_NPROBE * lists)))
    quantizer = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(DESCRIPTOR_BITS), DESCRIPTOR_BITS, groups)
    quantizer.cp.niter = 10
    quantizer.train(centres[rng.choice(lists, size=min(lists, groups * TRAIN_PER_LIST), replace=False)])
    quantizer.add(centres)
    quantizer.nprobe = COARSE_NPROBE
    index = faiss.IndexBinaryIVF(quantizer, DESCRIPTOR_BITS, lists)  # keeps a reference to it
    index.train(centres[:1])  # a no-op: the quantizer already holds its `lists` centres
    index.nprobe = LARGE_NPROBE
    return index


def centres(index: Any) -> np.ndarray | None:
    """An inverted file's list centres ((lists, 32) uint8), whatever finds them; None for an exact index."""
    if isinstance(index, _FLAT):
        return None
    quantizer: Any = faiss.downcast_IndexBinary(index.quantizer)
    if isinstance(quantizer, faiss.IndexBinaryIVF):  # a two-level file: the centres are its codes
        codes = np.zeros((quantizer.ntotal, CODE_BYTES), np.uint8)
        for _, ids, listed in inverted_file(quantizer):
            codes[ids] = listed
        return codes
    flat = faiss.rev_swig_ptr(quantizer.xb.data(), quantizer.ntotal * CODE_BYTES)
    return flat.reshape(-1, CODE_BYTES).copy()


def describe(index: Any) -> str:
    """The index's kind in words: ``exact``, ``inverted file (L lists, P probes)``, or the two-level one."""
    if isinstance(index, _FLAT):
        return "exact"
    quantizer = faiss.downcast_IndexBinary(index.quantizer)
    if isinstance(quantizer, faiss.IndexBinaryIVF):
        return (
            f"two-level inverted file ({index.nlist} lists in {quantizer.nlist} groups,"
            f" {index.nprobe} probes in {quantizer.nprobe} groups)"
        )
    return f"inverted file ({index.nlist} lists, {index.nprobe} probes)"


def extra_bytes_per_code(index: Any) -> float:
    """Memory beyond the 32-byte code a descriptor costs: its 8-byte id in an inverted list and
    its share of the list centres."""
    if isinstance(index, _FLAT):
        return 0.0
    quantizer = faiss.downcast_IndexBinary(index.quantizer)
    per_centre = CODE_BYTES + (8 if isinstance(quantizer, faiss.IndexBinaryIVF) else 0)  # + its id
    return 8.0 + per_centre * index.nlist / max(1, index.ntotal)


def inverted_file(index: Any) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(list number, descriptor ids, (n, 32) codes)`` of each non-empty list of an inverted file."""
    lists = index.invlists
    for number in range(lists.nlist):
        if size := lists.list_size(number):
            ids = faiss.rev_swig_ptr(lists.get_ids(number), size).copy()
            yield (
                number,
                ids,
                faiss.rev_swig_ptr(lists.get_codes(number), size * CODE_BYTES).reshape(-1, CODE_BYTES),
            )


def write(index: Any, directory: Path) -> dict[str, int] | None:
    """Save ``index`` into ``directory``; returns what :func:`read` needs back (None: an exact
    index, written by FAISS as ``features.faiss``). The codes go straight into their file, so
    saving holds no second copy of them."""
    if isinstance(index, _FLAT):
        faiss.write_index_binary(index, str(directory / "features.faiss"))
        return None
    list_dtype = _list_number_type(index.nlist)
    codes = np.lib.format.open_memmap(
        directory / "codes.npy", mode="w+", dtype=np.uint8, shape=(index.ntotal, CODE_BYTES)
    )
    # A code FAISS put in no list (no list centre found for it) keeps the marker and stays out.
    list_of = np.full(index.ntotal, np.iinfo(list_dtype).max, list_dtype)
    for number, ids, listed in inverted_file(index):
        codes[ids] = listed
        list_of[ids] = number
    codes.flush()
    del codes
    np.save(directory / "lists.npy", list_of)
    faiss.write_index_binary(faiss.downcast_IndexBinary(index.quantizer), str(directory / "quantizer.faiss"))
    return {"lists": int(index.nlist), "probes": int(index.nprobe)}


def read(directory: Path, stored: dict[str, int] | None) -> Any:
    """The index :func:`write` saved (``stored``: what it returned), or a catalog's
    ``features.faiss`` as FAISS wrote it (exact indexes, and inverted files of older catalogs).
    The lists are filled a chunk of codes at a time from the memory-mapped files, so loading
    holds little more than the index itself."""
    if stored is None:
        return faiss.read_index_binary(str(directory / "features.faiss"))
    quantizer = faiss.read_index_binary(str(directory / "quantizer.faiss"))
    index = faiss.IndexBinaryIVF(quantizer, DESCRIPTOR_BITS, int(stored["lists"]))  # keeps a reference
    index.nprobe = int(stored["probes"])
    index.is_trained = True  # the quantizer holds the trained centres
    codes = np.load(directory / "codes.npy", mmap_mode="r")
    list_of = np.load(directory / "lists.npy", mmap_mode="r")
    if len(codes) != len(list_of):
        raise ValueError(f"{directory}: {len(codes)} codes but {len(list_of)} list numbers")
    unlisted = np.iinfo(list_of.dtype).max
    for start in range(0, len(codes), LOAD_CHUNK):
        chunk = np.ascontiguousarray(codes[start : start + LOAD_CHUNK])
        numbers = np.asarray(list_of[start : start + LOAD_CHUNK]).astype(np.int64)
        numbers[numbers == unlisted] = -1  # FAISS leaves a code of list -1 out, as when it was added
        ids = np.arange(start, start + len(chunk), dtype=np.int64)
        index.add_core(  # type: ignore[attr-defined]  # not in faiss's stubs
            len(chunk), faiss.swig_ptr(chunk), faiss.swig_ptr(ids), faiss.swig_ptr(numbers)
        )
    return index


def _list_number_type(lists: int) -> type[np.unsignedinteger[Any]]:
    """The narrowest type holding every list number and, above them, the marker of no list."""
    return np.uint16 if lists < 1 << 16 else np.uint32
