"""CPU savings inside Scrapy for the crawl process: same behaviour, less work per page.

Installed by the crawl child (:func:`crawler.run._run_child`) before the crawl starts; each one
leaves Scrapy as it was when the Scrapy version does not have what it replaces.

- :func:`lazy_parallel`: Scrapy works a callback's output through ``CONCURRENT_ITEMS`` parallel
  slots, and starts every slot as an asyncio task for every response — 16 tasks and a filler
  for a product page that yields one item. Here a slot's task starts only when an item waits
  and no started slot is free: the same order, the same bound of ``CONCURRENT_ITEMS`` calls at
  once, one task for a one-item page.
- :func:`quiet_below_log_level`: Scrapy lets every logger through (root level ``NOTSET``) and
  drops records below ``LOG_LEVEL`` in its handlers, after building them — a ``Crawled (200)``
  record for every response and a ``Scraped from`` record for every item. The loggers' levels
  are raised to ``LOG_LEVEL`` instead, so those records are not built; every handler Scrapy
  installs has that level already, so nothing that was logged (or counted under
  ``log_count/``) is lost.
- :func:`collect_less_often` and :func:`freeze_startup_objects`: the cyclic garbage collector
  took about a ninth of a crawl's CPU — a young-generation collection every 700 container
  objects, and full collections that walked everything start-up had built (modules, classes,
  Scrapy's, Twisted's and SQLAlchemy's set-up) each time. The young generation is collected
  every :data:`GC_YOUNG_THRESHOLD` objects instead, and what start-up leaves is frozen once
  the engine has started. Every unreachable cycle is still collected, only in larger batches.
- :class:`PlainStatsCollector` (``STATS_CLASS``): Scrapy's in-memory stats without the
  deprecation shim Scrapy 2.19 puts on every attribute read of a stats collector.
- :class:`RequestDefaultsMiddleware`: Scrapy's download-timeout, default-headers and user-agent
  downloader middlewares as one: each middleware costs every request a coroutine and a
  deprecation check, whatever little it does.
- :class:`QuickMetaRefreshMiddleware`: Scrapy's meta-refresh redirects, with pages that cannot
  hold one (no ``refresh`` in their first 4,096 characters) passed on without the scan.
- :class:`DownloaderCounts`: Scrapy's downloader stats without the two byte totals, for which
  every request was serialised once more (``request_httprepr``) and every response's headers
  measured.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.stats import DownloaderStats
from scrapy.http import HtmlResponse
from scrapy.statscollectors import MemoryStatsCollector


async def lazy_parallel(
    iterable: Iterable[Any] | AsyncIterator[Any],
    count: int,
    callable_: Callable[..., Coroutine[Any, Any, None]],
    *args: Any,
    **kwargs: Any,
) -> None:
    """Call ``callable_(item, *args, **kwargs)`` for each item, at most ``count`` at once.

    What ``scrapy.utils.asyncio._parallel_asyncio`` does (items taken in order into a queue of
    ``2 * count``, worked by up to ``count`` workers), with workers started on demand.
    """
    queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(count * 2)
    workers: list[asyncio.Task[None]] = []
    free = 0  # started workers not busy with an item

    async def worker() -> None:
        nonlocal free
        while True:
            more, item = await queue.get()
            if not more:
                break
            free -= 1
            try:
                await callable_(item, *args, **kwargs)
            finally:
                queue.task_done()
            free += 1  # (a call that raised ends its worker, as in Scrapy's)

    async def each() -> AsyncIterator[Any]:
        if isinstance(iterable, AsyncIterator):
            async for item in iterable:
                yield item
        else:
            for item in iterable:
                yield item

    async for item in each():
        if free <= queue.qsize() and len(workers) < count:
            free += 1
            workers.append(asyncio.create_task(worker()))
        await queue.put((True, item))
    for _ in workers:
        await queue.put((False, None))
    if workers:
        await asyncio.wait(workers)


def install_lazy_parallel() -> bool:
    """Make Scrapy's scraper use :func:`lazy_parallel`; False when this Scrapy has no such step."""
    try:
        from scrapy.core import scraper
    except ImportError:
        return False
    if not callable(getattr(scraper, "_parallel_asyncio", None)):
        return False
    scraper._parallel_asyncio = lazy_parallel
    return True


