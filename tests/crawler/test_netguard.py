"""The fetch policy (``crawler.netguard``): schemes, ports and addresses a crawl may reach."""

from __future__ import annotations

import pytest

from crawler.netguard import FetchPolicy, address_refusal, url_refusal

PUBLIC = FetchPolicy.for_start_urls(["https://shop.example/"])
LOCAL = FetchPolicy.for_start_urls(["http://127.0.0.1:8401/"], allow_local=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://shop.example/a.jpg", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("http://shop.example:6379/", "port 6379"),
        ("http://127.0.0.1/", "loopback"),
        ("http://10.0.0.8/x.jpg", "private"),
        ("http://169.254.169.254/latest/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:192.168.1.1]/", "private"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://100.64.1.1/", "shared"),
        ("http://240.0.0.1/", "reserved"),
    ],
)
def test_refused_urls_say_why(url: str, reason: str) -> None:
    refusal = url_refusal(url, PUBLIC)
    assert refusal is not None and reason in refusal


@pytest.mark.parametrize(
    "url", ["https://shop.example/p/1", "http://cdn.example/a.jpg", "http://8.8.8.8/x.png"]
)
def test_public_web_urls_are_allowed(url: str) -> None:
    assert url_refusal(url, PUBLIC) is None


def test_a_local_marketplace_reaches_only_its_own_local_host_and_port() -> None:
    assert url_refusal("http://127.0.0.1:8401/catalogue/", LOCAL) is None
    assert "port 8402" in (url_refusal("http://127.0.0.1:8402/", LOCAL) or "")
    assert "loopback" in (url_refusal("http://127.0.0.2/", LOCAL) or "")  # another local host
    assert address_refusal("127.0.0.1", LOCAL, "127.0.0.1") is None
    assert "not one of a local marketplace's own hosts" in (
        address_refusal("127.0.0.1", LOCAL, "localhost") or ""
    )
    assert address_refusal("93.184.216.34", PUBLIC, "shop.example") is None


def test_configured_ports_are_allowed() -> None:
    policy = FetchPolicy.for_start_urls(["https://shop.example/"], allowed_ports=[8443])
    assert url_refusal("https://shop.example:8443/", policy) is None
