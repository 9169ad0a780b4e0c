"""Item pipelines, one job each, ordered in ``ITEM_PIPELINES``:

1. :class:`ListingImagesPipeline` — Scrapy's media machinery downloads every image URL once;
   each body is validated (magic bytes, declared pixels before decoding, minimum size) and
   stored *as served*, content-addressed by SHA-256, so one image under many URLs is stored
   once. Failures become a reason string, never an exception that loses the item.
2. :class:`PersistListingPipeline` — links each listing to its seller (``db.sellers``) and upserts listings and their images in batched
   transactions (up to 50 listings or a tenth of a second), records failed images with their reason,
   and only after a batch's commit queues its new images for scoring. An item is released (counts
   as scraped) only once committed; rows committed but not queued (a crash, a broker outage) stay
   ``queued`` and the periodic sweep queues them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from PIL import Image, UnidentifiedImageError
from scrapy.pipelines.files import FilesPipeline, FSFilesStore
from scrapy.pipelines.media import FileException
from scrapy.statscollectors import StatsCollector
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from copywatch.settings import Settings
from crawler.items import SellerItem
from detection.imagetype import sniff_image_type

log = logging.getLogger(__name__)

MIN_SIDE = 64
#: Redirect hops an image may take.
IMAGE_REDIRECTS = 3
_NOT_REDIRECTS = [*range(100, 300), *range(400, 600)]
_EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "gif": ".gif", "bmp": ".bmp", "tiff": ".tif", "webp": ".webp"}


def sniff_extension(body: bytes) -> str | None:
    """The image type's file extension from the first bytes (never from the URL or the Content-Type header)."""
    image_type = sniff_image_type(body)
    return None if image_type is None else _EXTENSIONS[image_type]


