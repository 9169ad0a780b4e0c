"""Benchmark protocols (docs/formats.md, "Retrieval benchmark"): seed, catalog, alerting and cost.

Every method sits behind :class:`RetrievalMethod`, so ``copywatch eval --method`` swaps them and
all are measured in the same process, on the same data, with the same maths.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from detection.at_thresholds import Thresholds, at_thresholds, format_at_thresholds
from detection.benchmark import IMAGE_SUFFIXES, read_image

SEED_KS = (1, 5, 10, 20)
CATALOG_KS = (1, 5, 10)
#: Alerting false-alarm budgets: (fraction of not-in-catalog queries, JSON suffix).
FALSE_ALARM_BUDGETS = ((0.01, "1pct"), (0.001, "0_1pct"))

log = logging.getLogger(__name__)


@runtime_checkable
class RetrievalMethod(Protocol):
    """A way to find which original a query image was taken from."""

    name: str

    def build(self, originals: dict[str, np.ndarray]) -> None:
        """Index the catalog (``{original_id: BGR image}``)."""

    def rank(
        self, query: np.ndarray, k: int, candidates: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """Up to ``k`` ``(original_id, score)`` best first; only ``candidates`` when given."""

    def index_bytes(self) -> int:
        """Bytes the built index holds (what a worker keeps in memory or on disk)."""


@dataclass
class Benchmark:
    """A benchmark folder: image paths, the truth and the seed protocol's candidate lists."""

    root: Path
    originals: dict[str, Path]
    queries: dict[str, Path]
    truth: dict[str, tuple[str | None, str]]  # query_id -> (original_id or None, transform)
    seed_candidates: dict[str, list[str]] = field(default_factory=dict)


