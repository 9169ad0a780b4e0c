"""Full-page screenshots by headless Chromium: Debian's ``chromium`` driven through Playwright.

Nothing is downloaded: the browser is the system's (``executable_path``), started once per process
and reused; a browser that crashed is started again on the next capture. The same address policy
as the fetch applies to every request the page makes (unless the marketplace is local).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

from takedown.netpolicy import FetchRefused, check_url

log = logging.getLogger(__name__)
T = TypeVar("T")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 800}
MAX_PAGE_HEIGHT = 10_000  # pixels: an endless page is cut here, not rendered to a giant PNG
PAGE_REUSE = 50  # captures per browser page before a fresh one (bounds memory a long run gathers)


class ScreenshotError(RuntimeError):
    """No screenshot; ``transient`` says whether another try may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Screenshotter:
    """One headless Chromium per process (not thread-safe across threads: one capture at a time).

    Example:
        >>> with Screenshotter("/usr/bin/chromium", user_agent="CopywatchBot") as shots:  # doctest: +SKIP
        ...     png = shots.capture("http://127.0.0.1:8000/p/1", timeout_s=20, allow_private=True)
    """

    def __init__(self, executable_path: str, *, user_agent: str) -> None:
        self.executable_path = executable_path
        self.user_agent = user_agent
        # Chromium ignores switches it does not know: this one lets an operator (or a test) find
        # this instance's processes.
        self.instance_id = uuid.uuid4().hex
        self._playwright: Any = None
        self._browser: Any = None
        self._lock = threading.Lock()
        # Playwright's sync objects belong to the thread that made them, and refuse a thread that
        # runs an asyncio loop: every browser call runs on this one thread of our own.
        self._thread: ThreadPoolExecutor | None = None
        self._host_verdicts: dict[str, str | None] = {}
        self._pages: dict[bool, tuple[Any, Any, int]] = {}  # allow_private -> (context, page, uses)

    def __enter__(self) -> Screenshotter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_browser(self) -> Any:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self._drop_browser()
        from playwright.sync_api import sync_playwright

        if self._playwright is None:
            self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=self.executable_path,
                headless=True,
                args=[*CHROMIUM_FLAGS, f"--copywatch-instance={self.instance_id}"],
            )
        except Exception as exc:
            raise ScreenshotError(
                f"cannot start chromium ({self.executable_path}): {exc}", transient=True
            ) from exc
        return self._browser

    def _drop_browser(self) -> None:
        self._pages.clear()
        browser, self._browser = self._browser, None
        if browser is not None:
            try:
                browser.close()
            except Exception:  # noqa: BLE001 - a crashed browser cannot be closed cleanly
                log.debug("closing a dead browser", exc_info=True)

    def _on_browser_thread(self, call: Callable[[], T]) -> T:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="screenshotter")
        return self._thread.submit(call).result()

    def start(self) -> None:
        """Start the browser now (it otherwise starts on the first capture)."""
        with self._lock:
            self._on_browser_thread(self._ensure_browser)

    def close(self) -> None:
        with self._lock:
            if self._thread is None:
                return
            self._on_browser_thread(self._stop)
            self._thread.shutdown(wait=True)
            self._thread = None

    def _stop(self) -> None:
        self._drop_browser()
        if self._playwright is not None:
            try:
                self._playwright.stop()
            except Exception:  # noqa: BLE001
                log.debug("stopping playwright", exc_info=True)
            self._playwright = None

    def _allowed(self, url: str) -> bool:
        if url.startswith(("data:", "blob:", "about:")):
            return True
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.hostname}"
        if key not in self._host_verdicts:
            try:
                check_url(url, allow_private=False)
                self._host_verdicts[key] = None
            except FetchRefused as exc:
                self._host_verdicts[key] = str(exc)
        return self._host_verdicts[key] is None

    def _page(self, browser: Any, allow_private: bool) -> Any:
        """The open page for local or public marketplaces, recycled every :data:`PAGE_REUSE` captures.

        One page is reused (a new context and renderer per capture cost ~40 % more CPU); cookies
        are cleared before every capture, so one listing's visit does not change the next one's.
        """
        held = self._pages.get(allow_private)
        if held is not None and held[2] < PAGE_REUSE and not held[1].is_closed():
            self._pages[allow_private] = (held[0], held[1], held[2] + 1)
            held[0].clear_cookies()
            return held[1]
        if held is not None:
            _close_quietly(held[0])
        context = browser.new_context(user_agent=self.user_agent, viewport=VIEWPORT, service_workers="block")
        page = context.new_page()
        if not allow_private:
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if self._allowed(route.request.url) else route.abort("blockedbyclient")
                ),
            )
        self._pages[allow_private] = (context, page, 1)
        return page

    def _drop_pages(self) -> None:
        for context, _page, _uses in self._pages.values():
            _close_quietly(context)
        self._pages.clear()

    def capture(self, url: str, *, timeout_s: float, allow_private: bool) -> bytes:
        """A PNG of the whole page at ``url`` (cut at :data:`MAX_PAGE_HEIGHT` pixels).

        Raises:
            FetchRefused: the URL itself breaks the policy.
            ScreenshotError: the page did not load in time, or the browser crashed (transient: the
                browser is restarted on the next call), or another browser error.
        """
        check_url(url, allow_private=allow_private)
        with self._lock:
            return self._on_browser_thread(lambda: self._capture(url, timeout_s, allow_private))

    def _capture(self, url: str, timeout_s: float, allow_private: bool) -> bytes:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        browser = self._ensure_browser()
        try:
            page = self._page(browser, allow_private)
            timeout_ms = timeout_s * 1000
            page.goto(url, wait_until="load", timeout=timeout_ms)
            height = int(page.evaluate("() => document.documentElement.scrollHeight") or VIEWPORT["height"])
            clip = {
                "x": 0,
                "y": 0,
                "width": VIEWPORT["width"],
                "height": max(1, min(height, MAX_PAGE_HEIGHT)),
            }
            return bytes(page.screenshot(full_page=True, clip=clip, type="png", timeout=timeout_ms))
        except PlaywrightTimeout as exc:
            self._drop_pages()  # the page may still be loading: never reuse it
            raise ScreenshotError(f"the page did not render in {timeout_s:g} s", transient=True) from exc
        except PlaywrightError as exc:
            self._drop_pages()
            crashed = not browser.is_connected() or any(
                word in str(exc).lower() for word in ("crash", "closed", "disconnected")
            )
            if crashed:
                self._drop_browser()
                raise ScreenshotError(f"the browser crashed: {_first_line(exc)}", transient=True) from exc
            raise ScreenshotError(f"browser error: {_first_line(exc)}", transient=False) from exc


def _close_quietly(context: Any) -> None:
    try:
        context.close()
    except Exception:  # noqa: BLE001 - the browser may be gone already
        log.debug("closing a browser context", exc_info=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
