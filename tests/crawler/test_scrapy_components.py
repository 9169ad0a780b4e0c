"""The crawl's Scrapy components: what it leaves out, and its cheaper stand-ins doing what Scrapy's did."""

from __future__ import annotations

import subprocess
import sys

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.defaultheaders import DefaultHeadersMiddleware
from scrapy.downloadermiddlewares.downloadtimeout import DownloadTimeoutMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.stats import DownloaderStats
from scrapy.downloadermiddlewares.useragent import UserAgentMiddleware
from scrapy.http import HtmlResponse, Response
from scrapy.settings import Settings as ScrapySettings
from scrapy.utils.conf import build_component_list
from scrapy.utils.test import get_crawler

from copywatch.settings import Settings
from crawler.settings import scrapy_settings
from crawler.speedups import DownloaderCounts, QuickMetaRefreshMiddleware, RequestDefaultsMiddleware

SCRAPY = "scrapy.downloadermiddlewares."


def _enabled(values: dict, name: str) -> list[str]:
    return build_component_list(ScrapySettings(values).get_component_priority_dict_with_base(name))


def _values(**overrides: object) -> dict:
    return scrapy_settings(Settings.from_env({}), **overrides)


def test_the_crawl_keeps_every_component_its_safety_needs_and_leaves_out_the_unused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    values = _values()
    downloader = _enabled(values, "DOWNLOADER_MIDDLEWARES")
    for kept in (
        "crawler.guard.GuardMiddleware",
        SCRAPY + "offsite.OffsiteMiddleware",
        SCRAPY + "robotstxt.RobotsTxtMiddleware",
        SCRAPY + "retry.RetryMiddleware",
        SCRAPY + "redirect.RedirectMiddleware",
        SCRAPY + "httpcompression.HttpCompressionMiddleware",
        SCRAPY + "cookies.CookiesMiddleware",
    ):
        assert kept in downloader
    assert downloader[0] == "crawler.guard.GuardMiddleware"  # before every other
    for left_out in (
        "httpauth.HttpAuthMiddleware",
        "downloadtimeout.DownloadTimeoutMiddleware",
        "defaultheaders.DefaultHeadersMiddleware",
        "useragent.UserAgentMiddleware",
        "redirect.MetaRefreshMiddleware",
        "stats.DownloaderStats",
    ):
        assert SCRAPY + left_out not in downloader
    assert values["HTTPPROXY_ENABLED"] is False
    spider = _enabled(values, "SPIDER_MIDDLEWARES")
    assert "scrapy.spidermiddlewares.depth.DepthMiddleware" in spider
    assert "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware" not in spider
    extensions = _enabled(values, "EXTENSIONS")
    assert "scrapy.extensions.closespider.CloseSpider" in extensions  # the crawl's time limit
    assert "scrapy.extensions.corestats.CoreStats" in extensions  # finish_reason, item counts
    assert "scrapy.extensions.remote_control.RemoteControl" not in extensions
    assert "scrapy.extensions.feedexport.FeedExporter" not in extensions


