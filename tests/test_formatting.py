"""Money, percentages, quantities and dates as an Australian investor reads them (pure)."""

import pytest

from portal.pages import formatting


@pytest.mark.parametrize("value, currency, signed, expected", [
    (18168.5, "AUD", False, "$18,168.50"),
    (1234.5, "USD", False, "US$1,234.50"),
    (430.65, "USD", True, "+US$430.65"),
    (-5, "USD", False, "−US$5.00"),
    (99.5, "NZD", False, "NZ$99.50"),
    (12.0, "GBP", False, "£12.00"),
    (1234.0, "CHF", False, "CHF 1,234.00"),
    (1234.4, "JPY", False, "¥1,234"),
    (-9.9, "AUD", True, "−$9.90"),
    (42.0, "AUD", True, "+$42.00"),
    (0, "AUD", True, "$0.00"),
    (None, "AUD", False, "—"),
    ("12", "AUD", False, "—"),
    (True, "AUD", False, "—"),
    (5, "NOT-A-CURRENCY", False, "5.00"),
    (5, None, False, "5.00"),
])
def test_money_is_formatted_for_australians(value, currency, signed, expected):
    assert formatting.money(value, currency, signed=signed) == expected


@pytest.mark.parametrize("value, signed, expected", [
    (12.5, True, "+12.50%"), (12.5, False, "12.50%"), (-5, True, "−5.00%"), (None, True, "—"), (False, True, "—"),
])
def test_percent(value, signed, expected):
    assert formatting.percent(value, signed=signed) == expected


@pytest.mark.parametrize("value, expected", [
    ("2026-11-21T00:00:00", "21 Nov 2026"), ("2026-11-21T00:00:00Z", "21 Nov 2026"), ("yesterday", "—"), (None, "—"),
    ("2026-06-30", "30 Jun 2026"), ("2026-07-01", "1 Jul 2026"), ("2026-09-15", "15 Sep 2026"),
])
def test_day(value, expected):
    assert formatting.day(value) == expected


def test_quantity_and_trend():
    assert formatting.quantity(1234.56789) == "1,234.5679"
    assert formatting.quantity("3") == "—"
    assert [formatting.trend(v) for v in (1, -1, 0, None)] == ["gain", "loss", "flat", "flat"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), "NaN", "inf", "-Infinity", True])
def test_no_number_is_read_from_nan_infinity_or_a_bool(value):
    """Python's JSON reads NaN and Infinity; no time, amount or count is one (a NaN iat was a 500: N8)."""
    from portal.core.values import is_number
    from portal.pages.reading import number

    assert number(value) is None and not is_number(value)
