"""Bar geometry for the server-rendered SVG charts (no script, no CDN: CSP `default-src 'self'`).

Every bar carries its label and value as text, so the charts read without colour.
"""

from dataclasses import dataclass

BAR_HEIGHT = 26
GAP = 10
LABEL_WIDTH = 90  # px for the label column
VALUE_WIDTH = 80  # px for the value text
WIDTH = 640


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    value_text: str
    x: float
    y: float
    width: float
    kind: str  # "gain", "loss", "flat", or "share" for parts of a whole


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    axis_x: float
    label_width: int = LABEL_WIDTH


def bar_chart(items: list[tuple[str, float | None, str]], shares: bool = False) -> BarChart:
    """Horizontal bars for (label, value, value text); negative values grow left of a zero axis.

    shares=True draws parts of a whole (one neutral colour) rather than gains and losses.
    """
    values = [v for _, v, _ in items if v is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    span = (high - low) or 1.0
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    axis = LABEL_WIDTH + plot * (-low / span)
    bars = []
    for i, (label, value, value_text) in enumerate(items):
        y = i * (BAR_HEIGHT + GAP)
        if value is None:
            bars.append(Bar(label, None, value_text, axis, y, 0, "flat"))
            continue
        length = plot * abs(value) / span
        x = axis if value >= 0 else axis - length
        kind = "share" if shares else "gain" if value > 0 else "loss" if value < 0 else "flat"
        bars.append(Bar(label, value, value_text, x, y, max(length, 1.0), kind))
    return BarChart(bars, WIDTH, max(len(items) * (BAR_HEIGHT + GAP) - GAP, BAR_HEIGHT), axis)
