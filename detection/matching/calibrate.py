"""A catalog's score calibration, measured by the matcher (:mod:`detection.calibration`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import numpy as np

from detection.calibration import Calibration
from detection.catalog import CALIBRATION_SAMPLES, Catalog
from detection.matching.matcher import Matcher
from detection.progress import progress_bar

log = logging.getLogger(__name__)


def calibrate(
    catalog: Catalog,
    images: Mapping[int, np.ndarray] | None = None,
    progress: bool = False,
    *,
    samples: int = CALIBRATION_SAMPLES,
    seed: int = 0,
) -> Calibration:
    """The null distribution of evidence, by leave-one-out queries of sampled originals.

    Args:
        catalog: the catalog to calibrate (not changed).
        images: originals' pixels by position. Each is matched, exactly like a listing image,
            against the catalog without itself: the best evidence it gets is what a
            catalog-like image that copies nothing gets. Without pixels, ``samples`` originals'
            stored features stand in and the null counts raw inliers (an upper bound).
        progress: show a progress bar.
        samples: originals to sample when ``images`` is not given.
        seed: sampling seed.

    Returns:
        The fitted :class:`Calibration` (the default one for catalogs under 3 originals).
    """
    if len(catalog) < 3:
        return Calibration.default()
    matcher = Matcher(catalog.for_calibration())
    ids = catalog.ids()
    null: list[float] = []
    if images:
        for position, image in progress_bar(images.items(), desc="calibrating scores", enabled=progress):
            null.append(matcher.best_other_evidence(image, exclude=ids[position]))
    else:
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(catalog), size=min(samples, len(catalog)), replace=False)
        for position in progress_bar(chosen, desc="calibrating scores", enabled=progress, unit="img"):
            query = matcher.features_of_original(int(position))
            null.append(matcher.best_other_inliers(query, exclude=ids[int(position)]))
    calibration = Calibration.fit(null)
    log.info(
        "calibration: null evidence median %.1f, tail from %.1f scale %.2f",
        float(np.median(null)),
        calibration.tail_start,
        calibration.tail_scale,
    )
    return calibration


def build_catalog(items: Iterable[tuple[str, np.ndarray]], progress: bool = False) -> Catalog:
    """Index ``(original_id, BGR image)`` pairs and calibrate the scores (:func:`calibrate`)."""
    return Catalog.build(items, progress=progress, calibrator=calibrate)
