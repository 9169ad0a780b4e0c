"""Reports: the reporting views as charts and tables, with CSV export, limited to the user's brands."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from markupsafe import Markup

from db.reporting import REPORTS, jsonable, report_csv, run_report
from review.charts import Series, horizontal_bars, legend, stacked_columns
from review.state import db, scope

bp = Blueprint("reports", __name__)

MAX_DAYS_CHARTED = 60


def _ids(brand_ids: frozenset[int] | None) -> list[int] | None:
    """The user's brands for ``run_report`` (None: an admin, every brand)."""
    return None if brand_ids is None else sorted(brand_ids)


def _since() -> date | None:
    try:
        return date.fromisoformat(request.args.get("since", "").strip())
    except ValueError:
        return None


def _n(value: Any) -> float:
    return float(value or 0)


def _status_series(rows: list[dict[str, Any]], keys: tuple[str, str, str]) -> list[Series]:
    confirmed, dismissed, pending = keys
    return [
        Series("confirmed", [_n(r[confirmed]) for r in rows], "s-confirmed"),
        Series("pending", [_n(r[pending]) for r in rows], "s-pending"),
        Series("dismissed", [_n(r[dismissed]) for r in rows], "s-dismissed"),
    ]


def _per_day_charts(rows: list[dict[str, Any]]) -> list[tuple[str, Markup]]:
    """One small chart per marketplace: small multiples stay readable where one crowded chart does not."""
    by_marketplace: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:  # one row per marketplace, day and brand: summed over the brands shown
        day = by_marketplace[row["marketplace"]].setdefault(
            str(jsonable(row["day"])), {"confirmed": 0, "dismissed": 0, "pending": 0}
        )
        for key in ("confirmed", "dismissed", "pending"):
            day[key] += _n(row[key])
    days = sorted({str(jsonable(r["day"])) for r in rows})[-MAX_DAYS_CHARTED:]
    charts = []
    for marketplace, per_day in sorted(by_marketplace.items()):
        filled = [per_day.get(day, {"confirmed": 0, "dismissed": 0, "pending": 0}) for day in days]
        series = _status_series(filled, ("confirmed", "dismissed", "pending"))
        charts.append(
            (marketplace, stacked_columns(days, series, title=f"Detections per day on {marketplace}"))
        )
    return charts


@bp.app_template_test("match_id")
def _is_id_column(name: str) -> bool:
    return name.endswith("_id")


@bp.route("/reports")
def index() -> Any:
    session = db()
    since = _since()
    brand_ids = scope().brand_ids
    data = {name: run_report(session, name, since, _ids(brand_ids)) for name in REPORTS}
    status_series = _status_series(data["brand_summary"], ("confirmed", "dismissed", "pending"))
    sellers = data["top_sellers"][:10]
    crawl = data["crawl_health"]
    charts = {
        "detections_per_day": _per_day_charts(data["detections_per_day"]),
        "top_sellers": horizontal_bars(
            [f"{r['seller'] or '(unknown)'} · {r['marketplace']}" for r in sellers],
            [Series("confirmed hits", [_n(r["confirmed_hits"]) for r in sellers], "s-confirmed")],
            title="Top sellers by confirmed hits",
        ),
        "brand_summary": horizontal_bars(
            [r["brand"] for r in data["brand_summary"]],
            status_series,
            title="Detections per brand by review status",
        ),
        "crawl_health": horizontal_bars(
            [r["marketplace"] for r in crawl],
            [
                Series(
                    "finished runs",
                    [_n(r["runs"]) - _n(r["failed_runs"]) - _n(r["running_runs"]) for r in crawl],
                    "s-confirmed",
                ),
                Series("running", [_n(r["running_runs"]) for r in crawl], "s-pending"),
                Series("failed runs", [_n(r["failed_runs"]) for r in crawl], "s-failed"),
            ],
            title="Crawl runs per marketplace",
        ),
        "time_to_takedown": _takedown_chart(data["time_to_takedown"]),
    }
    legends = {
        "status": legend(status_series),
        "crawl": legend(
            [
                Series("finished", [], "s-confirmed"),
                Series("running", [], "s-pending"),
                Series("failed", [], "s-failed"),
            ]
        ),
    }
    # From the per-day view: it counts logo-only detections too, which belong to no brand.
    totals = {
        key: sum(int(_n(r[key])) for r in data["detections_per_day"])
        for key in ("detections", "pending", "confirmed", "dismissed")
    }
    return render_template(
        "reports.html",
        reports=REPORTS,
        data=data,
        charts=charts,
        legends=legends,
        totals=totals,
        since=since.isoformat() if since else "",
        fmt=_display,
    )


def _takedown_chart(rows: list[dict[str, Any]]) -> Markup:
    """Mean hours from a sent notice to the removal the crawler saw, per seller and marketplace."""
    removed = [r for r in rows if _n(r["listings_removed"])][:20]
    return horizontal_bars(
        [f"{r['seller'] or '(unknown)'} · {r['marketplace']}" for r in removed],
        [
            Series(
                "mean hours to takedown",
                [round(_n(r["avg_hours_to_takedown"]), 2) for r in removed],
                "s-confirmed",
            )
        ],
        title="Mean hours from notice to removal",
    )


def _display(value: Any) -> Any:
    """A view value for the HTML table: timestamps to the minute, everything else as is."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = jsonable(value)
    if isinstance(text, str) and len(text) > 16 and text[10:11] in {"T", " "} and text[4:5] == "-":
        return text[:10] + " " + text[11:16]
    return text


@bp.route("/reports/<name>.csv")
def export(name: str) -> Any:
    if name not in REPORTS:
        abort(404, "No such report.")
    since = _since()
    body = report_csv(run_report(db(), name, since, _ids(scope().brand_ids)))
    filename = f"copywatch-{name}{'-since-' + since.isoformat() if since else ''}.csv"
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
