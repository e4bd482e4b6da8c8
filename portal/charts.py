"""Bar geometry for the server-rendered charts (no script, no CDN: CSP `default-src 'self'`).

Each bar is a row of HTML: its label and value are text at the page's own size (so they stay
readable on a phone), and only the bar itself is a small SVG whose track stretches to the row.
Positions are in percent of that track. Every bar carries its value as text, so the charts read
without colour.
"""

from dataclasses import dataclass

TRACK = 100.0  # the SVG track's width in its own units: positions below are percentages


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    value_text: str
    x: float  # where the bar starts, in percent of the track
    width: float  # its length, in percent of the track
    kind: str  # "gain", "loss", "flat", or "share" for parts of a whole


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    axis_x: float  # the zero line, in percent of the track


def bar_chart(items: list[tuple[str, float | None, str]], shares: bool = False) -> BarChart:
    """Horizontal bars for (label, value, value text); negative values grow left of a zero axis.

    shares=True draws parts of a whole (one neutral colour) rather than gains and losses.
    """
    values = [v for _, v, _ in items if v is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    span = (high - low) or 1.0
    axis = TRACK * (-low / span)
    bars = []
    for label, value, value_text in items:
        if value is None:
            bars.append(Bar(label, None, value_text, axis, 0, "flat"))
            continue
        length = TRACK * abs(value) / span
        x = axis if value >= 0 else axis - length
        kind = "share" if shares else "gain" if value > 0 else "loss" if value < 0 else "flat"
        bars.append(Bar(label, value, value_text, round(x, 2), round(max(length, 0.5), 2), kind))
    return BarChart(bars, round(axis, 2))
