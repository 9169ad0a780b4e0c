"""Report queries over the reporting views (migration 0002).

The views are the contract: any SQL client sees the same figures (see ``docs/sql.md``). This
module only picks a view by a fixed name, applies the optional ``since`` cut-off to the view's
own date column, and orders the rows for display.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ReportSpec:
    """One report: the view it reads, the date column ``since`` applies to, its order and title."""

    view: str
    since_column: str
    order_by: str
    title: str
    description: str
    limit: int | None = None
    brand_column: str | None = "brand_id"  # None: the view holds no brand's data (crawl health)


REPORTS: dict[str, ReportSpec] = {
    "detections_per_day": ReportSpec(
        view="report_detections_per_marketplace_day",
        since_column="day",
        order_by="day, marketplace",
        title="Detections per marketplace per day",
        description="New hits found each day, and how many of them reviewers confirmed or dismissed.",
    ),
    "top_sellers": ReportSpec(
        view="report_top_sellers",
        since_column="last_confirmed_at",
        order_by="confirmed_hits DESC, listings DESC, marketplace, seller",
        title="Top sellers by confirmed hits",
        description="Sellers with the most confirmed copies (since: confirmed at least once since then).",
        limit=100,
    ),
    "brand_summary": ReportSpec(
        view="report_brand_summary",
        since_column="last_detection_at",
        order_by="brand",
        title="Per-brand summary",
        description="Originals in the catalog and the state of every detection, per brand.",
    ),
    "crawl_health": ReportSpec(
        view="report_crawl_health",
        since_column="last_started_at",
        order_by="marketplace",
        title="Crawl health",
        description="Crawl runs per marketplace, failures, and images that could not be stored.",
        brand_column=None,
    ),
    "networks": ReportSpec(
        view="report_top_networks",
        since_column="last_hit_at",
        order_by="confirmed_hits DESC, hits DESC, members DESC, network_id",
        title="Seller networks",
        description="Sellers tied by a shared contact or a shared stolen photo, with their hits per brand.",
        limit=200,
    ),
    "seller_hits": ReportSpec(
        view="report_seller_hits",
        since_column="last_hit_at",
        order_by="risk_score DESC, confirmed_hits DESC, hits DESC, seller_id",
        title="Sellers by risk",
        description="Every seller with hits: confirmed and pending, first and last seen, risk score.",
        limit=200,
    ),
    "repeat_offenders": ReportSpec(
        view="report_repeat_offenders",
        since_column="last_hit_at",
        order_by="confirmed_hits DESC, active_days DESC, seller_id",
        title="Repeat offenders",
        description="Sellers with confirmed copies on two or more listings or on two or more days.",
        limit=200,
    ),
    "time_to_takedown": ReportSpec(
        view="report_time_to_takedown",
        since_column="last_sent_at",
        order_by="marketplace, listings_removed DESC, seller",
        title="Time to takedown",
        description="Per marketplace and seller: listings in sent notices, how many the crawler saw removed, "
        "and the hours from the notice to the removal.",
    ),
}


def run_report(
    session: Session,
    name: str,
    since: date | datetime | None = None,
    brand_ids: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Rows of one reporting view, as dicts in display order.

    Args:
        session: an open database session (PostgreSQL or SQLite).
        name: one of :data:`REPORTS` (``detections_per_day``, ``top_sellers``, ``brand_summary``,
            ``crawl_health``, ``networks``, ``seller_hits``, ``repeat_offenders``, ``time_to_takedown``).
        since: keep rows whose date column (day, last confirmation, last detection, last crawl
            start) is on or after this date.
        brand_ids: only rows of these brands (a reviewer's granted brands, ``db.scoping``); None
            for all. Views without a brand column (crawl health) are not limited.

    Returns:
        One dict per row, keys as the view's columns.

    Raises:
        ValueError: for an unknown report name.
    """
    spec = REPORTS.get(name)
    if spec is None:
        raise ValueError(f"unknown report {name!r}; choose one of {', '.join(REPORTS)}")
    # View and column names come from the fixed table above, never from the caller.
    sql = f"SELECT * FROM {spec.view}"
    params: dict[str, Any] = {}
    conditions = []
    if since is not None:
        conditions.append(f"{spec.since_column} >= :since")
        params["since"] = _since_param(session, since)
    if brand_ids is not None and spec.brand_column:
        names = [f"b{i}" for i in range(len(brand_ids))]
        conditions.append(
            f"{spec.brand_column} IN ({', '.join(':' + n for n in names)})" if names else "1 = 0"
        )
        params.update({n: int(b) for n, b in zip(names, brand_ids, strict=True)})
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += f" ORDER BY {spec.order_by}"
    if spec.limit:
        sql += f" LIMIT {int(spec.limit)}"
    result = session.execute(text(sql), params)
    return [dict(row) for row in result.mappings()]


def _since_param(session: Session, since: date | datetime) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite keeps dates as ISO text; the text sorts like the date.
        return since.isoformat(sep=" ") if isinstance(since, datetime) else since.isoformat()
    return since


def jsonable(value: Any) -> Any:
    """A view value as JSON/CSV-friendly text or number (dates as ISO strings, decimals as floats)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def report_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV text with a header line (cells a spreadsheet would run as formulas are quoted)."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(jsonable(v)) for k, v in row.items()})
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    # Seller names come from marketplaces: keep a spreadsheet from running them as formulas.
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value
