"""Expected vs received per day as an inline SVG bar chart, drawn on the server.

No JavaScript and nothing fetched from elsewhere: the report page works offline, under
a strict Content-Security-Policy, and prints. Every text is escaped; the chart carries
a <title> per bar and an aria-label, and the page shows the same figures in a table.
"""

from __future__ import annotations

from html import escape

from reconciliation.reports.cells import money_text

WIDTH = 760
HEIGHT = 260
MARGIN_LEFT = 90
MARGIN_RIGHT = 10
MARGIN_TOP = 20
MARGIN_BOTTOM = 50
EXPECTED_COLOUR = "#1d70b8"
RECEIVED_COLOUR = "#00703c"


def daily_chart(daily: dict[str, list[int]], currency: str) -> str:
    """``daily``: {"YYYY-MM-DD": [expected, received]} in minor units."""
    days = sorted(daily)
    label = f"Expected and received per day in {currency}"
    if not days:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
            f'width="{WIDTH}" height="40"><text x="10" y="25">No movements in this period'
            "</text></svg>"
        )
    values = [v for day in days for v in daily[day]]
    top = max(max(values), 0)
    bottom = min(min(values), 0)
    span = (top - bottom) or 1
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT

    def y(value: int) -> float:
        return MARGIN_TOP + (top - value) * plot_height / span

    slot = plot_width / len(days)
    bar = max(min(slot * 0.38, 40), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(label)}</title>",
    ]
    labelled: list[float] = []
    for value in (0, top, bottom):
        if any(abs(y(value) - done) < 12 for done in labelled):
            continue  # too close to a line already drawn to be read
        labelled.append(y(value))
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{escape(money_text(value, currency))}</text>"
        )
    step = max(1, len(days) // 12)  # at most about a dozen date labels
    for index, day in enumerate(days):
        x = MARGIN_LEFT + index * slot + (slot - 2 * bar) / 2
        for offset, (value, colour, what) in enumerate(
            (
                (daily[day][0], EXPECTED_COLOUR, "expected"),
                (daily[day][1], RECEIVED_COLOUR, "received"),
            )
        ):
            y0, y1 = sorted((y(0), y(value)))
            parts.append(
                f'<rect x="{x + offset * bar:.1f}" y="{y0:.1f}" width="{bar:.1f}" '
                f'height="{max(y1 - y0, 0.5):.1f}" fill="{colour}">'
                f"<title>{escape(day)} {what}: {escape(money_text(value, currency))} "
                f"{escape(currency)}</title></rect>"
            )
        if index % step == 0:
            parts.append(
                f'<text x="{x + bar:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
                f'text-anchor="middle">{escape(day[5:])}</text>'
            )
    legend_y = HEIGHT - 12
    parts.append(
        f'<rect x="{MARGIN_LEFT}" y="{legend_y - 9}" width="10" height="10" '
        f'fill="{EXPECTED_COLOUR}"/><text x="{MARGIN_LEFT + 14}" y="{legend_y}">Expected</text>'
        f'<rect x="{MARGIN_LEFT + 90}" y="{legend_y - 9}" width="10" height="10" '
        f'fill="{RECEIVED_COLOUR}"/><text x="{MARGIN_LEFT + 104}" y="{legend_y}">Received</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
