"""Portfolio shaping, pure: periods, holding rows, sorting, totals and the CSV (no server needed)."""

import csv
import dataclasses
import io
from datetime import date
from decimal import Decimal

import pytest

from portal.pages.income import INCOME_CSV_COLUMNS, financial_year, income_by_financial_year, income_csv
from portal.pages.money import Money
from portal.pages.portfolio import (
    COLUMNS,
    CSV_COLUMNS,
    SORT_KEYS,
    HoldingRow,
    PortfolioCard,
    currency_totals,
    diversification,
    holding_rows,
    holdings_csv,
    months_before,
    per_annum,
    period_params,
    period_years,
    sort_rows,
    summary_of,
)
from portal.pages.positions import holding_summary, position_history
from portal.pages.reading import number


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 11, 21), 1, date(2026, 10, 21)),
    (date(2026, 1, 15), 1, date(2025, 12, 15)),
    (date(2026, 3, 31), 1, date(2026, 2, 28)),
    (date(2024, 3, 31), 1, date(2024, 2, 29)),  # leap year
    (date(2000, 3, 31), 1, date(2000, 2, 29)),  # divisible by 400: leap
    (date(2100, 3, 31), 1, date(2100, 2, 28)),  # divisible by 100 only: not leap
    (date(2026, 5, 31), 3, date(2026, 2, 28)),
    (date(2026, 11, 21), 36, date(2023, 11, 21)),
])
def test_months_before_keeps_the_day_or_takes_the_months_last(day, months, expected):
    assert months_before(day, months) == expected


def test_period_params_span_the_period_and_all_has_no_start():
    today = date(2026, 11, 21)
    per_holding = {"groupBy": "holding", "isPortfolioGroup": "false", "showLocalCurrency": "false"}
    assert period_params("3M", today) == {"from": "2026-08-21", "to": "2026-11-21", **per_holding}
    assert period_params("ALL", today) == {"to": "2026-11-21", **per_holding}


@pytest.mark.parametrize("value, expected", [
    (3, 3.0), (2.5, 2.5), ("1,234.5", 1234.5), ("12", 12.0), (True, None), (None, None), ({}, None), ("x", None),
])
def test_number_accepts_numbers_and_numeric_text_only(value, expected):
    assert number(value) == expected


def test_summary_total_return_is_gain_plus_dividends_or_unknown():
    summary = summary_of({"totalReturn": {"totalValue": 100, "capitalGainValue": 10, "dividendReturnValue": 2.5}})
    assert summary.value == 100 and summary.total_return == 12.5
    assert summary_of({"totalReturn": {"capitalGainValue": 10}}).total_return is None
    assert summary_of("not a report").value is None


def test_holding_rows_join_by_id_mark_cash_and_keep_reported_but_unlisted():
    holdings = [
        {"id": 1, "symbol": "CBA", "name": "Commonwealth Bank", "exchange": "ASX", "currencyCode": "AUD"},
        {"id": 2, "symbol": "AUD", "exchange": "CASH", "holdingTypeId": 1},
        {"id": 3, "symbol": "X", "holdingTypeId": 3},
    ]
    performance = {"holdings": [
        {"id": 1, "totalQuantity": 10, "currentPrice": 100, "holdingWeight": 50, "totalReturn": {"totalValue": 1000}},
        {"id": 2, "totalQuantity": 1, "totalReturn": {"totalValue": 500}},
        {"id": 9, "symbol": "GHOST", "totalReturn": {"totalValue": 7}},
    ]}
    rows = holding_rows(holdings, performance, "AUD")
    assert [(r.id, r.symbol, r.is_cash) for r in rows] == [(1, "CBA", False), (2, "Cash", True), (3, "Cash", True),
                                                          (9, "GHOST", False)]
    assert (rows[0].units, rows[0].price, rows[0].value, rows[0].currency) == (10, Money(100, "AUD"), Money(1000, "AUD"), "AUD")
    assert rows[1].units is None and rows[1].value == Money(500, "AUD")  # cash has a value, not units


def test_a_foreign_holdings_amounts_are_in_the_portfolios_currency_and_its_price_in_its_own():
    """E1: Navexa's performance report gives a holding's value, gain and dividends in the portfolio's currency and its
    price in the holding's: AAPL in an AUD portfolio is worth A$3,473.50 at US$228.52."""
    rows = holding_rows([{"id": 4, "symbol": "AAPL", "currencyCode": "USD"}],
                        {"holdings": [{"id": 4, "currentPrice": 228.52, "totalReturn": {
                            "totalValue": 3473.5, "capitalGainValue": 553.43, "dividendReturnValue": 0}}]}, "AUD")
    r = rows[0]
    assert (r.price, r.value, r.capital_gain, r.dividends) == (
        Money(228.52, "USD"), Money(3473.5, "AUD"), Money(553.43, "AUD"), Money(0, "AUD"))
    assert r.currency == "USD"  # what it trades in: the "by currency" exposure


