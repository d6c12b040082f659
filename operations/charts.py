"""The dashboard's charts as inline SVG, drawn on the server like the reconciliation
report's (reconciliation/reports/chart.py): no script, nothing fetched, works under a
strict Content-Security-Policy. Each chart has an aria-label and a <title> per bar;
the page shows the same figures in a table beside it."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH = 560
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 14, 44
COLOURS = ("#1d70b8", "#00703c", "#d4351c", "#6f72af")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]


def _empty(label: str) -> SafeString:
    return mark_safe(  # noqa: S308  (every text is escaped)
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{WIDTH}" height="40" viewBox="0 0 {WIDTH} 40"><text x="10" y="25">'
        "Nothing in this period</text></svg>"
    )


def column_chart(
    label: str, categories: list[str], series: list[Series], *, percent: bool = False
) -> SafeString:
    """Columns per category, one per series side by side; ``percent``: values 0..1."""
    if not categories or not any(v for s in series for v in s.values):
        return _empty(label)
    top = 1.0 if percent else max(max(s.values) for s in series) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(categories)
    bar = max(min(slot * 0.8 / len(series), 28), 1)

    def y(value: float) -> float:
        return TOP + plot_h - value * plot_h / top

    def text(value: float) -> str:
        return f"{value:.0%}" if percent else f"{value:,.0f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="sans-serif" font-size="11" class="hub-chart">',
        f"<title>{escape(label)}</title>",
    ]
    for value in (0, top):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#b1b4b6"/><text x="{LEFT - 4}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end" fill="#0b0c0c">{escape(text(value))}</text>'
        )
    step = max(1, len(categories) // 10)
    for index, category in enumerate(categories):
        x0 = LEFT + index * slot + (slot - bar * len(series)) / 2
        for number, item in enumerate(series):
            value = item.values[index]
            parts.append(
                f'<rect x="{x0 + number * bar:.1f}" y="{y(value):.1f}" width="{bar:.1f}" '
                f'height="{max(y(0) - y(value), 0.5):.1f}" fill="{COLOURS[number % 4]}">'
                f"<title>{escape(category)} {escape(item.name)}: {escape(text(value))}</title>"
                "</rect>"
            )
        if index % step == 0:
            parts.append(
                f'<text x="{x0 + bar * len(series) / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" '
                f'text-anchor="middle" fill="#0b0c0c">{escape(category)}</text>'
            )
    for number, item in enumerate(series):
        x = LEFT + number * 130
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 16}" width="10" height="10" '
            f'fill="{COLOURS[number % 4]}"/><text x="{x + 14}" y="{HEIGHT - 7}" '
            f'fill="#0b0c0c">{escape(item.name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text is escaped)


def bar_chart(label: str, rows: list[tuple[str, int]]) -> SafeString:
    """Horizontal bars, largest first (returns by reason code)."""
    if not rows:
        return _empty(label)
    row_h, left = 22, 90
    height = TOP + row_h * len(rows) + 6
    top = max(n for _, n in rows) or 1
    plot_w = WIDTH - left - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="sans-serif" font-size="11" class="hub-chart">',
        f"<title>{escape(label)}</title>",
    ]
    for index, (name, value) in enumerate(rows):
        y = TOP + index * row_h
        width = max(value * plot_w / top, 0.5)
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" fill="#0b0c0c">'
            f'{escape(name)}</text><rect x="{left}" y="{y + 3}" width="{width:.1f}" '
            f'height="{row_h - 6}" fill="{COLOURS[2]}"><title>{escape(name)}: {value}</title>'
            f'</rect><text x="{left + width + 4:.1f}" y="{y + 14}" fill="#0b0c0c">{value}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text is escaped)
