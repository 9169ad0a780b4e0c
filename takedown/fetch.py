"""Fetch one listing page as evidence: every HTTP hop's request and response, as the server sent them.

Plain ``http.client`` so the exact request line and headers sent are known (they go into the WARC
request record). The crawler's rules apply on every hop (:func:`takedown.netpolicy.check_url`), with
a deadline for the whole fetch and a cap on the body: a body over the cap is kept up to the cap and
marked truncated rather than read to the end.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from takedown.netpolicy import FetchRefused, check_url

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
GONE_CODES = frozenset({404, 410})
# Worth another try later: the server is busy or broken for now.
TRANSIENT_CODES = frozenset({408, 425, 429, 500, 502, 503, 504, 522, 524})
CHUNK = 64 * 1024


class FetchError(RuntimeError):
    """The page could not be fetched; ``transient`` says whether a later try may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class HttpExchange:
    """One request and its response, headers in the order sent and received."""

    url: str
    request_line: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes
    truncated: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class FetchResult:
    """Every hop of a fetch (redirects first); the last one is the page."""

    exchanges: list[HttpExchange]

    @property
    def final(self) -> HttpExchange:
        return self.exchanges[-1]

    @property
    def status(self) -> int:
        return self.final.status

    @property
    def gone(self) -> bool:
        return self.final.status in GONE_CODES


def fetch_page(
    url: str,
    *,
    user_agent: str,
    timeout_s: float,
    max_bytes: int,
    allow_private: bool,
    max_redirects: int = 5,
    accept: str = "text/html,application/xhtml+xml,*/*;q=0.8",
) -> FetchResult:
    """GET ``url``, following up to ``max_redirects`` redirects, each hop checked by the policy.

    Args:
        url: the listing page.
        user_agent: sent as ``User-Agent`` (the crawler's).
        timeout_s: the deadline for the whole fetch, all hops and the body included.
        max_bytes: read at most this much body; a longer one is kept cut and marked truncated.
        allow_private: the marketplace is marked local (loopback and private addresses allowed).

    Returns:
        The hops; the final one may be any status (404/410 means the listing is gone).

    Raises:
        FetchRefused: the policy refused a hop (permanent).
        FetchError: timeout, connection failure or a broken response (``transient``), or too
            many redirects (permanent).
    """
    deadline = time.monotonic() + timeout_s
    exchanges: list[HttpExchange] = []
    current = url
    for _hop in range(max_redirects + 1):
        check_url(current, allow_private=allow_private)
        exchange = _get(current, user_agent, accept, deadline, max_bytes, timeout_s)
        exchanges.append(exchange)
        location = dict((k.lower(), v) for k, v in exchange.response_headers).get("location")
        if exchange.status in REDIRECT_CODES and location:
            current = urljoin(current, location.strip())
            continue
        return FetchResult(exchanges)
    raise FetchError(f"more than {max_redirects} redirects from {url}", transient=False)


def _get(
    url: str, user_agent: str, accept: str, deadline: float, max_bytes: int, timeout_s: float
) -> HttpExchange:
    parts = urlsplit(url)
    host = parts.hostname or ""
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"timed out after {timeout_s:g} s", transient=True)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(host, parts.port, timeout=remaining)
    host_header = parts.netloc.rsplit("@", 1)[-1]
    headers = [
        ("Host", host_header),
        ("User-Agent", user_agent),
        ("Accept", accept),
        # The payload is stored as served: no compression to undo, so the WARC holds what was read.
        ("Accept-Encoding", "identity"),
        ("Connection", "close"),
    ]
    started = datetime.now(UTC)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body, truncated = _read_body(response, deadline, max_bytes, timeout_s, connection)
        return HttpExchange(
            url=url,
            request_line=f"GET {path} HTTP/1.1",
            request_headers=headers,
            status=response.status,
            reason=response.reason or "",
            response_headers=list(response.getheaders()),
            body=body,
            truncated=truncated,
            started_at=started,
        )
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(f"timed out after {timeout_s:g} s", transient=True) from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}", transient=True) from None
    finally:
        connection.close()


def _read_body(
    response: http.client.HTTPResponse,
    deadline: float,
    max_bytes: int,
    timeout_s: float,
    connection: http.client.HTTPConnection,
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"timed out after {timeout_s:g} s reading the body", transient=True)
        if connection.sock is not None:
            connection.sock.settimeout(remaining)
        chunk = response.read(min(CHUNK, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True


__all__ = ["FetchError", "FetchRefused", "FetchResult", "HttpExchange", "fetch_page"]
