"""Train the shape classifier (:mod:`.shape_model`) on generated marks, on the CPU in minutes.

Marks come from the development typefaces and mark generators only (the held-out ones stay
unseen, so ``make-logo --fonts holdout --generators holdout`` measures generalisation), drawn in
both scene styles and measured by the same :func:`detection.logo.locate.locate` the check uses,
so the network learns from the masks the check will really see.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from detection.logo.bench import sample_logo, select_generators
from detection.logo.fonts import DEFAULT_HOLDOUT_FONTS, select_fonts
from detection.logo.locate import locate
from detection.logo.marks import DEFAULT_HOLDOUT_GENERATORS
from detection.logo.shape import SHAPES, shape_features
from detection.logo.shape_model import MODEL_PATH, ShapeModel, train


def collect(
    n: int, seed: int, holdout_fonts=DEFAULT_HOLDOUT_FONTS, holdout_generators=DEFAULT_HOLDOUT_GENERATORS
):  # noqa: ANN001, ANN201
    """Feature rows and class indices of ``n`` generated logo photos (those where a mark is found)."""
    rng = np.random.default_rng(seed)
    fonts = select_fonts("dev", holdout_fonts)
    generators = select_generators("dev", holdout_generators)
    rows: list[dict[str, float]] = []
    labels: list[int] = []
    for i in range(n):
        image, truth = sample_logo(i, rng, generators, fonts, "mixed", no_logo_every=0)
        located = locate(image)
        if located is None:
            continue
        features = shape_features(located.shape_inputs[0])
        if features:
            rows.append(features)
            labels.append(SHAPES.index(truth["shape"]))
    return rows, np.array(labels)


def train_shape_model(n: int = 2400, seed: int = 7, out: Path = MODEL_PATH, log=print) -> ShapeModel:  # noqa: ANN001
    started = time.monotonic()
    rows, labels = collect(n, seed)
    names = tuple(sorted(rows[0]))
    x = np.array([[r.get(name, 0.0) for name in names] for r in rows])
    log(f"{len(rows)} marks measured in {time.monotonic() - started:.0f} s")
    order = np.random.default_rng(seed).permutation(len(rows))
    cut = int(len(order) * 0.85)
    fit, check = order[:cut], order[cut:]
    model = train(x[fit], labels[fit], names, SHAPES)
    right = sum(model.predict(rows[i]) == SHAPES[labels[i]] for i in check)
    log(
        f"validation accuracy (same generators and fonts): {100.0 * right / max(len(check), 1):.1f} % of {len(check)}"
    )
    model = train(x, labels, names, SHAPES)
    model.save(out)
    log(f"model written to {out} in {time.monotonic() - started:.0f} s")
    return model


if __name__ == "__main__":  # pragma: no cover
    import sys

    train_shape_model(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
