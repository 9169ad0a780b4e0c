"""The benchmark format: reading it, and making one from any folder of images."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from detection.imageio import load_image
from detection.related_artwork import variants_of_catalog

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def read_image(path: str | Path) -> np.ndarray:
    """Read one image as BGR uint8, as the matcher reads a listing image.

    Raises:
        detection.imageio.InvalidImageError: (a ValueError) not a readable image.
    """
    return load_image(path, min_side=1)  # a benchmark never refuses a small query


def read_images(directory: str | Path, ids: set[str] | None = None) -> dict[str, np.ndarray]:
    """``{file stem: BGR image}`` for the images of ``directory`` (only ``ids`` when given), sorted."""
    paths = sorted(p for p in Path(directory).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return {p.stem: read_image(p) for p in paths if ids is None or p.stem in ids}


#: Edit families given to in-catalog originals (crop_strip is made separately, the seed's way).
QUERY_FAMILIES = (
    "crop_random",
    "hflip",
    "rotate",
    "scale_down",
    "jpeg",
    "color",
    "text_overlay",
    "insert",
    "border",
    "combo",
)
#: Stronger edits, added with ``strong=True`` (``copywatch bench make --strong``).
STRONG_FAMILIES = (
    "perspective",
    "stretch",
    "watermark",
    "blur_noise",
    "low_res",
    "small_insert",
    "tight_crop",
    "rotate_big",
    "mirror_combo",
)
SEED_CANDIDATES = 101
QUERY_JPEG_QUALITY = 88


def _write(path: Path, image: np.ndarray, quality: int = QUERY_JPEG_QUALITY) -> None:
    if path.suffix == ".png":
        ok = cv2.imwrite(str(path), image)
    else:
        ok = cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"cannot write {path}")


def make_benchmark(
    originals_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 11,
    holdout_fraction: float = 0.15,
    strip_originals: int = 300,
    per_family: int = 30,
    distractors_per_family: int = 25,
    strong: bool = False,
    families: Sequence[str] | None = None,
    keep_variants: bool = False,
    progress: bool = False,
) -> dict[str, int]:
    """Build a benchmark (docs/formats.md) from any folder of product images.

    ``holdout_fraction`` of the images are held back as not-in-catalog material (distractors). Up
    to ``strip_originals`` catalog originals give the seed's three strips each (``crop_strip``,
    with 101 candidates in ``seed_candidates.csv``, fewer when the catalog is smaller); each edit
    family of :mod:`detection.augment` gets ``per_family`` in-catalog queries and up to
    ``distractors_per_family`` held-back ones (plus held-back images left as they are, and single
    strips). Query ids are shuffled so they do not reveal the original.

    Args:
        originals_dir: folder of images (file stems become original ids).
        out_dir: benchmark folder to create (must be empty or missing).
        seed: random seed (everything is reproducible from it).
        holdout_fraction: share of images held back as distractors.
        strip_originals: originals cut into the seed's strips.
        per_family: in-catalog queries per edit family.
        distractors_per_family: not-in-catalog queries per edit family (and for ``none``, ``crop_strip1``).
        strong: add the stronger families of :data:`STRONG_FAMILIES`.
        families: the edit families to draw instead (``strong`` then adds nothing); a family may
            chain several with ``+`` (:func:`detection.augment.apply_edit`), e.g.
            ``hflip+small_insert``.
        keep_variants: draw not-in-catalog material also from held-back images that are
            variants of a catalog original (:mod:`detection.related_artwork`); by default they
            are left out (neither distractors nor pasted beside a copy).
        progress: show a tqdm bar.

    Returns:
        ``{"originals": n, "queries": n, "distractors": n, "variants_left_out": n}``.
    """
    from detection.augment import apply_edit, crop_strip, edit_steps
    from detection.progress import progress_bar

    if families is not None:
        families = tuple(dict.fromkeys(families))  # each once, in the order given
        if not families or any(not edit_steps(family) for family in families):
            raise ValueError("families: name at least one edit family, and not 'none'")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    images = read_images(originals_dir)
    if len(images) < 4:
        raise ValueError(f"{originals_dir}: need at least 4 images, found {len(images)}")
    rng = np.random.default_rng(seed)
    ids = list(images)
    order = [ids[i] for i in rng.permutation(len(ids))]
    n_holdout = max(1, int(round(len(ids) * holdout_fraction)))
    held_back, catalog = sorted(order[:n_holdout]), sorted(order[n_holdout:])
    variants: set[str] = set()
    if not keep_variants:
        variants = variants_of_catalog(
            {oid: images[oid] for oid in catalog}, {oid: images[oid] for oid in held_back}
        )
        held_back = [oid for oid in held_back if oid not in variants]
        if not held_back:
            raise ValueError("every held-back image is a variant of a catalog original")
    (out / "originals").mkdir(parents=True)
    (out / "queries").mkdir()
    for oid in catalog:
        _write(out / "originals" / f"{oid}.jpg", images[oid], quality=92)

    # (original_id or None, transform, image)
    queries: list[tuple[str | None, str, np.ndarray]] = []
    strip_owners = [catalog[i] for i in rng.permutation(len(catalog))[: min(strip_originals, len(catalog))]]
    for oid in strip_owners:
        for index in range(3):
            queries.append((oid, "crop_strip", crop_strip(images[oid], rng, index=index)))

    def others(exclude: str) -> list[np.ndarray]:
        pool = [k for k in held_back if k != exclude]
        return [images[pool[int(i)]] for i in rng.permutation(len(pool))[:2]]

    if families is None:
        families = QUERY_FAMILIES + (STRONG_FAMILIES if strong else ())
    jobs = [
        (catalog[int(rng.integers(0, len(catalog)))], family, True)
        for family in families
        for _ in range(per_family)
    ]
    for family in (*families, "none", "crop_strip1"):
        jobs += [
            (held_back[int(rng.integers(0, len(held_back)))], family, False)
            for _ in range(distractors_per_family)
        ]
    for oid, family, in_catalog in progress_bar(jobs, desc="edits", enabled=progress):
        if family == "crop_strip1":
            edited = crop_strip(images[oid], rng, index=int(rng.integers(0, 3)))
        else:
            edited = apply_edit(family, images[oid], rng, others=others(oid))
        queries.append((oid if in_catalog else None, family, edited))

    shuffled = rng.permutation(len(queries))
    truth_rows, seed_rows = [], []
    for number, position in enumerate(shuffled):
        oid, family, image = queries[int(position)]
        qid = f"q{number:06d}"
        # jpeg queries keep their own compression: re-encoding at 88 would hide the edit's quality.
        own_compression = family.split("+")[-1] == "jpeg"
        _write(out / "queries" / (f"{qid}.png" if own_compression else f"{qid}.jpg"), image)
        truth_rows.append((qid, oid or "", family))
        if family == "crop_strip" and oid is not None:
            pool = [k for k in catalog if k != oid]
            picked = [pool[int(i)] for i in rng.permutation(len(pool))[: SEED_CANDIDATES - 1]] + [oid]
            seed_rows.append((qid, " ".join(picked[int(i)] for i in rng.permutation(len(picked)))))
    truth_rows.sort()
    with open(out / "truth.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_id", "original_id", "transform"])
        writer.writerows(truth_rows)
    with open(out / "seed_candidates.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query_id", "candidates"])
        writer.writerows(sorted(seed_rows))
    distractors = sum(1 for _, oid, _ in truth_rows if not oid)
    return {
        "originals": len(catalog),
        "queries": len(truth_rows),
        "distractors": distractors,
        "variants_left_out": len(variants),
    }
