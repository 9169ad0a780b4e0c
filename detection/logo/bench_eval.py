"""The evaluation of a logo benchmark written by :func:`detection.logo.bench.make_logo_benchmark`:
the logo check on every image, scored against truth.csv (the logo report of docs/formats.md)."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from pathlib import Path

import cv2

from detection.imageio import read_bgr
from detection.logo.check import check
from detection.logo.position import POSITIONS
from detection.logo.shape import SHAPES


def _accuracy(counts: dict[str, list[int]]) -> dict[str, dict[str, float]]:
    return {
        key: {"images": total, "accuracy": round(100.0 * right / max(total, 1), 2)}
        for key, (right, total) in sorted(counts.items())
    }


def evaluate_logo_benchmark(bench_dir: str | Path, limit: int | None = None) -> dict:
    """Run the check on every image; the logo report of docs/formats.md plus per-class breakdowns.

    Besides the DESIGN keys: ``shape_confusion`` (truth → found), ``position_by_class`` and
    ``shape_by_position`` ({"images", "accuracy"} per key), and, when truth.csv names them,
    ``shape_by_font``, ``shape_by_generator``, ``position_by_style``.
    """
    bench = Path(bench_dir)
    with (bench / "truth.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:limit]
    confusion: dict[str, Counter] = {p: Counter() for p in POSITIONS}
    shape_confusion: dict[str, Counter] = {s: Counter() for s in SHAPES}
    breakdown: dict[str, dict[str, list[int]]] = {
        k: {}
        for k in (
            "position_by_class",
            "shape_by_position",
            "shape_by_font",
            "shape_by_generator",
            "position_by_style",
            "position_by_generator",
        )  # fmt: skip
    }

    def tally(table: str, key: str, right: bool) -> None:
        if key:
            entry = breakdown[table].setdefault(key, [0, 0])
            entry[0] += int(right)
            entry[1] += 1

    correct_position = positioned = correct_shape = shaped = 0
    counterfeit_hits = counterfeits = false_alarms = genuines = 0
    elapsed = 0.0
    cv2.setNumThreads(1)
    for row in rows:
        path = next(bench.glob(f"images/{row['image_id']}.*"))
        image = read_bgr(path)
        started = time.thread_time()  # CPU time of this thread: what one core spends, whatever else runs
        verdict = check(image)
        elapsed += time.thread_time() - started
        if row["position"]:
            positioned += 1
            predicted = verdict.position or "none"
            confusion[row["position"]][predicted] += 1
            position_right = predicted == row["position"]
            correct_position += position_right
            tally("position_by_class", row["position"], position_right)
            tally("position_by_style", row.get("style", ""), position_right)
            tally("position_by_generator", row.get("generator", ""), position_right)
        if row["shape"]:
            shaped += 1
            found_shape = verdict.shape or "none"
            shape_confusion.setdefault(row["shape"], Counter())[found_shape] += 1
            shape_right = found_shape == row["shape"]
            correct_shape += shape_right
            tally("shape_by_position", row["position"], shape_right)
            tally("shape_by_font", row.get("font", "") or ("(emblem)" if "font" in row else ""), shape_right)
            tally("shape_by_generator", row.get("generator", ""), shape_right)
        if row["verdict"] == "counterfeit":
            counterfeits += 1
            counterfeit_hits += verdict.suspicious
        elif row["verdict"] == "genuine":
            genuines += 1
            false_alarms += verdict.suspicious
    report: dict = {
        "images": len(rows),
        "position_accuracy": round(100.0 * correct_position / max(positioned, 1), 2),
        "confusion": {truth: dict(counts) for truth, counts in confusion.items()},
        "counterfeit_recall": round(100.0 * counterfeit_hits / max(counterfeits, 1), 2),
        "false_alarm_rate": round(100.0 * false_alarms / max(genuines, 1), 2),
        "shape_accuracy": round(100.0 * correct_shape / max(shaped, 1), 2),
        "ms_per_image": round(1000.0 * elapsed / max(len(rows), 1), 2),
        "shape_confusion": {truth: dict(counts) for truth, counts in shape_confusion.items()},
    }
    for table, counts in breakdown.items():
        if counts:
            report[table] = _accuracy(counts)
    return report


if __name__ == "__main__":  # pragma: no cover - quick manual check
    import sys

    from detection.logo.bench import make_logo_benchmark

    print(json.dumps(evaluate_logo_benchmark(make_logo_benchmark(sys.argv[1], int(sys.argv[2])))))
