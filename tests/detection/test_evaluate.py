import argparse
import json
import math

import numpy as np
import pytest

from copywatch.commands import eval as eval_command
from detection.baselines import PHashMethod, make_method
from detection.benchmark import make_benchmark, read_image
from detection.evaluate import (
    QueryOutcome,
    RetrievalMethod,
    alert_threshold,
    format_table,
    load_benchmark,
    outcome_record,
    rank_of,
    recall_at,
    run,
    summarise,
    threshold_setters,
    top_k_accuracy,
)
from tests.support.images import write_photos


def test_top_k_on_hand_made_ranks():
    assert top_k_accuracy([1, 2, 6, None], (1, 5, 10)) == {"top1": 25.0, "top5": 50.0, "top10": 75.0}
    assert top_k_accuracy([], (1,)) == {"top1": 0.0}
    assert rank_of([("a", 0.9), ("b", 0.5)], "b") == 2 and rank_of([("a", 0.9)], "z") is None


def test_alert_threshold_keeps_false_alarms_within_budget():
    distractors = [i / 1000 for i in range(1000)]  # 0.000 .. 0.999
    t1 = alert_threshold(distractors, 0.01)
    t01 = alert_threshold(distractors, 0.001)
    assert sum(d >= t1 for d in distractors) == 10 and 0.989 < t1 <= 0.99
    assert sum(d >= t01 for d in distractors) == 1 and 0.998 < t01 <= 0.999
    # Fewer than 100 distractors: 1 % allows none, so the threshold is just above the highest.
    assert alert_threshold([0.2, 0.7, 0.4], 0.01) > 0.7
    assert sum(d >= alert_threshold([0.5, 0.5, 0.5], 0.5) for d in [0.5, 0.5, 0.5]) == 0
    assert alert_threshold([], 0.01) == -math.inf


def test_recall_counts_only_correct_top1_at_or_above_threshold():
    hits = [(True, 0.9), (True, 0.5), (False, 0.95), (True, 0.7)]
    assert recall_at(hits, 0.7) == 50.0
    assert recall_at(hits, 0.0) == 75.0
    assert recall_at([], 0.5) == 0.0


def test_summarise_protocols_on_hand_made_outcomes():
    outcomes = [
        QueryOutcome("q1", "a", "crop_strip", [("a", 0.9), ("b", 0.1)], 1, True, 2.0),
        QueryOutcome("q2", "b", "crop_strip", [("a", 0.8), ("b", 0.7)], 3, True, 4.0),
        QueryOutcome("q3", "c", "hflip", [("c", 0.6)], None, False, 6.0),
        QueryOutcome("q4", None, "none", [("a", 0.65)], None, False, 8.0),
    ]
    result = summarise("hand", 3, outcomes, build_seconds=0.3, index_bytes=300)
    assert result["seed"] == {"top1": 50.0, "top5": 100.0, "top10": 100.0, "top20": 100.0}
    assert result["catalog"]["top1"] == pytest.approx(66.67)
    assert result["catalog"]["by_transform"] == {"crop_strip": 50.0, "hflip": 100.0}
    # The only distractor scores 0.65: the threshold sits just above it, so q1 alerts, q3 (0.6) does not.
    assert result["alerting"]["recall_at_fpr_1pct"] == pytest.approx(33.33)
    assert result["alerting"]["threshold_1pct"] == pytest.approx(0.65)
    assert result["cost"] == {
        "ms_per_query": 5.0,
        "build_ms_per_original": 100.0,
        "index_bytes_per_original": 100.0,
    }


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalbench")
    write_photos(root / "photos", 14)
    make_benchmark(
        root / "photos", root / "bench", seed=5, strip_originals=5, per_family=1, distractors_per_family=1
    )
    return root / "bench"


class Oracle:
    """Knows every query's answer by its pixels: the protocols must give it full marks."""

    name = "oracle"

    def __init__(self, bench):
        loaded = load_benchmark(bench)
        self.answers = {read_image(path).tobytes(): loaded.truth[q][0] for q, path in loaded.queries.items()}
        self.ids: list[str] = []

    def build(self, originals):
        self.ids = sorted(originals)

    def rank(self, query, k, candidates=None):
        answer = self.answers[query.tobytes()]
        pool = list(candidates) if candidates is not None else self.ids
        ranked = [(oid, 1.0 if oid == answer else 0.1) for oid in pool]
        if answer is None:
            ranked[0] = (ranked[0][0], 0.5)
        return sorted(ranked, key=lambda pair: -pair[1])[:k]

    def index_bytes(self):
        return 8 * len(self.ids)


def test_a_perfect_method_gets_full_marks(bench):
    oracle = Oracle(bench)
    assert isinstance(oracle, RetrievalMethod)
    result = run(oracle, load_benchmark(bench), progress=False)
    assert result["seed"]["top1"] == result["catalog"]["top1"] == 100.0
    assert set(result["catalog"]["by_transform"].values()) == {100.0}
    assert result["alerting"]["recall_at_fpr_1pct"] == result["alerting"]["recall_at_fpr_0_1pct"] == 100.0
    assert 0.5 < result["alerting"]["threshold_1pct"] <= 1.0
    assert result["cost"]["index_bytes_per_original"] == 8.0
    assert "seed 1-of-101" in format_table(result)


def test_phash_finds_near_copies_but_not_strips(bench):
    result = run(PHashMethod(), load_benchmark(bench), progress=False)
    by_transform = result["catalog"]["by_transform"]
    assert by_transform["jpeg"] == 100.0 and by_transform["scale_down"] == 100.0
    assert result["cost"]["index_bytes_per_original"] == 8.0


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        make_method("sift")