def _images_in(directory: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(directory.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def load_benchmark(root: str | Path, limit: int | None = None) -> Benchmark:
    """Read a benchmark folder; ``limit`` keeps the first ``limit`` queries (ids are shuffled).

    Args:
        root: folder with ``originals/``, ``queries/``, ``truth.csv`` and ``seed_candidates.csv``.
        limit: evaluate only this many queries (all originals stay in the catalog).

    Returns:
        :class:`Benchmark`.
    """
    root = Path(root)
    originals = _images_in(root / "originals")
    queries = _images_in(root / "queries")
    truth: dict[str, tuple[str | None, str]] = {}
    with open(root / "truth.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["query_id"] in queries:
                truth[row["query_id"]] = (row["original_id"] or None, row["transform"])
    missing = [q for q, (o, _) in truth.items() if o is not None and o not in originals]
    if missing:
        raise ValueError(f"{root}: truth names originals that are not in originals/: {missing[:3]}")
    kept = sorted(truth)[:limit] if limit else sorted(truth)
    seed: dict[str, list[str]] = {}
    seed_path = root / "seed_candidates.csv"
    if seed_path.exists():
        with open(seed_path, newline="") as handle:
            for row in csv.DictReader(handle):
                seed[row["query_id"]] = row["candidates"].split()
    kept_set = set(kept)
    return Benchmark(
        root,
        originals,
        {q: queries[q] for q in kept},
        {q: truth[q] for q in kept},
        {q: c for q, c in seed.items() if q in kept_set},
    )


def rank_of(ranking: Sequence[tuple[str, float]], original_id: str) -> int | None:
    """1-based position of ``original_id`` in ``ranking``, or None when absent."""
    for position, (candidate, _) in enumerate(ranking, start=1):
        if candidate == original_id:
            return position
    return None


def top_k_accuracy(ranks: Sequence[int | None], ks: Sequence[int]) -> dict[str, float]:
    """Percent of queries whose true original is within the first ``k``, for each ``k``.

    Args:
        ranks: 1-based rank of the true original per query (None: not returned).
        ks: cut-offs.

    Returns:
        ``{"top1": %, "top5": %, ...}`` (0 when there are no queries).
    """
    n = len(ranks)
    return {
        f"top{k}": (100.0 * sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0) for k in ks
    }


def alert_threshold(distractor_scores: Sequence[float], false_alarm_rate: float) -> float:
    """Lowest score threshold at which at most ``false_alarm_rate`` of distractors score at or above it.

    Args:
        distractor_scores: top-1 score of each not-in-catalog query.
        false_alarm_rate: allowed fraction, e.g. 0.01.

    Returns:
        The threshold (``-inf`` when every distractor may alarm, or there are none).
    """
    scores = np.sort(np.asarray(distractor_scores, dtype=np.float64))[::-1]
    allowed = _allowed_alarms(false_alarm_rate, len(scores))
    if allowed >= len(scores):
        return float("-inf")
    # Just above the (allowed+1)-th highest score: that one and all below it stay silent.
    return float(np.nextafter(scores[allowed], np.inf))


def _allowed_alarms(false_alarm_rate: float, distractors: int) -> int:
    """How many of ``distractors`` not-in-catalog queries may alarm within the budget."""
    return math.floor(false_alarm_rate * distractors + 1e-9)


def threshold_setters(outcomes: Sequence[QueryOutcome]) -> dict[str, QueryOutcome]:
    """For each false-alarm budget (by JSON suffix), the not-in-catalog query whose top score the
    alert threshold sits just above: the look-alike a user must look at to understand why recall
    at that budget is what it is. A budget that allows every distractor to alarm has none."""
    distractors = [o for o in outcomes if o.original_id is None]
    by_score = sorted(distractors, key=_top_score, reverse=True)
    setters = {}
    for rate, suffix in FALSE_ALARM_BUDGETS:
        allowed = _allowed_alarms(rate, len(by_score))
        if allowed < len(by_score) and math.isfinite(_top_score(by_score[allowed])):
            setters[suffix] = by_score[allowed]
    return setters


def outcome_record(method: str, outcome: QueryOutcome) -> dict[str, Any]:
    """One query's outcome as a JSON-able record (a line of ``copywatch eval --dump``): what the
    method ranked first and how sure it was, and where the true original ended up (``rank``,
    None when not returned or for a not-in-catalog query; ``ms`` None for an unreadable file)."""
    return {
        "method": method,
        "query_id": outcome.query_id,
        "original_id": outcome.original_id,
        "transform": outcome.transform,
        "rank": rank_of(outcome.catalog_ranking, outcome.original_id) if outcome.original_id else None,
        "seed_rank": outcome.seed_rank,
        "top": [[original_id, round(float(score), 6)] for original_id, score in outcome.catalog_ranking],
        "ms": None if math.isnan(outcome.ms) else round(outcome.ms, 3),
    }


def _top_score(outcome: QueryOutcome) -> float:
    return outcome.catalog_ranking[0][1] if outcome.catalog_ranking else float("-inf")


def recall_at(true_hits: Sequence[tuple[bool, float]], threshold: float) -> float:
    """Percent of in-catalog queries whose top-1 is correct and scores at or above ``threshold``."""
    if not true_hits:
        return 0.0
    return 100.0 * sum(1 for correct, score in true_hits if correct and score >= threshold) / len(true_hits)


@dataclass
class QueryOutcome:
    """One query's results under both protocols."""

    query_id: str
    original_id: str | None
    transform: str
    catalog_ranking: list[tuple[str, float]]
    seed_rank: int | None
    has_seed: bool
    ms: float


def summarise(
    method: str,
    n_originals: int,
    outcomes: Sequence[QueryOutcome],
    build_seconds: float,
    index_bytes: int,
    shipped: Thresholds | None = None,
) -> dict[str, Any]:
    """The JSON object of docs/formats.md from per-query outcomes (percentages 0-100, ms, bytes);
    with ``shipped`` thresholds, also ``at_thresholds`` (:mod:`detection.at_thresholds`)."""
    seed_ranks = [o.seed_rank for o in outcomes if o.has_seed]
    in_catalog = [o for o in outcomes if o.original_id is not None]
    catalog_ranks = [
        rank_of(o.catalog_ranking, o.original_id) for o in in_catalog if o.original_id is not None
    ]
    by_transform: dict[str, list[int | None]] = defaultdict(list)
    for outcome, rank in zip(in_catalog, catalog_ranks, strict=True):
        by_transform[outcome.transform].append(rank)
    distractors = [_top_score(o) for o in outcomes if o.original_id is None]
    true_hits = [
        (
            bool(o.catalog_ranking) and o.catalog_ranking[0][0] == o.original_id,
            o.catalog_ranking[0][1] if o.catalog_ranking else float("-inf"),
        )
        for o in in_catalog
    ]
    alerting: dict[str, float] = {}
    thresholds: dict[str, float | None] = {}
    for rate, suffix in FALSE_ALARM_BUDGETS:
        threshold = alert_threshold(distractors, rate)
        alerting[f"recall_at_fpr_{suffix}"] = round(recall_at(true_hits, threshold), 2)
        thresholds[f"threshold_{suffix}"] = threshold if math.isfinite(threshold) else None
    n = max(1, n_originals)
    result = {
        "method": method,
        "originals": n_originals,
        "queries": len(outcomes),
        "seed": {k: round(v, 2) for k, v in top_k_accuracy(seed_ranks, SEED_KS).items()},
        "catalog": {
            **{k: round(v, 2) for k, v in top_k_accuracy(catalog_ranks, CATALOG_KS).items()},
            "by_transform": {
                t: round(top_k_accuracy(r, (1,))["top1"], 2) for t, r in sorted(by_transform.items())
            },
        },
        "alerting": {**alerting, **thresholds},
        "cost": {
            "ms_per_query": round(float(np.mean(timed)) if (timed := _timed(outcomes)) else 0.0, 3),
            "build_ms_per_original": round(1000.0 * build_seconds / n, 3),
            "index_bytes_per_original": round(index_bytes / n, 1),
        },
    }
    if shipped is not None:
        result["at_thresholds"] = at_thresholds(outcomes, shipped)
    return result


def _timed(outcomes: Sequence[QueryOutcome]) -> list[float]:
    """The query times that were measured (an unreadable query has none)."""
    return [o.ms for o in outcomes if not math.isnan(o.ms)]


def single_thread() -> None:
    """Pin torch, OpenCV and FAISS to one thread: the cost protocol is per CPU thread."""
    import cv2
    import faiss
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    faiss.omp_set_num_threads(1)


def run(
    method: RetrievalMethod,
    bench: Benchmark,
    *,
    k: int = 10,
    progress: bool = True,
    on_query: Callable[[QueryOutcome], None] | None = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """Build ``method`` on the benchmark's originals and score every protocol.

    Args:
        method: the method under test (built here; build time is measured).
        bench: from :func:`load_benchmark`.
        k: catalog ranking depth (Top-10 needs 10).
        progress: show a tqdm bar over the queries.
        on_query: called with each query's outcome (an unreadable query's too), as it is scored.
        thresholds: the shipped review and alert thresholds (adds ``at_thresholds``).

    Returns:
        The JSON object of docs/formats.md (``method``, ``originals``, ``queries``, ``seed``, ``catalog``,
        ``alerting``, ``cost``), plus ``unreadable`` when some files could not be decoded (their
        names; each is skipped with a warning, such a query counts as one that found nothing and
        its time is left out of the mean).
    """
    from detection.progress import progress_bar

    single_thread()
    unreadable: list[str] = []
    originals = {}
    for oid, path in bench.originals.items():
        if (image := _readable(path, unreadable)) is not None:
            originals[oid] = image
    started = time.perf_counter()
    method.build(originals)
    build_seconds = time.perf_counter() - started
    del originals
    outcomes: list[QueryOutcome] = []
    for query_id in progress_bar(list(bench.queries), desc=f"eval {method.name}", enabled=progress):
        original_id, transform = bench.truth[query_id]
        image = _readable(bench.queries[query_id], unreadable)
        if image is None:
            # Scored as a query that found nothing: a miss, or a distractor that stays silent.
            has_seed = query_id in bench.seed_candidates
            outcome = QueryOutcome(query_id, original_id, transform, [], None, has_seed, math.nan)
            outcomes.append(outcome)
            if on_query is not None:
                on_query(outcome)
            continue
        started = time.perf_counter()
        ranking = method.rank(image, max(k, 10))
        ms = 1000.0 * (time.perf_counter() - started)
        candidates = bench.seed_candidates.get(query_id)
        seed_rank = None
        if candidates is not None and original_id is not None:
            seed_rank = rank_of(method.rank(image, max(SEED_KS), candidates=candidates), original_id)
        outcome = QueryOutcome(
            query_id, original_id, transform, ranking, seed_rank, candidates is not None, ms
        )
        outcomes.append(outcome)
        if on_query is not None:
            on_query(outcome)
    result = summarise(
        method.name, len(bench.originals), outcomes, build_seconds, method.index_bytes(), thresholds
    )
    if unreadable:  # only then: the documented object keeps its exact keys
        result["unreadable"] = unreadable
    return result


def _readable(path: Path, unreadable: list[str]) -> np.ndarray | None:
    """The image at ``path``, or None (its name added to ``unreadable``, with a warning) when it
    cannot be decoded: one bad file in a user's benchmark must not end the evaluation."""
    try:
        return read_image(path)
    except (OSError, ValueError) as exc:  # InvalidImageError is a ValueError
        log.warning("%s: skipped, unreadable (%s)", path, exc)
        unreadable.append(path.name)
        return None


def format_table(result: dict[str, Any], setters: dict[str, QueryOutcome] | None = None) -> str:
    """A readable multi-line summary of one :func:`run` result; given :func:`threshold_setters`,
    it names the not-in-catalog query each alert threshold sits on."""
    seed, catalog, alert, cost = result["seed"], result["catalog"], result["alerting"], result["cost"]
    lines = [
        f"method {result['method']}: {result['originals']} originals, {result['queries']} queries",
        "  seed 1-of-101     Top-1 {top1:6.2f}  Top-5 {top5:6.2f}  Top-10 {top10:6.2f}  Top-20 {top20:6.2f}".format(
            **seed
        ),
        "  whole catalog     Top-1 {top1:6.2f}  Top-5 {top5:6.2f}  Top-10 {top10:6.2f}".format(**catalog),
    ]
    for transform, top1 in catalog["by_transform"].items():
        lines.append(f"    {transform:<14} Top-1 {top1:6.2f}")
    lines += [
        f"  alerting          recall {alert['recall_at_fpr_1pct']:6.2f} at <=1% false alarms (threshold {alert['threshold_1pct']}),"
        f" {alert['recall_at_fpr_0_1pct']:6.2f} at <=0.1% (threshold {alert['threshold_0_1pct']})",
        *(
            f"    threshold <={100 * rate:g}% sits on {o.query_id} ({o.transform}, not in the catalog):"
            f" top {o.catalog_ranking[0][0]} at {o.catalog_ranking[0][1]:.4f}"
            for rate, suffix in FALSE_ALARM_BUDGETS
            if (o := (setters or {}).get(suffix)) is not None
        ),
        f"  cost              {cost['ms_per_query']:.2f} ms/query (1 thread), build {cost['build_ms_per_original']:.2f} ms/original,"
        f" index {cost['index_bytes_per_original']:.0f} B/original",
    ]
    if "at_thresholds" in result:
        lines += format_at_thresholds(result["at_thresholds"])
    if unreadable := result.get("unreadable"):
        lines.append(f"  unreadable        {len(unreadable)} file(s) skipped: {', '.join(unreadable[:5])}")
    return "\n".join(lines)