def row(symbol, value):
    return HoldingRow(None, symbol, None, None, "AUD", False, None, Money(None, "AUD"), Money(value, "AUD"), None,
                      Money(None, "AUD"), Money(None, "AUD"), None)


def test_sorting_puts_missing_values_last_in_both_directions_and_ignores_case():
    rows = [row("b", 2.0), row("A", None), row("c", 1.0)]
    assert [r.symbol for r in sort_rows(rows, "value", "asc")] == ["c", "b", "A"]
    assert [r.symbol for r in sort_rows(rows, "value", "desc")] == ["b", "c", "A"]
    assert [r.symbol for r in sort_rows(rows, "symbol", "asc")] == ["A", "b", "c"]


def card(currency, value, gain, dividends):
    report = {"totalReturn": {"totalValue": value, "capitalGainValue": gain, "dividendReturnValue": dividends}}
    return PortfolioCard(1, "p", currency, summary_of(report))


def test_currency_totals_add_per_currency_and_an_unknown_return_stays_unknown():
    totals = currency_totals([card("AUD", 100, 10, 1), card("AUD", 50, 5, 0), card("USD", 20, None, 0)])
    assert totals == [("AUD", 150.0, 16.0), ("USD", 20.0, None)]


def test_no_portfolio_is_left_out_of_the_totals():
    totals = currency_totals([card(None, 7, 1, 0), card("AUD", 100, 10, 1), card("AUD", None, 5, 0)])
    assert totals == [("AUD", None, 16.0), (None, 7.0, 1.0)]  # the unknown currency gets its own row, last


def test_the_column_table_names_holding_row_fields_and_drives_sorting_and_the_csv():
    fields = {f.name for f in dataclasses.fields(HoldingRow)}
    assert {c.key for c in COLUMNS} <= fields
    assert SORT_KEYS == tuple(c.key for c in COLUMNS)
    assert [key for _, key in CSV_COLUMNS] == [*SORT_KEYS, "value.currency", "price.currency"]


def test_csv_cells_cannot_become_spreadsheet_formulas():
    bad = HoldingRow(1, "=HYPERLINK(x)", "+cmd", "@x", "AUD", False, 1.0, Money(2.0, "AUD"), Money(2.0, "AUD"), 100.0,
                     Money(-1.0, "AUD"), Money(0.0, "AUD"), -0.5)
    data = list(csv.reader(io.StringIO(holdings_csv([bad]))))[1]
    assert data[:3] == ["'=HYPERLINK(x)", "'+cmd", "'@x"]
    assert data[7] == "-1.00"  # numbers keep their sign


def test_csv_numbers_are_plain_and_missing_values_empty():
    data = list(csv.reader(io.StringIO(holdings_csv([row("CBA", 1234.5)]))))
    assert data[0][0] == "Symbol" and data[0][-2:] == ["Currency", "Price currency"]
    assert data[1][5] == "1234.50" and data[1][3] == "" and data[1][-2:] == ["AUD", "AUD"]


@pytest.mark.parametrize("day, label", [
    (date(2026, 6, 30), "2025–26"), (date(2026, 7, 1), "2026–27"), (date(2026, 1, 1), "2025–26"),
    (date(2000, 7, 1), "2000–01"), (date(1999, 6, 30), "1998–99"),
])
def test_the_australian_financial_year_runs_from_july_to_june(day, label):
    assert financial_year(day) == label


TODAY = date(2026, 11, 21)  # in 2026–27


