"""``--distributed``: crawl processes on one marketplace share its request queue and seen-set in Redis.

Built on scrapy-redis, with the queue in JSON (:mod:`crawler.queue_serializer`), never pickle. The keys belong to the marketplace in its database
(``copywatch:crawl:<digest>:…``), so processes started on the same marketplace split its pages
and fetch each once, and crawls of other databases never meet.

Each process of a session keeps a member key (``busy`` or ``idle``) alive with a heartbeat. An
idle process stays open while a peer is busy, since that peer may still queue pages; it closes
once the queue is empty and every member is idle. The last one out deletes the queue and the
seen-set, so the next crawl starts afresh; a crashed member's key expires after
``MEMBER_TTL_S``, and the next session's first process clears what that crash left.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from copywatch.settings import Settings

MEMBER_TTL_S = 30
HEARTBEAT_S = 10
BUSY, IDLE = "busy", "idle"


def key_prefix(settings: Settings, marketplace_id: int) -> str:
    """The Redis key prefix of one marketplace's shared crawl (its database and id)."""
    digest = hashlib.sha256(f"{settings.database_url}#{marketplace_id}".encode()).hexdigest()[:16]
    return f"copywatch:crawl:{digest}"


def scrapy_settings(settings: Settings, marketplace_id: int) -> dict[str, Any]:
    """The Scrapy settings that make a crawl share its queue and seen-set through Redis."""
    prefix = key_prefix(settings, marketplace_id)
    return {
        "SCHEDULER": "crawler.distributed.SharedScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # the last member out deletes the keys, not every process
        "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter",
        # JSON, not scrapy-redis's default pickle: whoever can write to Redis must not run code here.
        "SCHEDULER_SERIALIZER": "crawler.queue_serializer",
        "COPYWATCH_CRAWL_KEY_PREFIX": prefix,
        "REDIS_URL": settings.redis_url,
    }


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler, with members that wait for busy peers and clean up after the last."""

    prefix: str
    member_key: str
    status: str
    heartbeat: LoopingCall

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedScheduler:
        scheduler = super().from_crawler(crawler)
        scheduler.prefix = crawler.settings.get("COPYWATCH_CRAWL_KEY_PREFIX")
        scheduler.member_key = f"{scheduler.prefix}:member:{uuid.uuid4().hex}"
        scheduler.status = BUSY
        scheduler.heartbeat = LoopingCall(scheduler._beat)
        crawler.signals.connect(scheduler._on_idle, signal=signals.spider_idle)
        return scheduler

    def open(self, spider: Any) -> None:
        super().open(spider)
        if not self._peers():  # the first of a session: nothing a crashed one left may count
            self.flush()
        self.heartbeat.start(HEARTBEAT_S)

    def close(self, reason: str) -> None:
        if self.heartbeat.running:
            self.heartbeat.stop()
        self.server.delete(self.member_key)
        if not self._peers():
            self.flush()

    def next_request(self) -> Any:
        request = super().next_request()
        if request is not None and self.status != BUSY:
            self._set_status(BUSY)
        return request

    def _on_idle(self, spider: Any) -> None:
        self._set_status(IDLE)
        if len(self.queue) or BUSY in self._peers().values():
            raise DontCloseSpider

    def _peers(self) -> dict[str, str]:
        """The other live members and their status."""
        keys = [_text(k) for k in self.server.scan_iter(f"{self.prefix}:member:*")]
        keys = [k for k in keys if k != self.member_key]
        values = self.server.mget(keys) if keys else []
        return {k: _text(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def _set_status(self, status: str) -> None:
        self.status = status
        self.server.set(self.member_key, status, ex=MEMBER_TTL_S)

    def _beat(self) -> None:
        self._set_status(self.status)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
