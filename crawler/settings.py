"""Scrapy settings for Copywatch crawls, built from :class:`copywatch.settings.Settings`.

Politeness is the default: robots.txt obeyed, AutoThrottle on, a few requests per domain at a
time, a user agent that says who crawls and how to reach them. Safety too: only http(s) download
handlers, every request checked by :mod:`crawler.guard` (scheme, port, public address after DNS,
on every redirect hop), a page budget and a link-trap guard per crawl.
"""

from __future__ import annotations

from typing import Any
from urllib.request import getproxies

from scrapy.settings.default_settings import EXTENSIONS_BASE

from copywatch.settings import Settings

#: Scrapy components a crawl has no use for: each costs a call (a coroutine, a deprecation check)
#: on every request or response, or an import at start-up.
_SCRAPY = "scrapy.downloadermiddlewares."
_MERGED_DOWNLOADER_MIDDLEWARES = (  # one call instead: crawler.speedups.RequestDefaultsMiddleware
    _SCRAPY + "downloadtimeout.DownloadTimeoutMiddleware",
    _SCRAPY + "defaultheaders.DefaultHeadersMiddleware",
    _SCRAPY + "useragent.UserAgentMiddleware",
)
_UNUSED_EXTENSIONS = (
    "scrapy.extensions.remote_control.RemoteControl",  # off (below); its module imports aiohttp
    "scrapy.extensions.telnet.TelnetConsole",  # off (below)
    "scrapy.extensions.feedexport.FeedExporter",  # no FEEDS: items go to the database
    "scrapy.extensions.spiderstate.SpiderState",  # no JOBDIR
    "scrapy.extensions.memdebug.MemoryDebugger",  # off by default
)


def scrapy_settings(settings: Settings, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "BOT_NAME": "copywatch",
        "SPIDER_MODULES": ["crawler.spiders"],
        # Who we are: site owners can reach us.
        "USER_AGENT": settings.crawl_user_agent,
        # Politeness: robots.txt, per-domain concurrency, adaptive delay.
        "ROBOTSTXT_OBEY": settings.crawl_obey_robots,
        "CONCURRENT_REQUESTS": 16,
        # Items (and requests) a callback's output is worked through in parallel: Scrapy starts one
        # task per slot for every response, so the default 100 costs CPU on every page.
        "CONCURRENT_ITEMS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.crawl_concurrency_per_domain,
        "DOWNLOAD_DELAY": settings.crawl_delay_s,
        "RANDOMIZE_DOWNLOAD_DELAY": True,
        "AUTOTHROTTLE_ENABLED": settings.crawl_delay_s > 0,
        "AUTOTHROTTLE_START_DELAY": max(settings.crawl_delay_s, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        # Transient failures are retried with Scrapy's retry middleware (5xx, timeouts).
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "DOWNLOAD_TIMEOUT": 30,
        # Nothing bigger than an image we would accept; decompression bombs are refused later.
        "DOWNLOAD_MAXSIZE": settings.max_image_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": 5,
        # Only the web: no ftp://, file://, s3:// or data: downloads, whatever a page links to.
        "DOWNLOAD_HANDLERS": {"ftp": None, "file": None, "s3": None, "data": None},
        # Every request (and every redirect hop) checked against the fetch policy first.
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.guard.GuardMiddleware": 10,
            # Scrapy's timeout, default-headers and user-agent middlewares, in one call.
            **dict.fromkeys(_MERGED_DOWNLOADER_MIDDLEWARES),
            "crawler.speedups.RequestDefaultsMiddleware": 400,
            # Scrapy's own at their places, each with less work per response (crawler.speedups).
            _SCRAPY + "redirect.MetaRefreshMiddleware": None,
            "crawler.speedups.QuickMetaRefreshMiddleware": 580,
            _SCRAPY + "stats.DownloaderStats": None,
            "crawler.speedups.DownloaderCounts": 850,
        },
        # A warning for spiders that copy Scrapy's internal meta keys to new requests (ours never do).
        "SPIDER_MIDDLEWARES": {"scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None},
        # Left out of the base list rather than disabled in EXTENSIONS, which would import them.
        "EXTENSIONS_BASE": {k: v for k, v in EXTENSIONS_BASE.items() if k not in _UNUSED_EXTENSIONS},
        # Proxies come from the environment (http_proxy, https_proxy…); without any, the proxy
        # middleware would only look for one on every request.
        "HTTPPROXY_ENABLED": bool(getproxies()),
        "TWISTED_DNS_RESOLVER": "crawler.guard.GuardedResolver",
        "COPYWATCH_ALLOW_LOCAL": False,
        "COPYWATCH_OWN_PORTS": [],
        "COPYWATCH_ALLOWED_PORTS": [],
        # A page budget and a guard against link traps (see crawler/traps.py); both recorded in the
        # run's stats when they stop something.
        "COPYWATCH_MAX_PAGES": 50_000,
        "COPYWATCH_TRAP_CHAIN": 200,
        "COPYWATCH_TRAP_DRY": 3,
        # Deep enough for a 12-per-page category of thousands of products reached only by "next"
        # links; still a bound on endless link chains (calendars, session ids).
        "DEPTH_LIMIT": 500,
        "DEPTH_PRIORITY": 1,  # breadth-first: categories before deep pagination
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        # Stop runaway crawls (the page budget is COPYWATCH_MAX_PAGES: parsed pages, not images).
        "CLOSESPIDER_PAGECOUNT": 0,
        "CLOSESPIDER_ITEMCOUNT": 0,
        "CLOSESPIDER_TIMEOUT": 6 * 3600,
        "CLOSESPIDER_ERRORCOUNT": 0,
        # Optional HTTP cache for development (COPYWATCH_HTTPCACHE=1 through overrides).
        "HTTPCACHE_ENABLED": False,
        # The media pipeline keeps the served bytes, content-addressed under MEDIA_ROOT/listings.
        "FILES_STORE": str(settings.media_root / "listings"),
        "MEDIA_ALLOW_REDIRECTS": True,
        "ITEM_PIPELINES": {
            "crawler.pipelines.ListingImagesPipeline": 300,
            "crawler.pipelines.PersistListingPipeline": 400,
            "crawler.pipelines.PersistSellerPagePipeline": 450,
        },
        # Seller profile pages followed per crawl (each once; they count toward the page budget too).
        "COPYWATCH_MAX_SELLER_PAGES": 500,
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy's in-memory stats without a deprecation shim on every attribute read.
        "STATS_CLASS": "crawler.speedups.PlainStatsCollector",
        # Scrapy's remote control: an HTTP server in the crawl process that runs Python code sent to
        # it (with a token written to a job file). A crawl of strangers' pages offers no such door;
        # it also cost every crawl the import and start of an aiohttp server.
        "REMOTE_CONTROL_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
    values.update(overrides)
    if not values.get("HTTPAUTH_USER") and not values.get("HTTPAUTH_PASS"):
        # No credentials configured: the auth middleware would only look for them on every request.
        values["DOWNLOADER_MIDDLEWARES"] = {
            **values["DOWNLOADER_MIDDLEWARES"],
            _SCRAPY + "httpauth.HttpAuthMiddleware": None,
        }
    return values
