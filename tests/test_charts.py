"""Bar geometry for the charts, in percent of each bar's track (pure)."""

from datetime import date

from portal.pages.charts import TRACK, bar_chart, position_chart
from portal.pages.positions import PositionStep


def test_positive_bars_grow_right_from_an_axis_at_the_left():
    chart = bar_chart([("a", 10.0, "10"), ("b", 5.0, "5")])
    assert chart.axis_x == 0
    assert chart.bars[0].width == TRACK and chart.bars[1].width == TRACK / 2
    assert [b.kind for b in chart.bars] == ["gain", "gain"]


def test_negative_bars_grow_left_of_the_zero_axis():
    chart = bar_chart([("up", 30.0, "+30"), ("down", -10.0, "−10")])
    up, down = chart.bars
    assert chart.axis_x == 25.0
    assert up.x == chart.axis_x and down.x + down.width == chart.axis_x
    assert down.kind == "loss" and up.width == 3 * down.width


def test_unknown_values_get_no_bar_and_shares_are_neutral():
    chart = bar_chart([("a", None, "—"), ("b", 2.0, "2%")], shares=True)
    assert chart.bars[0].width == 0 and chart.bars[0].kind == "flat"
    assert chart.bars[1].kind == "share"
    assert bar_chart([]).bars == []


def step(day, kind, quantity, units):
    return PositionStep(day, kind, quantity, units)


def test_the_position_chart_spans_first_trade_to_today_and_zero_to_the_most_units_held():
    steps = [step(date(2021, 1, 1), "buy", 100, 100), step(date(2022, 1, 1), "sell", 50, 50)]
    chart = position_chart(steps, date(2023, 1, 1))
    assert (chart.start, chart.end, chart.peak) == (date(2021, 1, 1), date(2023, 1, 1), 100)
    first, second = chart.points
    assert (first.x, second.x) == (0.0, 50.0)  # the sale is half way from the first trade to today
    assert first.y < second.y and first.y == chart.top  # y grows downwards; the peak touches the top margin
    assert chart.segments[0] == (0.0, 50.0, first.y) and chart.segments[1] == (50.0, 100.0, second.y)
    assert [p.step.kind for p in chart.points] == ["buy", "sell"]
    assert chart.risers == [(0.0, 100.0, first.y), (50.0, first.y, second.y)]  # from the baseline, then down


def test_a_position_sold_out_drops_to_the_baseline_and_a_single_trade_today_still_draws():
    chart = position_chart([step(date(2024, 1, 1), "buy", 10, 10), step(date(2024, 7, 1), "sell", 10, 0)], date(2025, 1, 1))
    assert chart.points[1].y == 100.0
    today = date(2026, 11, 21)
    lone = position_chart([step(today, "buy", 5, 5)], today)
    assert lone.points[0].x == 0.0 and lone.segments == [(0.0, 100.0, lone.top)]


def test_trades_after_today_stretch_the_axis_rather_than_fall_off_it():
    chart = position_chart([step(date(2026, 1, 1), "buy", 1, 1), step(date(2027, 1, 1), "buy", 1, 2)], date(2026, 7, 1))
    assert chart.end == date(2027, 1, 1) and chart.points[-1].x == 100.0
