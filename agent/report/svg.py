"""Inline SVG charts (no script, no network): stacked bars over time and horizontal bars.

Every text that reaches the SVG is XML-escaped here; callers pass plain strings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
_FONT = 'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"'


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return float(step * exponent)
    return float(10 * exponent)


def _open(width: int, height: int, title: str, css_class: str) -> list[str]:
    t = escape(title)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'aria-label="{t}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'{_FONT} font-size="12">',
        f"<title>{t}</title>",
    ]


def stacked_bars(
    title: str,
    x_labels: Sequence[str],
    stacks: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 900,
    height: int = 320,
) -> str:
    """Bars over ``x_labels``, each stacked by the named series; a legend at the right."""
    parts = _open(width, height, title, "stacked")
    left, top, bottom, legend = 48, 16, 48, 150
    plot_w, plot_h = width - left - legend - 10, height - top - bottom
    n = max(len(x_labels), 1)
    totals = [sum(s[1][i] for s in stacks) for i in range(len(x_labels))]
    top_value = _nice_max(max(totals, default=0))
    bar_w = plot_w / n
    for k in range(5):  # grid lines and y labels
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                     'stroke="#ddd"/>')  # fmt: skip
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    for i in range(len(x_labels)):
        base = 0.0
        for j, (name, values) in enumerate(stacks):
            v = values[i]
            if not v:
                continue
            h = plot_h * v / top_value
            y = top + plot_h - base - h
            x = left + i * bar_w + bar_w * 0.1
            color = PALETTE[j % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.8:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(x_labels[i])} {escape(name)}: {v}</title></rect>'
            )
            base += h
    step = max(1, math.ceil(len(x_labels) / 12))
    for i in range(0, len(x_labels), step):
        x = left + (i + 0.5) * bar_w
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">'
                     f"{escape(x_labels[i])}</text>")  # fmt: skip
    for j, (name, values) in enumerate(stacks):
        y = top + 14 + j * 20
        x = width - legend + 4
        color = PALETTE[j % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 18}" y="{y}">{escape(name)} ({sum(values)})</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(slots=True, frozen=True)
class Bar:
    """One horizontal bar: a label, a value, the text shown, an optional reference mark."""

    label: str
    value: float
    text: str
    mark: float | None = None
    warn: bool = False


def hbars(title: str, bars: Sequence[Bar], *, width: int = 900, mark_label: str = "") -> str:
    """Horizontal bars; a bar with ``mark`` gets a dashed reference line (e.g. the SLA)."""
    row_h, label_w, top = 24, 260, 10
    height = top * 2 + row_h * max(len(bars), 1) + (16 if mark_label else 0)
    parts = _open(width, height, title, "hbars")
    plot_w = width - label_w - 90
    top_value = _nice_max(max([b.value for b in bars] + [b.mark or 0 for b in bars], default=0))
    if not bars:
        parts.append(f'<text x="10" y="{top + 16}" fill="#888">（无数据）</text>')
    for i, bar in enumerate(bars):
        y = top + i * row_h
        label = bar.label if len(bar.label) <= 22 else bar.label[:21] + "…"
        w = plot_w * bar.value / top_value
        color = "#e15759" if bar.warn else "#4e79a7"
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
                     f"<title>{escape(bar.label)}</title>{escape(label)}</text>")  # fmt: skip
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                     f'fill="{color}"/>')  # fmt: skip
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{escape(bar.text)}</text>')
        if bar.mark is not None:
            x = label_w + plot_w * bar.mark / top_value
            parts.append(f'<line x1="{x:.1f}" y1="{y + 1}" x2="{x:.1f}" y2="{y + row_h - 1}" '
                         'stroke="#333" stroke-dasharray="3,2"/>')  # fmt: skip
    if mark_label:
        y = height - 4
        parts.append(f'<line x1="{label_w}" y1="{y - 4}" x2="{label_w + 16}" y2="{y - 4}" '
                     'stroke="#333" stroke-dasharray="3,2"/>')  # fmt: skip
        parts.append(f'<text x="{label_w + 22}" y="{y}">{escape(mark_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