def test_income_is_grouped_by_the_financial_year_it_was_paid_in_newest_first():
    """CBA paid $70 + $30 franking on 30 Jun 2026 and $1 on 1 Sep 2025 (both 2025–26), and $7 + $3 on 1 Jul 2026
    (2026–27, to date). An undated payment is left out."""
    holdings = [{"id": 1, "symbol": "CBA", "name": "Commonwealth Bank", "currencyCode": "AUD"}]
    income = {1: [{"paidDate": "2026-06-30T00:00:00", "netAmount": 70, "frankingCredits": 30, "grossAmount": 100},
                  {"paidDate": "2026-07-01T00:00:00", "netAmount": 7, "frankingCredits": 3, "grossAmount": 10},
                  {"paidDate": "2025-09-01", "netAmount": 1, "frankingCredits": 0, "grossAmount": 1},
                  {"paidDate": "not a date", "netAmount": 999}]}
    years = income_by_financial_year(holdings, income, "AUD", TODAY)
    assert [(y.label, y.to_date) for y in years] == [("2026–27", True), ("2025–26", False)]
    newest, older = years
    assert [(r.symbol, r.net, r.franking, r.gross) for r in newest.rows] == [("CBA", 7, 3, 10)]
    assert (older.total.net, older.total.franking, older.total.gross) == (Decimal("71.00"), Decimal("30.00"), Decimal("101.00"))


def test_foreign_income_is_converted_at_each_payments_own_rate_with_the_original_kept():
    """An AUD portfolio's US$ dividends: US$5.00 at 1.53 = $7.65 and US$2.50 at 1.59 = $3.975 → $3.98 (half up).
    The year: $11.63, paid as US$7.50."""
    holdings = [{"id": 2, "symbol": "AAPL", "currencyCode": "USD"}]
    income = {2: [{"paidDate": "2024-11-14", "netAmount": 5.0, "grossAmount": 5.0, "frankingCredits": 0,
                   "dividendCurrency": "USD", "exchangeRate": 1.53},
                  {"paidDate": "2025-02-13", "netAmount": 2.5, "grossAmount": 2.5, "frankingCredits": 0,
                   "dividendCurrency": "USD", "exchangeRate": 1.59}]}
    year = income_by_financial_year(holdings, income, "AUD", TODAY)[0]
    assert [p.net for p in year.payments] == [Decimal("7.65"), Decimal("3.98")]
    assert year.rows[0].net == Decimal("11.63") and year.rows[0].foreign == ("USD", Decimal("7.50"))


def test_a_foreign_payment_without_a_rate_makes_the_total_unknown_not_smaller():
    year = income_by_financial_year([{"id": 2, "symbol": "AAPL", "currencyCode": "USD"}],
                                    {2: [{"paidDate": "2024-11-14", "netAmount": 5.0, "dividendCurrency": "USD"}]},
                                    "AUD", TODAY)[0]
    assert year.rows[0].net is None and year.total.net is None


def test_a_june_distribution_paid_in_july_is_flagged_as_an_earlier_years_entitlement():
    """Ex-dividend 30 Jun 2025 (2024–25), paid 16 Jul 2025 (2025–26): it counts in 2025–26 by paid date, flagged,
    because Navexa marks it a trust's income."""
    income = {8: [{"paidDate": "2025-07-16", "exDividendDate": "2025-06-30", "netAmount": 95.4, "isTrustIncome": True},
                  {"paidDate": "2025-04-16", "exDividendDate": "2025-03-31", "netAmount": 61.2, "isTrustIncome": True}]}
    later, earlier = income_by_financial_year([{"id": 8, "symbol": "VGS", "currencyCode": "AUD"}], income, "AUD", TODAY)
    assert later.label == "2025–26" and [p.net for p in later.earlier_entitlements] == [Decimal("95.40")]
    assert earlier.label == "2024–25" and earlier.earlier_entitlements == []


def test_a_company_dividend_paid_after_june_is_income_of_the_year_it_was_paid_not_a_trusts():
    """Microsoft's dividend, ex-dividend 29 Jun 2025, paid 10 Jul 2025: a company's, so not flagged (the flag is
    Navexa's trust-income field, not a guess from the dates); a record that doesn't say isn't flagged either."""
    income = {2: [{"paidDate": "2025-07-10", "exDividendDate": "2025-06-29", "netAmount": 16.6, "isTrustIncome": False},
                  {"paidDate": "2025-07-11", "exDividendDate": "2025-06-28", "netAmount": 1.0}]}
    year = income_by_financial_year([{"id": 2, "symbol": "MSFT", "currencyCode": "AUD"}], income, "AUD", TODAY)[0]
    assert year.label == "2025–26" and len(year.payments) == 2 and year.earlier_entitlements == []


def test_an_unknown_amount_makes_the_total_unknown_not_smaller():
    years = income_by_financial_year([{"id": 1, "symbol": "X", "currencyCode": "AUD"}],
                                     {1: [{"paidDate": "2026-01-01", "netAmount": 5}, {"paidDate": "2026-02-01"}]}, "AUD", TODAY)
    assert years[0].rows[0].net is None and years[0].total.net is None


