"""Small inline SVG charts, drawn on the server: no JavaScript, no CDN, nothing inline for the CSP to block."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    css_class: str


def _nice_max(value: float) -> float:
    """The smallest 1-2-2.5-5 × 10^n at or above ``value``, so axis ticks read as round numbers."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for multiple in (1, 2, 2.5, 5, 10):
        if value <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def stacked_columns(
    labels: Sequence[str], series: Sequence[Series], *, title: str, height: int = 180
) -> Markup:
    """Vertical stacked columns, one per label (e.g. a day), with a legend and axis ticks."""
    width = max(320, 40 + len(labels) * 22)
    top, bottom, left = 12, 28, 36
    plot_h = height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    y_max = _nice_max(max(totals, default=0))
    step = (width - left - 8) / max(len(labels), 1)
    bar_w = max(4.0, min(18.0, step * 0.7))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{y_max * frac:g}</text>'
        )
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for s in series:
            h = plot_h * s.values[i] / y_max
            if h > 0:
                y -= h
                parts.append(
                    f'<rect class="{s.css_class}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                    f"<title>{escape(label)}: {s.values[i]:g} {escape(s.name)}</title></rect>"
                )
        if len(labels) <= 16 or i % max(1, len(labels) // 8) == 0:
            parts.append(
                f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{height - 10}" text-anchor="middle">'
                f"{escape(label[5:] if len(label) == 10 else label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(
    labels: Sequence[str], series: Sequence[Series], *, title: str, value_format: str = "{:g}"
) -> Markup:
    """Horizontal stacked bars, one row per label (e.g. a seller or a brand), totals at the end."""
    row_h, label_w, width = 24, 190, 640
    height = max(row_h * len(labels) + 8, 32)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    x_max = max(totals, default=0) or 1
    plot_w = width - label_w - 60
    parts = [
        f'<svg class="chart hbar" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, label in enumerate(labels):
        y = 4 + i * row_h
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(short)}</text>'
        )
        x = float(label_w)
        for s in series:
            w = plot_w * s.values[i] / x_max
            if w > 0:
                parts.append(
                    f'<rect class="{s.css_class}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}">'
                    f"<title>{escape(label)}: {s.values[i]:g} {escape(s.name)}</title></rect>"
                )
                x += w
        parts.append(
            f'<text class="value" x="{x + 6:.1f}" y="{y + 15}">{escape(value_format.format(totals[i]))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(series: Sequence[Series]) -> Markup:
    items = "".join(
        f'<span class="legend-item"><svg viewBox="0 0 10 10" class="swatch"><rect class="{s.css_class}" '
        f'width="10" height="10" rx="2"/></svg>{escape(s.name)}</span>'
        for s in series
    )
    return Markup(f'<div class="legend">{items}</div>')