def keep_idle_connections(crawler: Any) -> int:
    """Let Scrapy's HTTP connection pool keep twice ``CONCURRENT_REQUESTS_PER_DOMAIN`` idle
    connections per host; returns how many handlers were changed.

    The pool keeps at most that many per host and closes the oldest when one more is returned:
    a request that starts just before another's connection is returned opens a new one, and
    the pool then closes one — at full concurrency, a new connection every few requests.
    """
    handlers = getattr(getattr(crawler.engine.downloader, "handlers", None), "_handlers", {}) or {}
    keep = 2 * max(1, crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
    changed = 0
    for handler in {id(h): h for h in handlers.values()}.values():
        pool = getattr(handler, "_pool", None)
        if pool is not None and getattr(pool, "maxPersistentPerHost", keep) < keep:
            pool.maxPersistentPerHost = keep
            changed += 1
    return changed


def quiet_below_log_level(level: str | int) -> None:
    """Build no log record below ``level`` (Scrapy's handlers, all at ``level``, would drop it).

    Scrapy's own loggers sit under ``scrapy``, which Scrapy sets to ``DEBUG``; the others under the
    root logger, which it sets to ``NOTSET``. Each is raised to ``level``, never lowered.
    """
    wanted = logging.getLevelName(level) if isinstance(level, str) else level
    if not isinstance(wanted, int):
        return  # not a level name logging knows: leave Scrapy's set-up alone
    for logger in (logging.getLogger(), logging.getLogger("scrapy")):
        if logger.level < wanted:
            logger.setLevel(wanted)


#: Net allocations of container objects between two young-generation collections (Python: 700).
GC_YOUNG_THRESHOLD = 10_000


def collect_less_often() -> None:
    """Collect the young generation every :data:`GC_YOUNG_THRESHOLD` allocations, not every 700.

    Each collection walks the young objects and what they refer to, and many of a crawl's
    (Deferreds, futures, requests) would have died before the next one; the older generations'
    thresholds are kept. Never lowers a higher threshold, and leaves a disabled collector alone.
    """
    young, middle, old = gc.get_threshold()
    if 0 < young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def freeze_startup_objects() -> int:
    """Collect the young generations, then move every object still tracked to the permanent
    generation (:func:`gc.freeze`); returns how many were frozen.

    Start-up leaves some 150,000 objects that live as long as the process; full collections
    walked all of them every time (18 times, about 170 ms each, in a 5,000-page crawl). Objects
    the crawl creates afterwards are collected as before. No full collection first: it walked
    all 150,000 (40–80 ms) to free some 30 objects, which now stay.
    """
    gc.collect(1)
    gc.freeze()
    return gc.get_freeze_count()


class PlainStatsCollector(MemoryStatsCollector):
    """Scrapy's default stats collector, read with Python's own attribute lookup.

    Scrapy 2.19's ``StatsCollector.__getattribute__`` runs on every attribute read, ``_stats``
    inside each method included (an f-string, and a caught ``AttributeError`` for any name it
    has not wrapped), and wraps the public methods in a check that warns when a caller passes
    the deprecated ``spider`` argument. Nothing in the crawl passes it, and the crawl makes some
    27 stats calls a page; this class keeps the same methods and values without that toll.
    """

    __getattribute__ = object.__getattribute__


class RequestDefaultsMiddleware:
    """What Scrapy's ``DownloadTimeoutMiddleware``, ``DefaultHeadersMiddleware`` and
    ``UserAgentMiddleware`` do, in one downloader-middleware call, in their order: the
    ``download_timeout`` meta key (``DOWNLOAD_TIMEOUT``), then ``DEFAULT_REQUEST_HEADERS``, then
    ``User-Agent`` (``USER_AGENT``), each set only where the request has none yet.
    """

    def __init__(self, timeout: float, headers: list[tuple[str, Any]]) -> None:
        self.timeout = timeout
        self.headers = headers

    @classmethod
    def from_crawler(cls, crawler: Any) -> RequestDefaultsMiddleware:
        settings = crawler.settings
        headers = [(k, v) for k, v in settings["DEFAULT_REQUEST_HEADERS"].items() if v is not None]
        if settings["USER_AGENT"]:
            headers.append(("User-Agent", settings["USER_AGENT"]))
        return cls(settings.getfloat("DOWNLOAD_TIMEOUT"), headers)

    def process_request(self, request: Any) -> None:
        if self.timeout:
            request.meta.setdefault("download_timeout", self.timeout)
        set_default = request.headers.setdefault
        for name, value in self.headers:
            set_default(name, value)


class QuickMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's ``MetaRefreshMiddleware``, passing on at once an HTML page whose first 4,096
    characters do not hold the word ``refresh``.

    Scrapy looks there only (``scrapy.utils.response.get_meta_refresh``), and w3lib follows a
    ``<meta>`` tag only when its attributes hold ``refresh`` (in any case); a page without it
    was scanned for nothing: its ``<base>`` resolved, its tags matched one by one.
    """

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        if isinstance(response, HtmlResponse) and "refresh" not in response.text[:4096].lower():
            return response
        return super().process_response(request, response)


class DownloaderCounts(DownloaderStats):
    """Scrapy's ``DownloaderStats`` (same place in the chain, same counters) less
    ``downloader/request_bytes`` and ``downloader/response_bytes``."""

    def process_request(self, request: Any, spider: Any = None) -> None:
        self.stats.inc_value("downloader/request_count")
        self.stats.inc_value(f"downloader/request_method_count/{request.method}")

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        self.stats.inc_value("downloader/response_count")
        self.stats.inc_value(f"downloader/response_status_count/{response.status}")
        return response