def test_a_holding_whose_income_navexa_couldnt_give_marks_the_years_it_may_have_paid_in():
    """ODD (created 1 Jul 2024) has no answer: 2024–25, 2025–26 and 2026–27 are incomplete, named; CBA's 2023–24 isn't."""
    holdings = [{"id": 1, "symbol": "CBA", "currencyCode": "AUD"},
                {"id": 9, "symbol": "ODD", "currencyCode": "AUD", "dateCreated": "2024-07-01T00:00:00"}]
    years = income_by_financial_year(holdings, {1: [{"paidDate": "2024-03-01", "netAmount": 10}]}, "AUD", TODAY,
                                     unavailable={9})
    assert [(y.label, y.missing) for y in years] == [("2026–27", ["ODD"]), ("2025–26", ["ODD"]), ("2024–25", ["ODD"]),
                                                     ("2023–24", [])]


def test_the_income_csv_has_a_row_per_payment_with_both_dates_and_both_amounts():
    holdings = [{"id": 1, "symbol": "=CMD", "name": "Odd", "currencyCode": "USD"}]
    income = {1: [{"paidDate": "2026-07-02", "exDividendDate": "2026-06-29", "netAmount": 70, "frankingCredits": 0,
                   "grossAmount": 70, "dividendCurrency": "USD", "exchangeRate": 1.5, "isTrustIncome": True}]}
    years = income_by_financial_year(holdings, income, "AUD", TODAY, unavailable=set())
    rows = list(csv.reader(io.StringIO(income_csv(years, "AUD"))))
    assert rows[0] == list(INCOME_CSV_COLUMNS)
    assert rows[1] == ["2026–27 (to date)", "'=CMD", "Odd", "2026-07-02", "2026-06-29", "yes", "USD", "70.00", "1.5",
                       "105.00", "0.00", "105.00", "AUD", "a trust's income for the earlier year: see its annual tax statement"]


def test_the_income_csv_says_which_years_are_incomplete():
    holdings = [{"id": 9, "symbol": "ODD", "dateCreated": "2026-08-01"}]
    rows = list(csv.reader(io.StringIO(income_csv(income_by_financial_year(holdings, {}, "AUD", TODAY, {9}), "AUD"))))
    assert rows[1][0] == "2026–27 (to date)" and rows[1][1] == "ODD"
    assert rows[1][-1] == "income unavailable from Navexa: this year's figures are incomplete"


AAPL_TRADES = [
    {"tradeDate": "2022-04-20T00:00:00", "tradeType": "Buy", "quantity": 22, "price": 105.92, "brokerage": 9.95},
    {"tradeDate": "2021-03-16T00:00:00", "tradeType": "Buy", "quantity": 27, "price": 88.76, "brokerage": 9.95},
    {"tradeDate": "2023-02-14T00:00:00", "tradeType": "Sell", "quantity": 4, "price": 120.89, "brokerage": 9.95},
]


def test_the_holding_summary_by_hand():
    """Buys of 27 @ 88.76 and 22 @ 105.92 (9.95 brokerage each) cost 4,746.66 for 49 units; selling 4 takes
    4/49 of that (387.48) and brings 473.61, a realised gain of 86.13; 45 units at 228.52 are worth 10,283.40."""
    s = holding_summary(AAPL_TRADES, [{"netAmount": 123.75}, {"netAmount": 123.75}], 228.52)
    assert s.units == 45
    assert s.cost_base == Decimal("4359.18") and s.average_cost == Decimal("96.87")
    assert s.market_value == Decimal("10283.40")
    assert s.unrealised_gain == Decimal("5924.22") and round(s.unrealised_pct, 2) == 135.90
    assert s.realised_gain == Decimal("86.13") and s.income == Decimal("247.50")
    assert s.total_return == Decimal("6257.85")


def test_an_unreadable_trade_leaves_the_summary_unknown_rather_than_wrong():
    s = holding_summary(AAPL_TRADES + [{"tradeDate": "2024-01-01", "tradeType": "Buy", "quantity": "?"}], [], 228.52)
    assert s.units is None and s.cost_base is None and s.total_return is None and s.income == 0.0


def test_the_position_over_time_follows_the_trades_in_date_order():
    steps = position_history(AAPL_TRADES)
    assert [(s.day, s.kind, s.quantity, s.units) for s in steps] == [
        (date(2021, 3, 16), "buy", 27, 27), (date(2022, 4, 20), "buy", 22, 49), (date(2023, 2, 14), "sell", 4, 45)]