def validate_image(body: bytes, *, max_bytes: int, max_pixels: int) -> tuple[str, int, int]:
    """Check a downloaded body is an image we can score; returns (extension, width, height).

    Raises:
        FileException: with the reason (empty, not an image, too big, too small, corrupt).
    """
    if not body:
        raise FileException("empty body")
    if len(body) > max_bytes:
        raise FileException(f"too large: {len(body)} bytes > {max_bytes}")
    extension = sniff_extension(body)
    if extension is None:
        raise FileException(f"not an image (starts with {body[:8]!r})")
    try:
        with Image.open(io.BytesIO(body)) as image:
            width, height = image.size  # from the header: nothing decoded yet
            if width * height > max_pixels:
                raise FileException(f"too many pixels: {width}x{height} > {max_pixels}")
            if width < MIN_SIDE or height < MIN_SIDE:
                raise FileException(f"too small: {width}x{height} < {MIN_SIDE}x{MIN_SIDE}")
            if image.format == "JPEG":
                # Decode at 1/8 scale (DCT scaling): every entropy-coded byte is still read, so a
                # truncated or corrupt file fails the same way, at a fraction of the work.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()  # decodes: catches truncated and corrupt files
    except FileException:
        raise
    except Image.DecompressionBombError as exc:
        raise FileException(f"too many pixels: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise FileException(f"corrupt image: {exc}") from None
    return extension, width, height


class SharedFSFilesStore(FSFilesStore):
    """Scrapy's local file store, safe when several crawl processes share it: Scrapy checks that a
    directory is missing and then creates it, so the second of two crawls starting together
    failed with ``FileExistsError`` on the store's own folder."""

    def _mkdir(self, dirname: Path, domain: Any = None) -> None:
        dirname.mkdir(parents=True, exist_ok=True)


class ListingImagesPipeline(FilesPipeline):
    """Download, validate and store listing images (content-addressed)."""

    DEFAULT_FILES_URLS_FIELD = "image_urls"
    DEFAULT_FILES_RESULT_FIELD = "images"
    STORE_SCHEMES = {**FilesPipeline.STORE_SCHEMES, "": SharedFSFilesStore, "file": SharedFSFilesStore}

    def __init__(self, store_uri: str, download_func: None = None, *, crawler: Any) -> None:
        super().__init__(store_uri, download_func, crawler=crawler)
        self.max_bytes = crawler.settings.getint("DOWNLOAD_MAXSIZE") or 20 * 1024 * 1024
        self.max_pixels = crawler.settings.getint("COPYWATCH_MAX_IMAGE_PIXELS", 40_000_000)
        self._directories: set[str] = set()  # created under a local FILES_STORE

    def get_media_requests(self, item: Any, info: Any) -> list[Any]:
        from scrapy import Request

        # Redirects are followed (http→https, CDNs), at most IMAGE_REDIRECTS hops, each hop a new
        # request checked by the guard; every other status comes back here to be recorded.
        return [
            Request(url, meta={"handle_httpstatus_list": _NOT_REDIRECTS, "redirect_ttl": IMAGE_REDIRECTS})
            for url in ItemAdapter(item).get("image_urls", [])
        ]

    def media_to_download(self, request: Any, info: Any, *, item: Any = None) -> None:
        return None  # content-addressed: the path is only known from the bytes, so always fetch

    def media_downloaded(self, response: Any, request: Any, info: Any, *, item: Any = None) -> Any:
        """Scrapy's file info (url, path, checksum) of the stored image, plus its width and height."""
        if 300 <= response.status < 400:
            raise FileException(f"HTTP {response.status}: too many redirects (more than {IMAGE_REDIRECTS})")
        if response.status != 200:
            raise FileException(f"HTTP {response.status}")
        body = response.body
        extension, width, height = validate_image(body, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        checksum = hashlib.sha256(body).hexdigest()
        path = f"{checksum[:2]}/{checksum}{extension}"
        if type(self.store) is SharedFSFilesStore:
            self._write_local(self.store.basedir, checksum[:2], path, body)
        else:
            self.store.persist_file(path, io.BytesIO(body), info, meta={"width": width, "height": height})
        return {"url": request.url, "path": path, "checksum": checksum, "width": width, "height": height}

    def _write_local(self, basedir: str, directory: str, path: str, body: bytes) -> None:
        """What ``FSFilesStore.persist_file`` does (create the directory, write the bytes over any
        file of that name), without its per-file path objects and copy of the body."""
        directory = os.path.join(basedir, directory)
        if directory not in self._directories:
            os.makedirs(directory, exist_ok=True)
            self._directories.add(directory)
        fd = os.open(os.path.join(basedir, path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def media_failed(self, failure: Failure, request: Any, info: Any) -> Any:
        """Keep the failure as this image's result (Scrapy's own raises), so item_completed records why."""
        return failure

    def item_completed(self, results: Sequence[tuple[bool, Any]], item: Any, info: Any) -> Any:
        if isinstance(item, SellerItem):
            return item  # a seller profile page has no images to fetch
        adapter = ItemAdapter(item)
        outcome = []
        for url, (ok, value) in zip(adapter.get("image_urls", []), results, strict=False):
            if ok:
                outcome.append({"ok": True, **value})
            else:
                outcome.append({"ok": False, "url": url, "error": _reason(value)})
        adapter["images"] = outcome
        return item


def failure_kind(error: str) -> str:
    """A failed image's reason without its details: ``HTTP 404``, ``too small``, ``IgnoreRequest``."""
    head = error.split(":", 1)[0].strip()
    return head[:40] or "unknown"


def _reason(failure: Any) -> str:
    exc = getattr(failure, "value", failure)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, FileException) else text


class PersistListingPipeline:
    """Upsert listings and their images in batches, then queue new images after each commit.

    An item waits until its batch is committed (``FLUSH_ITEMS`` items or ``FLUSH_INTERVAL_S``
    after the batch's first item), so an item counts as scraped only once its rows are durable.
    A batch that fails is written again item by item, so one bad item loses only itself.
    """

    FLUSH_ITEMS = 50
    FLUSH_INTERVAL_S = 0.1

    def __init__(
        self, settings: Settings, marketplace_id: int, files_store: str, stats: StatsCollector
    ) -> None:
        from db.engine import make_engine, session_factory

        self.settings = settings
        self.stats = stats
        self.marketplace_id = marketplace_id
        self.files_store = files_store
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self._batch: list[tuple[Any, Deferred[Any]]] = []
        self._timer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> PersistListingPipeline:
        settings = crawler.settings.get("COPYWATCH_SETTINGS") or Settings.from_env()
        marketplace_id = crawler.settings.getint("COPYWATCH_MARKETPLACE_ID")
        return cls(settings, marketplace_id, crawler.settings.get("FILES_STORE"), crawler.stats)

    def close_spider(self, spider: Any = None) -> None:
        self.flush()
        self.engine.dispose()

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        from scrapy.utils.defer import maybe_deferred_to_future

        if isinstance(item, SellerItem):
            return item  # written by PersistSellerPagePipeline
        done: Deferred[Any] = Deferred()
        self._batch.append((item, done))
        if len(self._batch) >= self.FLUSH_ITEMS:
            self.flush()
        elif self._timer is None:
            from twisted.internet import reactor

            # Twisted types the reactor through zope interfaces, whose methods mypy reads as if
            # their first argument were self; as a plain callable the call is what it is.
            call_later: Callable[..., Any] = reactor.callLater
            self._timer = call_later(self.FLUSH_INTERVAL_S, self.flush)
        return await maybe_deferred_to_future(done)

    def flush(self) -> None:
        """Write the waiting items in one transaction, queue their new images, release them."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        batch, self._batch = self._batch, []
        if not batch:
            return
        try:
            new_ids, written = self._write([item for item, _ in batch]), batch
        except Exception:  # noqa: BLE001 - retried one by one below, each failure on its own item
            log.warning("a batch of %d listings failed; writing them one by one", len(batch), exc_info=True)
            new_ids, written = [], []
            for item, done in batch:
                try:
                    new_ids += self._write([item])
                    written.append((item, done))
                except Exception as exc:  # noqa: BLE001 - the item fails, the others are kept
                    self.stats.inc_value("copywatch/listings/failed")
                    self.stats.inc_value(f"copywatch/listings/failed/{type(exc).__name__}")
                    done.errback(exc)
        if new_ids:
            self._enqueue(new_ids)
        for item, done in written:
            done.callback(item)

    def _write(self, items: list[Any]) -> list[int]:
        """Upsert ``items`` in one transaction; returns the ids of images new to their listing."""
        from db.listings import record_download_failure, upsert_listing, upsert_listing_image
        from db.sellers import link_listing_to_seller

        new_ids: list[int] = []
        counts: dict[str, int] = {}
        with self.sessions() as session, session.begin():
            for adapter in map(ItemAdapter, items):
                listing_id = upsert_listing(
                    session,
                    marketplace_id=self.marketplace_id,
                    url=adapter["url"],
                    title=adapter.get("title"),
                    price=adapter.get("price"),
                    currency=adapter.get("currency"),
                    seller=adapter.get("seller"),
                )
                link_listing_to_seller(
                    session, self.marketplace_id, listing_id, adapter.get("seller_info"),
                    adapter.get("seller"), adapter.get("contacts"), adapter["url"],
                )  # fmt: skip
                for result in adapter.get("images", []):
                    if result["ok"]:
                        image_id, is_new = upsert_listing_image(
                            session,
                            listing_id=listing_id,
                            url=result["url"],
                            sha256=result["checksum"],
                            path=f"listings/{result['path']}",
                            width=result["width"],
                            height=result["height"],
                        )
                        if is_new:
                            new_ids.append(image_id)
                        key = "copywatch/images/stored" if is_new else "copywatch/images/known"
                    else:
                        record_download_failure(
                            session, listing_id=listing_id, url=result["url"], error=result["error"]
                        )
                        key = "copywatch/images/failed"
                        why = f"copywatch/images/failed/{failure_kind(result['error'])}"
                        counts[why] = counts.get(why, 0) + 1
                    counts[key] = counts.get(key, 0) + 1
        for key, count in counts.items():
            self.stats.inc_value(key, count)
        self.stats.inc_value("copywatch/listings", len(items))
        return new_ids

    def _enqueue(self, ids: list[int]) -> None:
        """Queue after the commit; if that fails the rows stay ``queued`` for the periodic sweep."""
        try:
            from workers.enqueue import enqueue_score_images

            enqueue_score_images(self.settings, ids)
            self.stats.inc_value("copywatch/images/queued", len(ids))
        except Exception as exc:  # noqa: BLE001 - the rows are durable; the sweep re-queues them
            log.warning("could not queue %d images for scoring (they stay queued): %s", len(ids), exc)
            self.stats.inc_value("copywatch/images/enqueue_failed", len(ids))


class PersistSellerPagePipeline:
    """Write what a seller's profile page said (name, contact keys, or why it could not be read).

    One short transaction per page; a failure is logged and counted, and loses only that page.
    """

    def __init__(self, settings: Settings, marketplace_id: int, stats: StatsCollector) -> None:
        from db.engine import make_engine, session_factory

        self.marketplace_id = marketplace_id
        self.stats = stats
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)

    @classmethod
    def from_crawler(cls, crawler: Any) -> PersistSellerPagePipeline:
        settings = crawler.settings.get("COPYWATCH_SETTINGS") or Settings.from_env()
        return cls(settings, crawler.settings.getint("COPYWATCH_MARKETPLACE_ID"), crawler.stats)

    def close_spider(self, spider: Any = None) -> None:
        self.engine.dispose()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, SellerItem):
            return item
        from db.sellers import record_seller_page

        try:
            with self.sessions() as session, session.begin():
                record_seller_page(
                    session,
                    self.marketplace_id,
                    seller=dict(item.get("seller") or {}),
                    page_url=item.get("page_url"),
                    name=item.get("name"),
                    contacts=list(item.get("contacts") or []),
                    error=item.get("error"),
                )
            self.stats.inc_value("copywatch/sellers/recorded")
        except Exception as exc:  # noqa: BLE001 - one seller page lost, the crawl goes on
            log.warning("could not record seller page %s: %s", item.get("page_url"), exc)
            self.stats.inc_value("copywatch/sellers/record_failed")
        return item
