"""Bar charts as SVG, drawn on the server: readable without JavaScript, no chart library.

Each chart scales to its container (a viewBox, width 100%) and carries a title and a
description for screen readers; the page prints the same figures as a table beside it.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 44, 34, 12


def bar_chart(points: list[tuple[str, float]], *, title: str, chart_id: str) -> SafeString:
    """``points``: (label, value) pairs, drawn left to right; labels are escaped."""
    top = max([value for _, value in points] + [1])
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    step = plot_width / max(len(points), 1)
    bar = min(step * 0.7, 48)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_height}" x2="{WIDTH - 8}" '
        f'y2="{MARGIN_TOP + plot_height}" stroke="#5b6678"/>',
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 10}" text-anchor="end" '
        f'font-size="12" fill="#3d4757">{_number(top)}</text>',
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + plot_height}" text-anchor="end" '
        f'font-size="12" fill="#3d4757">0</text>',
    ]
    every = max(1, len(points) // 6)  # label every n-th bar so labels never overlap
    for index, (label, value) in enumerate(points):
        height = plot_height * value / top
        x = MARGIN_LEFT + index * step + (step - bar) / 2
        y = MARGIN_TOP + plot_height - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
            f'fill="#1f6feb"><title>{escape(label)}: {_number(value)}</title></rect>'
        )
        if index % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle" '
                f'font-size="12" fill="#3d4757">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


def _number(value: float) -> str:
    return f"{value:,.0f}"