def test_the_position_is_unknown_when_a_trade_cannot_be_read():
    assert position_history(AAPL_TRADES + [{"tradeDate": "someday", "tradeType": "Buy", "quantity": 1, "price": 1}]) is None
    assert position_history([{"tradeDate": "2024-01-01", "tradeType": "Demerger", "quantity": 2, "price": 0}]) is None
    assert position_history([]) == []


def test_a_sale_of_more_than_is_held_leaves_nothing_rather_than_a_negative_position():
    steps = position_history([{"tradeDate": "2024-01-01", "tradeType": "Buy", "quantity": 5, "price": 1},
                              {"tradeDate": "2024-02-01", "tradeType": "Sell", "quantity": 8, "price": 1}])
    assert [s.units for s in steps] == [5, 0]


def weighted(symbol, weight, sector=None, exchange="ASX", currency="AUD", cash=False):
    nothing = Money(None, currency)
    return HoldingRow(None, symbol, None, exchange, currency, cash, None, nothing, nothing, weight, nothing, nothing, None,
                      sector)


def test_diversification_adds_up_weights_by_sector_market_currency_and_kind():
    rows = [weighted("CBA", 22.0, "Financials"), weighted("NAB", 8.0, "Financials"), weighted("VAS", 30.0),
            weighted("AAPL", 25.0, "Information Technology", "NASDAQ", "USD"), weighted("Cash", 15.0, cash=True),
            weighted("GHOST", None, "Materials")]
    d = diversification(rows)
    assert d["sector"] == [("Financials", 30.0), ("Not classified", 30.0), ("Information Technology", 25.0), ("Cash", 15.0)]
    assert d["market"] == [("ASX", 60.0), ("NASDAQ", 25.0), ("Cash", 15.0)]
    assert d["currency"] == [("AUD", 75.0), ("USD", 25.0)]
    assert d["kind"] == [("Shares", 85.0), ("Cash", 15.0)]


# -- returns that add up -------------------------------------------------------------------------------


@pytest.mark.parametrize("total_pct, years, expected", [
    (33.1, 3, 10.0),  # 1.1³ = 1.331: +33.1 % over 3 years is +10 % a year
    (21.0, 2, 10.0),  # 1.1² = 1.21
    (-27.1, 3, -10.0),  # 0.9³ = 0.729
    (12.0, 1, None),  # a year or less is not annualised
    (-100.0, 3, None), (None, 3, None), (10.0, None, None),
])
def test_a_return_over_several_years_is_compounded_per_annum(total_pct, years, expected):
    result = per_annum(total_pct, years)
    assert (result is None and expected is None) or round(result, 10) == expected


def test_navexas_own_per_annum_figure_is_used_when_its_answer_carries_one():
    report = {"totalReturn": {"totalReturnPercent": 33.1, "totalReturnPercentPerAnnum": 9.87}}
    assert summary_of(report, years=3).per_annum_pct == 9.87
    assert summary_of(report, years=1).per_annum_pct is None  # a year: no per-annum figure at all
    assert summary_of({"totalReturn": {"totalReturnPercent": 33.1}}, years=3).per_annum_pct == pytest.approx(10.0)


def test_all_time_spans_the_years_since_the_portfolio_began():
    """From 1 Jul 2019 to 21 Nov 2026: 2,557 days to 1 Jul 2026 (7 years, two of them leap) and 143 more = 2,700 days,
    7.3922 years of 365.25 days."""
    assert period_years("ALL", date(2026, 11, 21), date(2019, 7, 1)) == pytest.approx(2700 / 365.25)
    assert period_years("3Y", date(2026, 11, 21), None) == 3 and period_years("ALL", date(2026, 11, 21), None) is None


def test_page_models_are_pure_functions_of_navexas_answers():
    """The holding page's model, without Flask: a holding missing from the portfolio is None (the view says 404)."""
    from datetime import date

    from portal.pages import models

    data = {"portfolio": {"baseCurrencyCode": "AUD"}, "holdings": [{"id": 1, "symbol": "CBA", "currencyCode": "AUD"}],
            "trades": [{"tradeDate": "2025-01-02", "tradeTypeId": 1, "quantity": 10, "price": 40, "brokerage": 10}],
            "income": []}
    assert models.holding_page(data, 2, set(), date(2026, 1, 1)) is None
    model = models.holding_page(data, 1, set(), date(2026, 1, 1))
    assert model["label"] == "CBA" and model["summary"].cost_base == 410.0  # 10 × $40 + $10
    assert model["unavailable"] == set()  # trades and income were given
