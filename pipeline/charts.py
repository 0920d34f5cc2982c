"""Inline SVG charts as pure functions returning SVG strings.

Every label is a ``<text>`` element, so the browser shapes Persian/Arabic script and picks the
font (nothing is rasterised, nothing is loaded). Every piece of text and every attribute value
goes through :func:`html.escape`, so labels taken from data cannot inject markup. Coordinates
are rounded to one decimal, so the same input gives byte-identical SVG.

Time runs left to right (as numbers and dates are read in Persian and Arabic too); labels
written in Arabic script are set with ``direction="rtl"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

#: Okabe–Ito palette (distinguishable with colour-vision deficiencies), then greys.
PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#999999",
)
FONT = "Vazirmatn, 'Noto Naskh Arabic', 'Noto Sans Arabic', Tahoma, 'DejaVu Sans', sans-serif"


def _n(x: float) -> str:
    """A coordinate with at most one decimal and no trailing zeros."""
    text = f"{x:.1f}"
    return text.removesuffix(".0")


def _text(
    x: float,
    y: float,
    label: str,
    *,
    anchor: str = "start",
    rtl: bool = False,
    size: int = 12,
    fill: str = "#333",
    weight: str | None = None,
) -> str:
    attrs = f'x="{_n(x)}" y="{_n(y)}" font-size="{size}" fill="{fill}" text-anchor="{anchor}"'
    attrs += ' direction="rtl"' if rtl else ' direction="ltr"'
    if weight:
        attrs += f' font-weight="{weight}"'
    return f"<text {attrs}>{escape(str(label))}</text>"


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{escape(label, quote=True)}" '
        f'font-family="{escape(FONT, quote=True)}">'
    )
    return head + f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"


def _nice_max(value: float) -> float:
    if value <= 0 or math.isnan(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value:
            return step * exp
    return 10 * exp


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    width: int = 760,
    height: int = 280,
    highlight: int | None = None,
) -> str:
    """A multi-series line chart over periods, legend on the right (the start of an RTL line).

    Parameters
    ----------
    x_labels : one label per period (e.g. ``"10-19"``), left to right.
    series : (name, values) pairs; each values sequence has ``len(x_labels)`` numbers.
    title : accessible name of the chart (``<title>``).
    fmt : formats a y-axis tick value.
    highlight : index of a period to shade (the current period).
    """
    legend_w = 210
    left, right, top, bottom = 48, legend_w + 12, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(x_labels)
    peak = max((max(v) if len(v) else 0) for _, v in series) if series else 0
    y_max = _nice_max(float(peak))
    body: list[str] = []

    def x_at(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else 0)

    def y_at(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    if highlight is not None and 0 <= highlight < n:
        band = plot_w / n
        body.append(
            f'<rect x="{_n(left + band * highlight)}" y="{_n(top)}" width="{_n(band)}" height="{_n(plot_h)}" '
            'fill="#fff3c4"/>'
        )
    for k in range(5):
        v = y_max * k / 4
        y = y_at(v)
        body.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" stroke="#e3e3e3"/>'
        )
        body.append(_text(left - 6, y + 4, fmt(v), anchor="end", size=11, fill="#666"))
    step = max(1, math.ceil(n / 12))
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            body.append(_text(x_at(i), height - 10, label, anchor="middle", size=11, fill="#666"))
    for s, (name, values) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{_n(x_at(i))},{_n(y_at(float(v)))}" for i, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, v in enumerate(values):
            body.append(
                f'<circle cx="{_n(x_at(i))}" cy="{_n(y_at(float(v)))}" r="2.5" fill="{color}"/>'
            )
        ly = top + 8 + 20 * s
        body.append(
            f'<rect x="{_n(width - 14)}" y="{_n(ly - 9)}" width="10" height="10" fill="{color}"/>'
        )
        body.append(_text(width - 20, ly, name, anchor="start", rtl=True, size=12))
    return _svg(width, height, title, body)


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    width: int = 760,
    bar_height: int = 20,
    label_width: int = 230,
    color: str = PALETTE[0],
) -> str:
    """Horizontal bars laid out right to left: label on the right, bar growing to the left.

    Negative values are drawn as zero-length bars; their value is still written.
    """
    gap = 8
    height = max(1, len(rows)) * (bar_height + gap) + gap
    base = width - label_width - 8
    span = base - 60
    peak = max((v for _, v in rows), default=0.0)
    scale = span / peak if peak > 0 else 0.0
    body: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = gap + i * (bar_height + gap)
        length = max(0.0, float(value)) * scale
        body.append(
            _text(width - 4, y + bar_height * 0.72, label, anchor="start", rtl=True, size=12)
        )
        body.append(
            f'<rect x="{_n(base - length)}" y="{_n(y)}" width="{_n(length)}" height="{bar_height}" fill="{color}"/>'
        )
        body.append(
            _text(
                base - length - 6,
                y + bar_height * 0.72,
                fmt(float(value)),
                anchor="end",
                size=11,
                fill="#444",
            )
        )
    return _svg(width, height, title, body)


def sparkline(
    values: Sequence[float],
    *,
    title: str,
    width: int = 120,
    height: int = 26,
    color: str = PALETTE[0],
) -> str:
    """A tiny line of ``values`` with the last point marked."""
    n = len(values)
    peak = max(values) if n else 0
    y_max = float(peak) if peak > 0 else 1.0
    pad = 3

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        return x, pad + (height - 2 * pad) * (1 - float(v) / y_max)

    body = []
    if n:
        pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in (xy(i, v) for i, v in enumerate(values)))
        body.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        x, y = xy(n - 1, values[-1])
        body.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.5" fill="{PALETTE[1]}"/>')
    return _svg(width, height, title, body)


__all__ = ["FONT", "PALETTE", "bar_chart", "line_chart", "sparkline"]