def test_a_configured_proxy_or_credentials_keep_their_middlewares(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    values = _values(HTTPAUTH_USER="user", HTTPAUTH_PASS="secret", HTTPAUTH_DOMAIN="shop.example")
    assert values["HTTPPROXY_ENABLED"] is True
    assert SCRAPY + "httpauth.HttpAuthMiddleware" in _enabled(values, "DOWNLOADER_MIDDLEWARES")


def test_loading_the_extensions_imports_none_of_those_left_out() -> None:
    # Scrapy imports every listed extension before it asks one whether it is configured; the
    # remote control's module imports aiohttp (a sixth of a second of every crawl's start-up),
    # and naming an extension with ``None`` in EXTENSIONS imports it all the same.
    code = (
        "import sys; from copywatch.settings import Settings; from crawler.settings import scrapy_settings\n"
        "from scrapy.settings import Settings as S; from scrapy.utils.conf import build_component_list\n"
        "from scrapy.utils.misc import load_object\n"
        "s = S(scrapy_settings(Settings.from_env({})))\n"
        "for path in build_component_list(s.get_component_priority_dict_with_base('EXTENSIONS')):\n"
        "    load_object(path)\n"
        "print('scrapy.extensions.remote_control' in sys.modules, 'aiohttp' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_request_defaults_set_what_scrapys_three_middlewares_set() -> None:
    crawler = get_crawler(
        settings_dict=_values(DEFAULT_REQUEST_HEADERS={"Accept": "text/html", "X-Gone": None})
    )
    scrapys = [
        DownloadTimeoutMiddleware.from_crawler(crawler),
        DefaultHeadersMiddleware.from_crawler(crawler),
        UserAgentMiddleware.from_crawler(crawler),
    ]
    ours = RequestDefaultsMiddleware.from_crawler(crawler)
    for headers, meta in (({}, {}), ({"User-Agent": "Mine", "Accept": "*/*"}, {"download_timeout": 5})):
        theirs_request = Request("https://shop.example/p/1", headers=headers, meta=dict(meta))
        our_request = Request("https://shop.example/p/1", headers=headers, meta=dict(meta))
        for middleware in scrapys:
            assert middleware.process_request(theirs_request) is None
        assert ours.process_request(our_request) is None
        assert our_request.headers.to_unicode_dict() == theirs_request.headers.to_unicode_dict()
        assert our_request.meta == theirs_request.meta
    assert our_request.headers["User-Agent"] == b"Mine"  # never overwritten
    fresh = Request("https://shop.example/")
    ours.process_request(fresh)
    assert fresh.headers["User-Agent"] == Settings.crawl_user_agent.encode()
    assert fresh.meta["download_timeout"] == 30
    assert b"X-Gone" not in fresh.headers


_REFRESH = '<meta http-equiv="Refresh" content="0; url=/moved">'
_PAGES = {
    "no refresh": "<html><head><title>Chair</title></head><body><h1>Chair</h1></body></html>",
    "a refresh": f"<html><head>{_REFRESH}</head><body></body></html>",
    "upper case": f"<html><head>{_REFRESH.upper().replace('/MOVED', '/moved')}</head></html>",
    "refresh past 4096": f"<html><head><title>{'x' * 5000}</title>{_REFRESH}</head></html>",
    "the word elsewhere": "<html><body><p>Refresh the page to see new arrivals.</p></body></html>",
}


@pytest.mark.parametrize("page", sorted(_PAGES))
def test_the_quick_meta_refresh_redirects_exactly_as_scrapys(
    page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scrapy.downloadermiddlewares import redirect

    crawler = get_crawler(settings_dict=_values())
    scans: list[str] = []
    scan = redirect.get_meta_refresh
    monkeypatch.setattr(redirect, "get_meta_refresh", lambda r, **kw: (scans.append(r.url), scan(r, **kw))[1])
    results = []
    for middleware in (
        MetaRefreshMiddleware.from_crawler(crawler),
        QuickMetaRefreshMiddleware.from_crawler(crawler),
    ):
        request = Request("https://shop.example/old")
        response = HtmlResponse(request.url, body=_PAGES[page].encode(), encoding="utf-8", request=request)
        result = middleware.process_response(request, response)
        results.append(result.url if isinstance(result, Request) else ("response", result is response))
    assert results[0] == results[1]
    if page in {"a refresh", "upper case"}:
        assert results[1] == "https://shop.example/moved"
    if page == "no refresh":
        assert len(scans) == 1  # Scrapy's scanned the page; ours saw it could hold no refresh


def test_downloader_counts_keep_scrapys_counters_less_the_byte_totals() -> None:
    results = []
    for cls in (DownloaderStats, DownloaderCounts):
        crawler = get_crawler(settings_dict=_values())
        crawler.stats.open_spider()
        middleware = cls.from_crawler(crawler)
        request = Request("https://shop.example/p/1")
        middleware.process_request(request)
        middleware.process_response(request, Response(request.url, status=404, request=request))
        middleware.process_exception(request, TimeoutError())
        results.append(crawler.stats.get_stats())
    scrapys, ours = results
    assert {k: v for k, v in scrapys.items() if not k.endswith("_bytes")} == ours
    assert ours["downloader/response_status_count/404"] == 1
    assert ours["downloader/exception_type_count/builtins.TimeoutError"] == 1
