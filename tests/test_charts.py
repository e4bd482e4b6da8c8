"""Bar geometry for the charts, in percent of each bar's track (pure)."""

from portal.charts import TRACK, bar_chart


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
