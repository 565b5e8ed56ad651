"""Charts as inline SVG, drawn on the server: the dashboard needs no script and no CDN to show them.

Each function takes bars (a label and a value, in the order they are drawn) and the words
around them (title, description, what to say when there is nothing to draw) and returns one
``<svg role="img">`` string. Numbers are written by the caller's ``number`` function, so the
page's language and Indian digit grouping (1,23,456) reach the chart. Every label is
escaped, and characters XML cannot hold at all (NUL, most control characters) are dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

Number = Callable[[float], str]

# Characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets); anything else would make
# the whole page's SVG unreadable.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A label longer than this is cut (with an ellipsis) so one name cannot push the bars away.
MAX_LABEL_CHARS = 28
# A rough width of one character at the chart's font size, in SVG units per point of size:
# Latin and Devanagari text both average about 0.6 em.
CHAR_EM = 0.6
FONT = 12
SMALL_FONT = 10
TICKS = 5


@dataclass(frozen=True)
class Bar:
    """One bar: what it is (label), its value, and optionally a longer name for its tooltip."""

    label: str
    value: float
    title: str | None = None


def clean(text: str) -> str:
    """Return text without the characters XML cannot hold."""
    return _NOT_XML.sub("", text)


def _text(value: str) -> str:
    return escape(clean(value))


def _attr(value: str) -> str:
    return quoteattr(clean(value))


def shown_label(label: str) -> str:
    """Return a label as the chart shows it: XML-safe, cut to MAX_LABEL_CHARS."""
    label = clean(label)
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def nice_step(largest: float, ticks: int = TICKS) -> float:
    """Return a round step (1, 2 or 5 × 10ⁿ, at least 1) that divides 0..largest into about `ticks` parts."""
    if largest <= 0:
        return 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return max(1, multiple * power)
    return max(1, 10 * power)  # pragma: no cover - the loop always returns


def nice_ticks(largest: float, ticks: int = TICKS) -> list[float]:
    """Return the axis ticks from 0 to the first round number at or above `largest`."""
    step = nice_step(largest, ticks)
    top = max(1, math.ceil(largest / step)) * step
    count = round(top / step)
    return [_tidy(step * index) for index in range(count + 1)]


def _tidy(value: float) -> float:
    # Whole numbers stay ints, so the number function writes "20", not "20.0".
    return int(value) if float(value).is_integer() else value


def _head(chart_id: str, width: float, height: float, title: str, desc: str) -> list[str]:
    ident = clean(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" aria-labelledby={_attr(f"{ident}-title {ident}-desc")}>',
        f"<title id={_attr(ident + '-title')}>{_text(title)}</title>",
        f"<desc id={_attr(ident + '-desc')}>{_text(desc)}</desc>",
    ]


def _empty(chart_id: str, title: str, desc: str, empty_text: str, width: float = 640, height: float = 80) -> str:
    parts = _head(chart_id, width, height, title, desc)
    parts.append(
        f'<text class="chart-empty" x="{width / 2:g}" y="{height / 2:g}" text-anchor="middle" '
        f'dominant-baseline="middle" font-size="{FONT + 2}">{_text(empty_text)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _has_data(bars: Sequence[Bar]) -> bool:
    return any(bar.value > 0 for bar in bars)


def column_chart(
    bars: Sequence[Bar], *, chart_id: str, title: str, desc: str, empty_text: str, number: Number, height: float = 260,
) -> str:
    """Return a vertical bar chart (one column per bar, left to right) with its value above each column."""
    if not _has_data(bars):
        return _empty(chart_id, title, desc, empty_text)
    ticks = nice_ticks(max(bar.value for bar in bars))
    top = ticks[-1]
    axis_width = max(len(number(tick)) for tick in ticks) * SMALL_FONT * CHAR_EM + 10
    pitch = 24.0
    width = max(640.0, axis_width + pitch * len(bars) + 10)
    pitch = (width - axis_width - 10) / len(bars)
    top_margin, bottom_margin = 34.0, 24.0
    plot = height - top_margin - bottom_margin
    baseline = top_margin + plot
    # Label every column if the labels fit, else every n-th (the tooltip names each one).
    label_chars = max(len(shown_label(bar.label)) for bar in bars)
    every = max(1, math.ceil(label_chars * SMALL_FONT * CHAR_EM / pitch))
    parts = _head(chart_id, width, height, title, desc)
    parts.append('<g class="axis">')
    for tick in ticks:
        y = baseline - tick / top * plot
        parts.append(f'<line x1="{axis_width:g}" x2="{width - 5:g}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{axis_width - 4:g}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
            f'font-size="{SMALL_FONT}">{_text(number(tick))}</text>'
        )
    parts.append("</g>")
    # Values longer than a column is wide stand upright.
    upright = max(len(number(bar.value)) for bar in bars) * SMALL_FONT * CHAR_EM > pitch - 2
    for index, bar in enumerate(bars):
        x = axis_width + index * pitch
        bar_height = bar.value / top * plot
        y = baseline - bar_height
        middle = x + pitch / 2
        value = _text(number(bar.value))
        parts.append('<g class="bar">')
        parts.append(f"<title>{_text((bar.title or bar.label) + ': ' + number(bar.value))}</title>")
        parts.append(
            f'<rect x="{x + pitch * 0.15:.1f}" y="{y:.2f}" width="{pitch * 0.7:.1f}" height="{bar_height:.2f}" '
            f'data-value="{bar.value:g}"/>'
        )
        if upright:
            parts.append(
                f'<text class="value" x="{middle:.1f}" y="{y - 4:.1f}" font-size="{SMALL_FONT}" '
                f'transform="rotate(-90 {middle:.1f} {y - 4:.1f})" dominant-baseline="middle">{value}</text>'
            )
        else:
            parts.append(
                f'<text class="value" x="{middle:.1f}" y="{y - 4:.1f}" font-size="{SMALL_FONT}" text-anchor="middle">{value}</text>'
            )
        if index % every == 0:
            parts.append(
                f'<text class="label" x="{middle:.1f}" y="{baseline + 15:.1f}" font-size="{SMALL_FONT}" '
                f'text-anchor="middle">{_text(shown_label(bar.label))}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    bars: Sequence[Bar], *, chart_id: str, title: str, desc: str, empty_text: str, number: Number, width: float = 640,
) -> str:
    """Return a horizontal bar chart, the first bar at the top, its value at the end of each bar."""
    if not _has_data(bars):
        return _empty(chart_id, title, desc, empty_text, width)
    ticks = nice_ticks(max(bar.value for bar in bars))
    top = ticks[-1]
    row, gap = 22.0, 6.0
    label_width = max(len(shown_label(bar.label)) for bar in bars) * FONT * CHAR_EM + 12
    value_room = max(len(number(bar.value)) for bar in bars) * FONT * CHAR_EM + 10
    plot = max(120.0, width - label_width - value_room - 10)
    width = label_width + plot + value_room + 10
    top_margin, bottom_margin = 8.0, 22.0
    height = top_margin + len(bars) * (row + gap) + bottom_margin
    axis_y = height - bottom_margin
    parts = _head(chart_id, width, height, title, desc)
    parts.append('<g class="axis">')
    for tick in ticks:
        x = label_width + tick / top * plot
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top_margin:g}" y2="{axis_y:g}" class="grid"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 14:g}" text-anchor="middle" font-size="{SMALL_FONT}">{_text(number(tick))}</text>'
        )
    parts.append("</g>")
    for index, bar in enumerate(bars):
        y = top_margin + index * (row + gap)
        bar_width = bar.value / top * plot
        middle = y + row / 2
        parts.append('<g class="bar">')
        parts.append(f"<title>{_text((bar.title or bar.label) + ': ' + number(bar.value))}</title>")
        parts.append(
            f'<text class="label" x="{label_width - 8:g}" y="{middle:.1f}" text-anchor="end" dominant-baseline="middle" '
            f'font-size="{FONT}">{_text(shown_label(bar.label))}</text>'
        )
        parts.append(
            f'<rect x="{label_width:g}" y="{y:.1f}" width="{bar_width:.2f}" height="{row:g}" data-value="{bar.value:g}"/>'
        )
        parts.append(
            f'<text class="value" x="{label_width + bar_width + 5:.1f}" y="{middle:.1f}" dominant-baseline="middle" '
            f'font-size="{FONT}">{_text(number(bar.value))}</text>'
        )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
