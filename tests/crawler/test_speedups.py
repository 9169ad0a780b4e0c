"""The crawl process's Scrapy savings do what Scrapy did: every item, in order, within the bound."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from scrapy.core import scraper
from scrapy.utils.asyncio import _parallel_asyncio

from crawler.speedups import install_lazy_parallel, lazy_parallel, quiet_below_log_level


def _work(parallel, items, count: int) -> tuple[list[int], int, int]:  # noqa: ANN001
    """(items in the order their calls began, most calls at once, tasks that made calls)."""
    started: list[int] = []
    tasks: set[int] = set()
    running = peak = 0

    async def call(item: int, tag: str) -> None:
        nonlocal running, peak
        assert tag == "response"
        started.append(item)
        tasks.add(id(asyncio.current_task()))
        running += 1
        peak = max(peak, running)
        for _ in range(item % 3):  # calls that wait, for a while, as item pipelines do
            await asyncio.sleep(0)
        running -= 1

    async def main() -> None:
        await parallel(items(), count, call, "response")

    asyncio.run(main())
    return started, peak, len(tasks)


def _sync(n: int):  # noqa: ANN202
    def items() -> Iterator[int]:
        yield from range(n)

    return items


def _async(n: int):  # noqa: ANN202
    async def items() -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    return items


@pytest.mark.parametrize("source", [_sync, _async])
@pytest.mark.parametrize(("n", "count"), [(0, 16), (1, 16), (2, 16), (50, 16), (50, 1), (7, 3)])
def test_lazy_parallel_calls_every_item_in_order_within_the_bound_like_scrapy(
    source, n: int, count: int
) -> None:  # noqa: ANN001
    ours, peak, tasks = _work(lazy_parallel, source(n), count)
    scrapys, scrapy_peak, _ = _work(_parallel_asyncio, source(n), count)
    assert ours == scrapys == list(range(n))
    assert peak <= count and tasks <= count
    assert peak == scrapy_peak or n <= 2  # as many calls at once as Scrapy's, when there is work for them


def test_a_one_item_output_costs_one_task_not_one_per_slot() -> None:
    _, _, tasks = _work(lazy_parallel, _sync(1), 16)
    assert tasks == 1
    _, _, scrapy_tasks = _work(_parallel_asyncio, _sync(1), 16)
    assert scrapy_tasks == 1  # (Scrapy starts 16 and 15 of them idle: not visible here, only in CPU)


def test_an_item_that_fails_does_not_stop_the_others() -> None:
    done: list[int] = []

    async def call(item: int) -> None:
        if item == 1:
            raise ValueError("bad item")
        done.append(item)

    async def main() -> None:
        await lazy_parallel(iter(range(5)), 2, call)

    asyncio.run(main())
    assert done == [0, 2, 3, 4]


def test_install_replaces_scrapys_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scraper, "_parallel_asyncio", _parallel_asyncio)
    assert install_lazy_parallel()
    assert scraper._parallel_asyncio is lazy_parallel


def test_log_records_below_the_level_are_not_built_and_levels_are_never_lowered() -> None:
    root, scrapy_logger = logging.getLogger(), logging.getLogger("scrapy")
    saved = root.level, scrapy_logger.level
    try:
        root.setLevel(logging.NOTSET)
        scrapy_logger.setLevel(logging.DEBUG)  # what Scrapy's logging set-up does
        quiet_below_log_level("WARNING")
        assert not logging.getLogger("scrapy.core.engine").isEnabledFor(logging.INFO)
        assert logging.getLogger("scrapy.core.engine").isEnabledFor(logging.WARNING)
        assert not logging.getLogger("crawler.pipelines").isEnabledFor(logging.DEBUG)
        root.setLevel(logging.ERROR)
        quiet_below_log_level("INFO")
        assert root.level == logging.ERROR
        quiet_below_log_level("NO-SUCH-LEVEL")  # left alone
        assert root.level == logging.ERROR
    finally:
        root.setLevel(saved[0])
        scrapy_logger.setLevel(saved[1])


def test_the_connection_pool_keeps_twice_the_per_host_concurrency() -> None:
    from types import SimpleNamespace

    from scrapy.settings import Settings as ScrapySettings

    from crawler.speedups import keep_idle_connections

    pool = SimpleNamespace(maxPersistentPerHost=4)
    http = SimpleNamespace(_pool=pool)
    bigger = SimpleNamespace(_pool=SimpleNamespace(maxPersistentPerHost=50))
    handlers = SimpleNamespace(_handlers={"http": http, "https": http, "other": bigger, "s3": object()})
    crawler = SimpleNamespace(
        engine=SimpleNamespace(downloader=SimpleNamespace(handlers=handlers)),
        settings=ScrapySettings({"CONCURRENT_REQUESTS_PER_DOMAIN": 4}),
    )
    assert keep_idle_connections(crawler) == 1  # the shared http(s) handler, once
    assert pool.maxPersistentPerHost == 8
    assert bigger._pool.maxPersistentPerHost == 50  # never lowered


def test_the_crawl_keeps_scrapys_stats_without_a_shim_on_every_read() -> None:
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.misc import load_object
    from scrapy.utils.test import get_crawler

    from copywatch.settings import Settings
    from crawler.settings import scrapy_settings
    from crawler.speedups import PlainStatsCollector

    assert load_object(scrapy_settings(Settings.from_env({}))["STATS_CLASS"]) is PlainStatsCollector
    ours = PlainStatsCollector(get_crawler())
    scrapys = MemoryStatsCollector(get_crawler())
    for stats in (ours, scrapys):
        stats.inc_value("pages")
        stats.inc_value("pages", 2)
        stats.max_value("largest", 3)
        stats.max_value("largest", 1)
        stats.min_value("smallest", 3)
        stats.min_value("smallest", 1)
        stats.set_value("reason", "finished")
    assert (
        ours.get_stats()
        == scrapys.get_stats()
        == {"pages": 3, "largest": 3, "smallest": 1, "reason": "finished"}
    )
    assert ours.get_value("missing", 7) == 7
    # Scrapy's collector hands out a wrapper made on the first read (and looks for it on every
    # read, of ``_stats`` too); ours hands out the plain bound method.
    assert ours.inc_value.__func__ is MemoryStatsCollector.inc_value


def test_the_young_generation_is_collected_less_often_never_more_often() -> None:
    import gc

    from crawler.speedups import GC_YOUNG_THRESHOLD, collect_less_often

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # Python's default
        collect_less_often()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)
        gc.set_threshold(GC_YOUNG_THRESHOLD * 2, 5, 5)
        collect_less_often()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD * 2, 5, 5)  # never lowered
        gc.set_threshold(0, 10, 10)  # collection turned off by someone: left so
        collect_less_often()
        assert gc.get_threshold() == (0, 10, 10)
    finally:
        gc.set_threshold(*saved)


def test_start_up_objects_are_frozen_and_later_cycles_still_collected() -> None:
    import gc
    import weakref

    from crawler.speedups import freeze_startup_objects

    class Node:
        pass

    try:
        assert freeze_startup_objects() > 0
        node = Node()
        node.self = node  # a cycle made after the freeze
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()


def test_freezing_start_up_objects_runs_no_full_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from crawler.speedups import freeze_startup_objects

    generations: list[int] = []
    collect = gc.collect
    monkeypatch.setattr(
        gc, "collect", lambda generation=2: (generations.append(generation), collect(generation))[1]
    )
    try:
        freeze_startup_objects()
    finally:
        gc.unfreeze()
    assert generations and max(generations) < 2  # a full one walked everything start-up built


def test_the_crawl_process_imports_no_numpy_for_its_image_checks() -> None:
    import subprocess
    import sys

    code = "import sys, crawler.pipelines; print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"  # numpy's import was ~0.1 s of every crawl's start-up
