"""Geometry for the server-rendered charts (no script, no CDN: CSP `default-src 'self'`): bars, and a
holding's units over time.

Each bar is a row of HTML: its label and value are text at the page's own size (so they stay
readable on a phone), and only the bar itself is a small SVG whose track stretches to the row.
Positions are in percent of that track. Every bar carries its value as text, so the charts read
without colour.
"""

from dataclasses import dataclass
from datetime import date

from .positions import PositionStep

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


PEAK_TOP = 8.0  # percent of the plot left above the largest position, so its markers are whole


@dataclass(frozen=True)
class PositionPoint:
    x: float  # percent of the plot's width, from the first trade
    y: float  # percent of its height, from the top: 100 is no units at all
    step: PositionStep


@dataclass(frozen=True)
class PositionChart:
    start: date
    end: date  # today, or the last trade if Navexa dates one later
    peak: float  # the most units ever held
    top: float  # where the peak is drawn
    points: list[PositionPoint]  # one per trade, where the position stands after it
    segments: list[tuple[float, float, float]]  # (x from, x to, y): the position held between trades
    risers: list[tuple[float, float, float]]  # (x, y before, y after): each trade's change


def position_chart(steps: list[PositionStep], today: date) -> PositionChart:
    """A step chart of units held over time, in percentages of the plot, so the SVG needs no
    viewBox: its markers stay round at any width. `steps` is non-empty and in date order."""
    start, end = steps[0].day, max(today, steps[-1].day)
    span = (end - start).days
    peak = max(s.units for s in steps)

    def x(day: date) -> float:
        return round(100 * (day - start).days / span, 2) if span else 0.0

    def y(units: float) -> float:
        return round(100 - (100 - PEAK_TOP) * units / peak, 2) if peak else 100.0

    points = [PositionPoint(x(s.day), y(s.units), s) for s in steps]
    ends = [p.x for p in points[1:]] + [100.0]
    before = [100.0] + [p.y for p in points[:-1]]
    return PositionChart(
        start=start, end=end, peak=peak, top=PEAK_TOP, points=points,
        segments=[(p.x, to, p.y) for p, to in zip(points, ends, strict=True)],
        risers=[(p.x, was, p.y) for p, was in zip(points, before, strict=True)])
