import argparse
import json

import pytest

from copywatch.commands import eval as eval_command
from detection.at_thresholds import Thresholds, at_thresholds, format_at_thresholds
from detection.evaluate import QueryOutcome, summarise
from tests.detection.test_evaluate import bench  # noqa: F401 - the shared benchmark fixture


def outcome(query_id, original_id, transform, ranking):
    return QueryOutcome(query_id, original_id, transform, ranking, None, False, 1.0)


def test_copies_count_the_true_originals_score_and_innocents_their_best():
    outcomes = [
        outcome("a", "o1", "jpeg", [("o1", 0.95)]),
        outcome("b", "o2", "jpeg", [("o9", 0.99), ("o2", 0.7)]),  # true original second, reviewed only
        outcome("c", "o3", "color", [("o3", 0.8)]),  # exactly at the alert threshold
        outcome("d", "o4", "color", []),  # nothing found
        outcome("e", None, "none", [("o1", 0.81), ("o2", 0.2)]),
        outcome("f", None, "none", [("o1", 0.68)]),
        outcome("g", None, "hflip", []),
    ]
    block = at_thresholds(outcomes, Thresholds(review=0.68, alert=0.8))
    assert block == {
        "alert": 0.8,
        "review": 0.68,
        "copies_alerted": 50.0,
        "copies_reviewed": 75.0,
        "innocents_alerted": 1,
        "innocents_reviewed": 2,
        "innocents": 3,
        "by_transform": {
            "color": {"alerted": 50.0, "reviewed": 50.0},
            "jpeg": {"alerted": 50.0, "reviewed": 100.0},
        },
    }
    lines = format_at_thresholds(block)
    assert "copies alerted  50.00" in lines[0] and "innocents alerted 1 / reviewed 2 of 3" in lines[0]
    assert any(line.split()[0] == "jpeg" for line in lines[1:])


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError):
        Thresholds(review=0.9, alert=0.5)


def test_summarise_adds_at_thresholds_only_when_given_thresholds():
    outcomes = [outcome("a", "o1", "jpeg", [("o1", 0.9)]), outcome("b", None, "none", [("o1", 0.1)])]
    assert "at_thresholds" not in summarise("m", 1, outcomes, 0.0, 0)
    result = summarise("m", 1, outcomes, 0.0, 0, Thresholds(0.68, 0.8))
    assert result["at_thresholds"]["copies_alerted"] == 100.0
    assert result["at_thresholds"]["innocents"] == 1


def test_eval_json_reports_at_thresholds_with_the_shipped_settings_and_the_pool(bench, tmp_path, capsys):  # noqa: F811
    import shutil

    from detection.evaluate import load_benchmark

    pool = tmp_path / "pool"
    pool.mkdir()
    loaded = load_benchmark(bench)
    originals = list(loaded.originals.values())[:3]
    for number, path in enumerate(originals):  # catalog pictures as "innocents": each one alerts
        shutil.copy(path, pool / f"pool_{number}{path.suffix}")
    parser = argparse.ArgumentParser()
    eval_command.register(parser.add_subparsers())
    args = parser.parse_args(
        ["eval", "--bench", str(bench), "--method", "phash", "--json", "--no-progress"]
        + ["--innocents", str(pool), "--innocents-limit", "2"]
    )
    assert args.handler(args, None) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    block = result["at_thresholds"]
    assert (block["alert"], block["review"]) == (0.8, 0.68)
    distractors = sum(1 for original, _ in loaded.truth.values() if original is None)
    assert block["innocents"] == distractors + 2
    assert result["queries"] == len(loaded.queries) + 2
    assert block["innocents_alerted"] >= 2  # exact pictures of the catalog score 1.0 with pHash
    assert "at thresholds" in captured.err


def test_eval_refuses_a_missing_pool(bench, tmp_path, capsys):  # noqa: F811
    parser = argparse.ArgumentParser()
    eval_command.register(parser.add_subparsers())
    args = parser.parse_args(["eval", "--bench", str(bench), "--innocents", str(tmp_path / "none")])
    assert args.handler(args, None) == 2
    assert "innocent pool" in capsys.readouterr().err