def test_eval_command_prints_the_design_json_last(bench, capsys):
    parser = argparse.ArgumentParser()
    eval_command.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "eval",
            "--bench",
            str(bench),
            "--method",
            "phash",
            "pdq",
            "--json",
            "--no-progress",
            "--limit",
            "12",
        ]
    )
    assert args.handler(args, None) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(last) == [
        "method",
        "originals",
        "queries",
        "seed",
        "catalog",
        "alerting",
        "cost",
        "at_thresholds",
    ]
    assert last["method"] == "pdq" and last["queries"] == 12
    assert set(last["alerting"]) == {
        "recall_at_fpr_1pct",
        "recall_at_fpr_0_1pct",
        "threshold_1pct",
        "threshold_0_1pct",
    }
    assert set(last["cost"]) == {"ms_per_query", "build_ms_per_original", "index_bytes_per_original"}
    assert np.isfinite(last["cost"]["ms_per_query"])


def test_an_unreadable_file_is_skipped_and_scored_as_finding_nothing(bench, tmp_path):
    import shutil

    copy = tmp_path / "bench"
    shutil.copytree(bench, copy)
    loaded = load_benchmark(copy)
    in_catalog = next(q for q, (o, _) in loaded.truth.items() if o is not None)
    loaded.queries[in_catalog].write_bytes(b"<html>not found</html>")
    original = next(iter(loaded.originals.values()))
    original.write_bytes(original.read_bytes()[:200])  # truncated
    result = run(Oracle(bench), load_benchmark(copy), progress=False)
    assert sorted(result["unreadable"]) == sorted([loaded.queries[in_catalog].name, original.name])
    # The unreadable query is a miss; everything else is still scored.
    assert 90.0 < result["catalog"]["top1"] < 100.0
    assert math.isfinite(result["cost"]["ms_per_query"])
    assert "unreadable        2 file(s) skipped" in format_table(result)


def test_threshold_setters_name_the_distractor_each_threshold_sits_on():
    # 200 distractors scoring 0.000, 0.005, ... 0.995, listed out of order.
    distractors = [
        QueryOutcome(f"d{i}", None, "none", [("a", i / 200)], None, False, 1.0) for i in range(200)
    ]
    distractors.reverse()
    copies = [QueryOutcome("c1", "a", "jpeg", [("a", 0.999)], None, False, 1.0)]
    setters = threshold_setters(copies + distractors)
    scores = [o.catalog_ranking[0][1] for o in distractors]
    # 1 % of 200 allows two alarms: the threshold sits just above the third highest (d197).
    assert setters["1pct"].query_id == "d197"
    assert (
        alert_threshold(scores, 0.01) == pytest.approx(197 / 200)
        and alert_threshold(scores, 0.01) > 197 / 200
    )
    # 0.1 % allows none: it sits on the highest.
    assert setters["0_1pct"].query_id == "d199"
    # Distractors that found nothing cannot set a threshold; nor can an empty set.
    silent = [QueryOutcome("d", None, "none", [], None, False, 1.0)]
    assert threshold_setters(silent) == {} and threshold_setters(copies) == {}


def test_outcome_record_says_where_the_true_original_ranked():
    found = QueryOutcome("q1", "b", "hflip", [("a", 0.91), ("b", 0.5)], None, False, 3.14159)
    record = outcome_record("matcher", found)
    assert record == {
        "method": "matcher",
        "query_id": "q1",
        "original_id": "b",
        "transform": "hflip",
        "rank": 2,
        "seed_rank": None,
        "top": [["a", 0.91], ["b", 0.5]],
        "ms": 3.142,
    }
    assert json.loads(json.dumps(record)) == record
    unreadable = QueryOutcome("q2", "c", "jpeg", [], None, True, math.nan)
    assert (
        outcome_record("orb", unreadable)["rank"] is None and outcome_record("orb", unreadable)["ms"] is None
    )
    distractor = QueryOutcome("q3", None, "none", [("a", 0.2)], None, False, 1.0)
    assert outcome_record("orb", distractor)["rank"] is None


def test_eval_command_dumps_every_query_and_names_the_threshold_setter(bench, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    eval_command.register(parser.add_subparsers())
    dump = tmp_path / "outcomes.jsonl"
    args = parser.parse_args(
        ["eval", "--bench", str(bench), "--method", "phash", "pdq", "--no-progress", "--dump", str(dump)]
    )
    assert args.handler(args, None) == 0
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    loaded = load_benchmark(bench)
    assert len(records) == 2 * len(loaded.queries)
    assert {r["method"] for r in records} == {"phash", "pdq"}
    for record in records:
        truth, transform = loaded.truth[record["query_id"]]
        assert (record["original_id"], record["transform"]) == (truth, transform)
        ids = [original_id for original_id, _ in record["top"]]
        expected = ids.index(truth) + 1 if truth in ids else None
        assert record["rank"] == expected
    table = capsys.readouterr().out
    phash_distractors = [r for r in records if r["method"] == "phash" and r["original_id"] is None]
    highest = max(phash_distractors, key=lambda r: r["top"][0][1])
    assert f"threshold <=0.1% sits on {highest['query_id']}" in table


def test_eval_command_refuses_a_dump_it_cannot_write(bench, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    eval_command.register(parser.add_subparsers())
    args = parser.parse_args(
        ["eval", "--bench", str(bench), "--method", "phash", "--dump", str(tmp_path / "missing" / "x.jsonl")]
    )
    assert args.handler(args, None) == 2
    assert "cannot write" in capsys.readouterr().err
