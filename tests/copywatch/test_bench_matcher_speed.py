"""``copywatch bench matcher-speed``: another checkout's matcher beside this one's, in one process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import detection
from copywatch.cli import main
from copywatch.commands.bench_matcher_speed import load_checkout, same_ranking, using
from detection.benchmark import make_benchmark
from tests.support.images import write_photos

REPO = Path(__file__).resolve().parents[2]


def _fake_checkout(root: Path, marker: str) -> Path:
    package = root / "detection"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"MARKER = {marker!r}\n")
    for name in ("matching", "benchmark", "evaluate"):
        (package / f"{name}.py").write_text("from detection import MARKER\n")
    return root


def test_another_checkout_is_loaded_apart_and_stands_in_only_while_used(tmp_path: Path) -> None:
    other = load_checkout(_fake_checkout(tmp_path / "old", "old"))
    assert other["detection"].MARKER == "old" and other["detection.evaluate"].MARKER == "old"
    assert sys.modules["detection"] is detection and not hasattr(detection, "MARKER")
    with using(other):
        import detection.matching as inside

        assert inside.MARKER == "old"
    assert sys.modules["detection"] is detection


def test_rankings_are_the_same_only_with_the_same_ids_in_order_and_close_scores() -> None:
    assert same_ranking([("a", 0.5), ("b", 0.1)], [("a", 0.5000004), ("b", 0.1)])
    assert not same_ranking([("a", 0.5), ("b", 0.1)], [("b", 0.1), ("a", 0.5)])
    assert not same_ranking([("a", 0.5)], [("a", 0.51)])
    assert not same_ranking([("a", 0.5)], [("a", 0.5), ("b", 0.0)])


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("speedbench")
    write_photos(root / "photos", 8)
    make_benchmark(
        root / "photos", root / "bench", seed=3, strip_originals=3, per_family=1, distractors_per_family=1
    )
    return root / "bench"


def test_the_same_code_beside_itself_gives_the_same_rankings(
    bench: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["bench", "matcher-speed", "--bench", str(bench), "--against", str(REPO), "--limit", "6", "--json"]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and result["differing"] == [] and result["queries"] == 6
    assert result["this"]["mean_ms"] > 0 and result["against"]["mean_ms"] > 0
