"""`copywatch bench crawl` on a small generated shop: a real crawl, figures that add up."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from copywatch.commands import bench_crawl
from crawler.benchshop import BenchShop, serve_bench_shop
from tests.conftest import REDIS_SERVER_URL


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_crawl.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_generated_shop_serves_every_style_and_hides_nothing_past_the_categories() -> None:
    shop = BenchShop(120)
    styles = {shop.style_of(p) for p in range(shop.products)}
    assert styles == {"jsonld", "microdata", "opengraph"}
    with serve_bench_shop(shop) as base:
        import urllib.request

        home = urllib.request.urlopen(base + "/").read().decode()
        assert "/c/0?page=1" in home
        page = urllib.request.urlopen(base + "/p/7").read().decode()
        assert "og:type" in page and f"{base}/img/7-1.jpg" in page
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + f"/p/{shop.products}")


@pytest.mark.timeout(60)
def test_bench_crawl_reports_every_generated_listing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    products = 60
    argv = ["crawl", "--pages", str(products), "--json", "--redis-url", REDIS_SERVER_URL + "/0"]
    code = bench_crawl.run(_parse([*argv, "--tmp-dir", str(tmp_path)]), None)
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert figures["tmp_dir"] == str(tmp_path) and not any(tmp_path.iterdir())  # used, then cleaned
    assert figures["pages"] >= products
    assert figures["pages"] == BenchShop(products).pages
    assert figures["listings"] == products
    assert figures["images"] == BenchShop(products).images  # every image of every style, once
    assert figures["cpu_ms_per_page"] > 0 and figures["wall_s"] > 0 and figures["pages_per_s"] > 0


def test_bench_crawl_refuses_an_empty_shop(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_crawl.run(_parse(["crawl", "--pages", "0"]), None) == 2
    assert "at least 1" in capsys.readouterr().err


def test_the_run_files_go_to_a_memory_file_system_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_crawl, "MEMORY_FS", str(tmp_path))
    assert bench_crawl.scratch_parent() == str(tmp_path)
    assert bench_crawl.scratch_parent("elsewhere") == "elsewhere"  # --tmp-dir wins
    monkeypatch.setattr(bench_crawl, "MEMORY_FS", str(tmp_path / "absent"))
    assert bench_crawl.scratch_parent() is None  # the system's temporary directory
