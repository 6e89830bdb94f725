"""Charts drawn on the server as inline SVG: no script, no library fetched by the browser.

Every label is escaped here; the result is safe to put in a template as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = [
    "#2457c5", "#e07b00", "#1e8a4c", "#c0392b", "#7d3cb5", "#00838f",
    "#b8860b", "#d63384", "#556b2f", "#5d6d7e", "#8d6e63",
]  # fmt: skip
OTHER = "#b0b7c3"
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 800, 280, 56, 24, 12


def colours(names: list[str]) -> dict[str, str]:
    """A stable colour per series; past the palette they share the grey of "Other"."""
    return {name: PALETTE[i] if i < len(PALETTE) else OTHER for i, name in enumerate(names)}


def stacked_bars(
    days: list[date], series: dict[str, dict[date, Decimal]], colour: dict[str, str], marks: dict[date, str]
) -> SafeString:
    """Daily bars stacked by series (drawn in the order given); `marks` flags days with a note (anomalies)."""
    totals = [sum((values.get(day, Decimal(0)) for values in series.values()), Decimal(0)) for day in days]
    top = float(max(totals, default=0)) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(days), 1)
    bar = max(step * 0.8, 0.5)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" class="stacked" '
        'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="system-ui, sans-serif">',
        '<title id="chart-title">Daily spend by AWS service</title>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dde4"/>')
        label = f"${top * fraction:,.0f}"
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#5d6675">{label}</text>')
    labels = {name: escape(name) for name in series}  # once per series: a year's chart has thousands of bars
    for i, day in enumerate(days):
        x = LEFT + i * step + (step - bar) / 2
        y = TOP + plot_h
        for name, values in series.items():
            amount = values.get(day)
            if not amount:
                continue
            h = float(amount) / top * plot_h
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour[name]}">'
                f"<title>{day}: {labels[name]} ${float(amount):,.2f}</title></rect>"  # in cents: a float says the same
            )
        if day in marks:
            cx = x + bar / 2
            parts.append(
                f'<g class="anomaly"><line x1="{cx:.1f}" x2="{cx:.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
                f'stroke="#b3261e" stroke-dasharray="3 2"/><path d="M{cx - 5:.1f} {TOP} h10 l-5 8 z" fill="#b3261e"/>'
                f"<title>{escape(marks[day])}</title></g>"
            )
    for i in _label_positions(len(days)):
        x = LEFT + i * step + step / 2
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle" fill="#5d6675">{days[i]:%b %d}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built above from numbers and escaped names


def sparkline(values: Sequence[Decimal | float], colour: str = PALETTE[0]) -> SafeString:
    """A small trend line, scaled to its own maximum."""
    width, height = 160, 32
    top = float(max(values, default=0)) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - float(v) / top * (height - 4):.1f}" for i, v in enumerate(values))
    return mark_safe(  # noqa: S308 - numbers only
        f'<svg viewBox="0 0 {width} {height}" class="spark" xmlns="http://www.w3.org/2000/svg" aria-hidden="true">'
        f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/></svg>'
    )


def _label_positions(count: int, most: int = 8) -> range:
    return range(0, count, max(1, -(-count // most)))
