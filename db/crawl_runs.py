"""Crawl runs: the record of each crawl, and the "already running" check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.common import utcnow
from db.models import CrawlRun, CrawlStatus


def start_crawl_run(session: Session, marketplace_id: int) -> int:
    run = CrawlRun(marketplace_id=marketplace_id, status=CrawlStatus.RUNNING, stats={}, started_at=utcnow())
    session.add(run)
    session.flush()
    return run.id


def finish_crawl_run(
    session: Session, run_id: int, *, stats: dict[str, Any], error: str | None = None
) -> None:
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id)
        .values(
            finished_at=utcnow(),
            status=CrawlStatus.FAILED if error else CrawlStatus.FINISHED,
            stats=stats,
            error=error,
        )
    )


def crawl_in_progress(session: Session, marketplace_id: int, *, max_age_s: float) -> bool:
    """A crawl run of this marketplace is recorded as running, started less than ``max_age_s``
    ago (an older one is taken to have died)."""
    return (
        session.execute(
            select(CrawlRun.id).where(
                CrawlRun.marketplace_id == marketplace_id,
                CrawlRun.status == CrawlStatus.RUNNING,
                CrawlRun.started_at > utcnow() - timedelta(seconds=max_age_s),
            )
        ).first()
        is not None
    )


def get_crawl_run(session: Session, run_id: int) -> CrawlRun:
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise LookupError(f"crawl run {run_id} does not exist")
    return run
