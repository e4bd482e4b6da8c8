"""Taxable income on its myTax labels, the foreign income tax offset's rule and the 45-day rule (pages.taxable_income,
pages.holding_period, pages.income_records): each figure with its hand working, then the page and its CSVs."""

import csv
import io
from datetime import date
from decimal import Decimal
from html import unescape

import pytest

from portal.pages import holding_period, income_records, taxable_income
from portal.pages.taxable_income import CapitalGains, foreign_offset, small_shareholder_exempt
from portal.pages.trades import read_trades
from tests.helpers import Tables, csv_table

TODAY = date(2026, 11, 21)
SHARE = {"id": 1, "symbol": "FFD", "currencyCode": "AUD"}


def record(holding=SHARE, **fields):
    """An income record with every field the reader looks for (a fully franked $700 dividend), as `fields` change it."""
    base = {"paidDate": "2025-09-15T00:00:00", "exDividendDate": "2025-08-20T00:00:00", "netAmount": 700.0,
            "grossAmount": 1000.0, "frankingCredits": 300.0, "frankedAmount": 700.0, "unfrankedAmount": 0.0,
            "foreignTaxWithheld": 0.0, "isTrustIncome": False, "excludeFromTax": False, "isReinvested": False,
            "dividendCurrency": "AUD", "exchangeRate": 1.0}
    return income_records.read({**base, **fields}, holding, "AUD")


def trades(*rows):
    return read_trades([{"tradeDate": day + "T00:00:00", "tradeType": kind, "quantity": units, "price": 10.0,
                         "brokerage": 0.0} for day, kind, units in rows])


def year(*records, entity="individual", trades_of=None, capital=None, missing=()):
    held = trades_of if trades_of is not None else [{"tradeDate": "2024-07-01T00:00:00", "tradeType": "Buy",
                                                     "quantity": 1000, "price": 10.0, "brokerage": 0}]
    return taxable_income.build([(r, cash, held, False) for r, cash in records], 2026, entity, TODAY, list(missing),
                                capital)


# -- each label's total ------------------------------------------------------------------------------------------


def test_dividends_go_at_11s_11t_and_11u_from_each_records_own_fields():
    """A fully franked $700.00 (credits $300.00) and a partly franked $500.00 ($300.00 franked, $200.00 unfranked,
    credits $128.57) and an unfranked $250.00: 11S = 200.00 + 250.00 = 450.00; 11T = 700.00 + 300.00 = 1,000.00;
    11U = 300.00 + 128.57 = 428.57."""
    ti = year((record(), False),
              (record(netAmount=500.0, frankedAmount=300.0, unfrankedAmount=200.0, frankingCredits=128.57), False),
              (record(netAmount=250.0, frankedAmount=0.0, unfrankedAmount=250.0, frankingCredits=0.0), False))
    assert (ti.total("11S"), ti.total("11T"), ti.total("11U")) == (Decimal("450.00"), Decimal("1000.00"), Decimal("428.57"))


def test_a_payment_excluded_from_tax_is_listed_and_not_added():
    """$700.00 counted; the excluded $40.00 (credits $17.14) is on the page, not in 11T (700.00) or 11U (300.00)."""
    ti = year((record(), False), (record(netAmount=40.0, frankedAmount=40.0, frankingCredits=17.14, excludeFromTax=True), False))
    assert len(ti.of_kind("dividend")) == 2
    assert (ti.total("11T"), ti.total("11U")) == (Decimal("700.00"), Decimal("300.00"))


def test_a_reinvested_dividend_is_income_all_the_same():
    ti = year((record(isReinvested=True), False))
    assert ti.total("11T") == Decimal("700.00") and "reinvested" in taxable_income.note_of(ti.lines[0], ti.exempt)


def test_a_foreign_dividend_goes_at_20e_and_20m_gross_with_the_tax_withheld_at_20o():
    """US$85.00 net + US$15.00 withheld at 1.55 = $155.00 gross ($23.25 tax); US$85.00 + US$15.00 at 1.52 = $152.00
    ($22.80): 20E = 20M = 307.00, 20O = 46.05; and nothing at Item 11."""
    us = {"id": 6, "symbol": "USX", "currencyCode": "USD"}
    ti = year((record(us, netAmount=85.0, foreignTaxWithheld=15.0, frankingCredits=0.0, dividendCurrency="USD",
                      exchangeRate=1.55), False),
              (record(us, netAmount=85.0, foreignTaxWithheld=15.0, frankingCredits=0.0, dividendCurrency="USD",
                      exchangeRate=1.52, paidDate="2026-02-13"), False))
    assert (ti.total("20E"), ti.total("20M"), ti.total("20O")) == (Decimal("307.00"), Decimal("307.00"), Decimal("46.05"))
    assert ti.total("11T") == Decimal("0.00") and [ln.cash for ln in ti.lines] == [Decimal("131.75"), Decimal("129.20")]


def test_a_trust_distribution_is_told_apart_by_navexas_flag_and_its_cash_is_never_its_taxable_amount():
    """Two $800.00 distributions: one with its statement's components (13U 420.00, 13C 150.00, 13Q 64.29, capital
    gains 180.00, foreign income 50.00 with a 7.50 offset), one without: 13U = 420.00, 13C = 150.00, 13Q = 64.29,
    20E = 20M = 50.00, 20O = 7.50; trust capital gains 180.00 (for 18H); the other one needs its statement."""
    components = {"nonPrimaryProductionIncome": 420.0, "frankedDistributions": 150.0, "frankingCredits": 64.29,
                  "capitalGains": 180.0, "foreignIncome": 50.0, "foreignIncomeTaxOffset": 7.5}
    ti = year((record(netAmount=800.0, isTrustIncome=True, taxComponents=components), False),
              (record(netAmount=800.0, isTrustIncome=True), False))
    assert [ti.total(code) for code in ("13U", "13C", "13Q", "20E", "20M", "20O")] == [
        Decimal("420.00"), Decimal("150.00"), Decimal("64.29"), Decimal("50.00"), Decimal("50.00"), Decimal("7.50")]
    assert ti.trust_gains == Decimal("180.00") and len(ti.needs_statement) == 1
    assert ti.total("11T") == Decimal("0.00")  # the trusts' cash isn't a dividend


def test_a_trusts_june_distribution_paid_in_july_is_income_of_the_earlier_year_a_companys_is_not():
    """Both ex-dividend 30 Jun 2026 and paid 15 Jul 2026: the trust's is 2025–26's, the company's 2026–27's."""
    trust = record(isTrustIncome=True, exDividendDate="2026-06-30", paidDate="2026-07-15")
    company = record(exDividendDate="2026-06-30", paidDate="2026-07-15")
    ti = year((trust, False), (company, False))
    assert [ln.kind for ln in ti.lines] == ["trust"]


def test_a_cash_accounts_income_is_interest_at_10l_and_10l_is_shown_only_when_there_is_some():
    """$55.20 + $61.80 = $117.00 at 10L."""
    cash = {"id": 9, "symbol": "AUD", "currencyCode": "AUD", "holdingTypeId": 3}
    ti = year((record(cash, netAmount=55.2), True), (record(cash, netAmount=61.8), True))
    assert ti.total("10L") == Decimal("117.00") and "10L" in [code for code, _, _ in ti.rows()]
    assert "10L" not in [code for code, _, _ in year((record(), False)).rows()]


def test_item_18_comes_from_the_capital_gains_report_and_is_unknown_when_the_report_is_incomplete():
    ti = year((record(), False), capital=CapitalGains(Decimal("1000.00"), Decimal("500.00"), Decimal("0.00")))
    assert [ti.total(c) for c in ("18H", "18A", "18V")] == [Decimal("1000.00"), Decimal("500.00"), Decimal("0.00")]
    ti = year((record(), False), capital=CapitalGains(Decimal("1"), Decimal("1"), Decimal("0"), "XRO can't be computed"))
    assert ti.total("18A") is None
    assert "18A" not in [code for code, _, _ in year((record(), False)).rows()]  # no AUD report: no Item 18


@pytest.mark.parametrize("lacking", ["frankedAmount", "unfrankedAmount", "isTrustIncome", "excludeFromTax", "netAmount"])
def test_a_missing_field_makes_the_payment_incomplete_and_its_totals_unknown_never_smaller(lacking):
    fields = {"paidDate": "2025-10-01", "netAmount": 500.0, "frankingCredits": 128.57, "frankedAmount": 300.0,
              "unfrankedAmount": 200.0, "isTrustIncome": False, "excludeFromTax": False}
    del fields[lacking]
    odd = income_records.read(fields, SHARE, "AUD")
    ti = year((record(), False), (odd, False))
    assert ti.total("11T") is None and ti.total("11U") is None and ti.incomplete[0].problem.endswith(lacking)
    assert ti.exempt is None  # the credits aren't known, so neither is the exemption


def test_parts_that_dont_add_up_to_the_cash_make_the_payment_incomplete():
    ti = year((record(frankedAmount=600.0, unfrankedAmount=0.0), False))
    assert ti.total("11T") is None and "don't add up" in ti.incomplete[0].problem


def test_a_holding_whose_income_navexa_couldnt_give_makes_every_income_total_unknown():
    ti = year((record(), False), missing=["BHP"])
    assert ti.total("11T") is None and ti.total("20E") is None and ti.missing == ["BHP"]


# -- the foreign income tax offset's rule ------------------------------------------------------------------------


def test_fito_at_1000_is_claimed_as_paid_and_a_cent_over_needs_the_limit_worked_out():
    at, over = foreign_offset(Decimal("1000.00")), foreign_offset(Decimal("1000.01"))
    assert at.claim == Decimal("1000.00") and "claim all of it" in at.rule
    assert over.claim is None and "Guide to foreign income tax offset rules" in over.rule and "claim $1,000" in over.rule


# -- the 45-day rule ---------------------------------------------------------------------------------------------


def test_held_exactly_45_days_passes_and_44_fails():
    """Bought 1 Mar 2026, ex-dividend 2 Mar. Sold 16 Apr: 2 Mar to 15 Apr counts (neither 1 Mar nor 16 Apr) =
    30 + 15 = 45 days: passes. Sold 15 Apr: 44 days: fails."""
    passes = holding_period.check(trades(("2026-03-01", "Buy", 100), ("2026-04-16", "Sell", 100)), date(2026, 3, 2), TODAY)
    fails = holding_period.check(trades(("2026-03-01", "Buy", 100), ("2026-04-15", "Sell", 100)), date(2026, 3, 2), TODAY)
    assert (passes.status, passes.fewest_days) == ("passes", 45)
    assert (fails.status, fails.fewest_days, fails.failing) == ("fails", 44, 100)


def test_bought_20_days_before_the_ex_date_and_sold_10_after_fails_with_29_days():
    """Bought 10 Feb 2026, ex 2 Mar, sold 12 Mar: 11 Feb to 11 Mar = 18 + 11 = 29 days."""
    check = holding_period.check(trades(("2026-02-10", "Buy", 1000), ("2026-03-12", "Sell", 1000)), date(2026, 3, 2), TODAY)
    assert (check.status, check.fewest_days) == ("fails", 29)
    assert check.at_risk(Decimal("385.71")) == Decimal("385.71")


def test_a_sale_after_the_window_closes_never_fails():
    """Bought 1 Mar, ex 2 Mar: the window ends 16 Apr (45 days after); sold 1 Jun: 2 Mar to 16 Apr = 46 days."""
    check = holding_period.check(trades(("2026-03-01", "Buy", 100), ("2026-06-01", "Sell", 100)), date(2026, 3, 2), TODAY)
    assert (check.status, check.fewest_days) == ("passes", 46)


def test_sales_are_matched_last_in_first_out():
    """100 bought 1 Jul 2024 and 100 on 1 Mar 2026, ex 2 Mar; 100 sold 20 Mar. LIFO takes the March parcel (held 1 Mar
    to 20 Mar: 18 days, fails): 100 of the 200 units fail, so half of a $60.00 credit ($30.00) may not be claimable.
    (First in, first out would have sold the old parcel, held for years, and passed.)"""
    check = holding_period.check(trades(("2024-07-01", "Buy", 100), ("2026-03-01", "Buy", 100), ("2026-03-20", "Sell", 100)),
                                 date(2026, 3, 2), TODAY)
    assert (check.entitled, check.failing, check.fewest_days) == (200, 100, 18)
    assert check.at_risk(Decimal("60.00")) == Decimal("30.00")


def test_units_bought_on_or_after_the_ex_date_earn_nothing_but_are_sold_first():
    """100 held since 2024; 100 bought on the ex-date 2 Mar and sold 10 Mar: LIFO sells the new ones, which weren't
    paid on: the 100 that were are held throughout and pass."""
    check = holding_period.check(trades(("2024-07-01", "Buy", 100), ("2026-03-02", "Buy", 100), ("2026-03-10", "Sell", 100)),
                                 date(2026, 3, 2), TODAY)
    assert (check.entitled, check.failing, check.status) == (100, 0, "passes")


def test_a_split_keeps_the_acquisition_day_and_scales_the_units():
    """100 bought 1 Feb 2026, split 2-for-1 on 20 Feb (+100), ex 2 Mar, 200 sold 10 Mar: the 100 paid-on units
    (200 after the split, counted in the ex-date's units) held 2 Feb to 9 Mar = 27 + 9 = 36 days: fail."""
    check = holding_period.check(trades(("2026-02-01", "Buy", 100), ("2026-02-20", "Split", 100), ("2026-03-10", "Sell", 200)),
                                 date(2026, 3, 2), TODAY)
    assert (check.entitled, check.failing, check.fewest_days) == (200, 200, 36)


def test_units_still_held_inside_the_window_are_pending_not_failing():
    """Bought 1 Nov 2026, ex 2 Nov, today 21 Nov: 20 days so far, the window runs to 17 Dec: pending."""
    check = holding_period.check(trades(("2026-11-01", "Buy", 100)), date(2026, 11, 2), TODAY)
    assert (check.status, check.fewest_days, check.window_end) == ("pending", 20, date(2026, 12, 17))


def test_a_preference_share_needs_90_days():
    check = holding_period.check(trades(("2026-01-01", "Buy", 100), ("2026-03-31", "Sell", 100)), date(2026, 1, 2), TODAY,
                                 preference=True)
    assert (check.required, check.fewest_days, check.status) == (90, 88, "fails")


def test_no_units_before_the_ex_date_is_said_not_failed():
    check = holding_period.check(trades(("2026-03-05", "Buy", 100)), date(2026, 3, 2), TODAY)
    assert check.status == "none" and check.entitled == 0


def test_the_small_shareholder_exemption_is_at_5000_and_not_a_cent_over_and_never_for_a_fund():
    assert small_shareholder_exempt("individual", Decimal("5000.00")) is True
    assert small_shareholder_exempt("individual", Decimal("5000.01")) is False
    assert small_shareholder_exempt("smsf", Decimal("1.00")) is False
    assert small_shareholder_exempt("company", Decimal("1.00")) is False


def test_the_exemption_counts_dividend_and_trust_credits_together():
    """$4,950.00 of dividend credits + $50.01 from a trust's statement = $5,000.01: not exempt; a failing payment's
    credit is then at risk."""
    big = record(netAmount=11550.0, frankedAmount=11550.0, frankingCredits=4950.0)
    trust = record(netAmount=100.0, isTrustIncome=True, taxComponents={"frankingCredits": 50.01})
    ti = year((big, False), (trust, False), trades_of=[
        {"tradeDate": "2025-08-01", "tradeType": "Buy", "quantity": 100, "price": 1, "brokerage": 0},
        {"tradeDate": "2025-08-30", "tradeType": "Sell", "quantity": 100, "price": 1, "brokerage": 0}])
    assert ti.credits == Decimal("5000.01") and ti.exempt is False
    assert ti.at_risk == Decimal("4950.00")  # bought 1 Aug, ex 20 Aug, sold 30 Aug: 28 days


def test_an_smsf_is_never_exempt_and_its_totals_carry_no_individual_labels():
    ti = year((record(), False), entity="smsf", trades_of=[
        {"tradeDate": "2025-08-01", "tradeType": "Buy", "quantity": 100, "price": 1, "brokerage": 0},
        {"tradeDate": "2025-08-30", "tradeType": "Sell", "quantity": 100, "price": 1, "brokerage": 0}])
    assert ti.exempt is False and ti.at_risk == Decimal("300.00")
    rows = list(csv.reader(io.StringIO(taxable_income.totals_csv(ti))))
    assert all(row[1] == "" for row in rows[1:]) and "Franking credit" in [row[2] for row in rows]


def test_the_payments_csv_is_formula_safe():
    odd = {"id": 1, "symbol": "=HYPERLINK(1)", "currencyCode": "AUD"}
    rows = list(csv.reader(io.StringIO(taxable_income.payments_csv(year((record(odd), False))))))
    assert rows[0] == list(taxable_income.CSV_COLUMNS)
    assert not [cell for row in rows[1:] for cell in row if cell.startswith(("=", "+", "-", "@"))]


# -- the page and its CSVs, over HTTP ----------------------------------------------------------------------------


def text_of(browser, path) -> str:
    """The page's HTML, entities unescaped and whitespace runs made one space."""
    response = browser.client.get(path)
    assert response.status_code == 200
    return " ".join(unescape(response.get_data(as_text=True)).split())


def totals_of(browser, path) -> dict:
    rows = csv_table(browser.client.get(path).get_data(as_text=True))
    assert rows[0] == list(taxable_income.TOTALS_COLUMNS)
    return {(row[1] or row[2]): row[3] for row in rows[1:]}


def test_ivys_individual_year_on_its_labels(read_as):
    """ivy's 2025–26 (sandbox INCOME_RECORDS), by hand:
    10L 55.20 + 61.80 = 117.00; 11S 200.00 (PFD) + 250.00 (UFD) = 450.00; 11T 6,000 + 300 + 7,000 + 900 + 400 = 14,600.00
    (EXC's 40.00 excluded); 11U 2,571.43 + 128.57 + 3,000.00 + 385.71 + 171.43 = 6,257.14; TRU's statement: 13U 420.00,
    13C 150.00, 13Q 64.29; 20E = 20M = 155.00 + 152.00 (USX) + 50.00 (TRU) = 357.00; 20O 23.25 + 22.80 + 7.50 = 53.55;
    18H = 18A = SHT's sale, 1,000 × ($31 − $30) = 1,000.00, not a year held, so no discount; 18V 0.00."""
    browser = read_as("ivy")
    totals = totals_of(browser, "/portfolios/701/taxable-income-totals.csv?fy=2026")
    assert totals == {"10L": "117.00", "11S": "450.00", "11T": "14600.00", "11U": "6257.14", "13U": "420.00",
                      "13C": "150.00", "13Q": "64.29", "18H": "1000.00", "18A": "1000.00", "18V": "0.00",
                      "20E": "357.00", "20M": "357.00", "20O": "53.55"}
    html = text_of(browser, "/portfolios/701/taxable-income")
    assert "Taxable income <span class=\"muted small\">2025–26</span>" in html  # the latest complete year by default
    assert "A guide, not tax advice." in html and "lodge" not in html.lower()
    assert "over $5,000: the small shareholder exemption doesn't apply" in html
    assert "<strong>SHT</strong>, ex-dividend 2 Mar 2026: held 29 days" in html
    assert "$385.71 of franking credits may not be claimable" in html
    assert "The year's foreign tax paid is $1,000 or less: claim all of it at 20O." in html
    assert "Needs the fund's annual tax statement (AMMA)" in html  # NST's distributions
    assert "capital gains report for 2025–26" in html


def test_ivys_payments_csv_has_a_row_per_payment(read_as):
    rows = csv_table(read_as("ivy").client.get("/portfolios/701/taxable-income.csv?fy=2026").get_data(as_text=True))
    assert rows[0] == list(taxable_income.CSV_COLUMNS)
    by_symbol = {}
    for row in rows[1:]:
        by_symbol.setdefault(row[1], []).append(dict(zip(rows[0], row, strict=True)))
    sht = by_symbol["SHT"][0]
    assert (sht["held_days"], sht["franking_credits"], sht["label"]) == ("29", "385.71", "11")
    assert "may not be claimable" in sht["note"]
    usx = by_symbol["USX"][0]
    assert (usx["kind"], usx["amount_original"], usx["exchange_rate"], usx["foreign_tax_aud"], usx["amount_aud"]) == (
        "foreign", "85.00", "1.55", "23.25", "131.75")
    assert [r["paid"] for r in by_symbol["NST"]] == ["2026-01-20", "2026-07-15"]  # June's, paid in July, is 2025–26's
    assert "excluded from tax" in by_symbol["EXC"][0]["note"]
    assert len(rows) - 1 == 14


def test_ivys_super_fund_as_an_smsf(read_as):
    """702 as an SMSF: LTH 700.00 + SMF 350.00 franked = 1,050.00, credits 300.00 + 150.00 = 450.00; SMF bought 1 Apr,
    ex 21 Apr, sold 1 May: 2 Apr to 30 Apr = 29 days: its $150.00 may not be claimable, small as the total is."""
    browser = read_as("ivy")
    totals = totals_of(browser, "/portfolios/702/taxable-income-totals.csv?fy=2026&entity=smsf")
    assert totals["Franked amount"] == "1050.00" and totals["Franking credit"] == "450.00"
    html = text_of(browser, "/portfolios/702/taxable-income?fy=2026&entity=smsf")
    assert "These totals belong on the fund's SMSF annual return" in html
    assert "a self-managed super fund is never exempt" in html
    assert "$150.00 of franking credits may not be claimable" in html
    assert "11T" not in html and "(Item 11)" not in html


def test_jacks_small_credits_are_exempt(read_as):
    """jack: BNK 150.00 + SHJ 38.57 = 188.57 of credits, at most $5,000: SHJ's 29 days don't cost him its credit."""
    html = text_of(read_as("jack"), "/portfolios/801/taxable-income?fy=2026")
    assert "franking credits for 2025–26 total $188.57, no more than $5,000" in html
    assert "Exempt as a small shareholder." in html and "may not be claimable" not in html


def test_a_year_with_no_income(read_as):
    html = text_of(read_as("ivy"), "/portfolios/701/taxable-income?fy=2024")
    assert "No company dividends in 2023–24." in html and "No trust distributions for 2023–24." in html


def test_a_holding_whose_income_navexa_cant_give_is_named_and_the_year_marked_incomplete(read_as):
    browser = read_as("ivy")
    browser.navexa.config(api_error={"status": 503, "count": 1, "match": "/holdings/7002/income"})
    html = text_of(browser, "/portfolios/701/taxable-income?fy=2026")
    assert "Navexa couldn't give us the income of PFD just now" in html
    labels = {row[0]: row[-1] for row in Tables(html).tables[0]}
    assert labels["11T"] == "unknown" and labels["18A"] == "$1,000.00"


@pytest.mark.parametrize("query", ["fy=20x6", "fy=1800", "entity=charity", "method=random", "losses=-5"])
def test_bad_options_get_a_400_that_says_what_to_choose(read_as, query):
    browser = read_as("ivy")
    for path in ("/portfolios/701/taxable-income", "/portfolios/701/taxable-income.csv"):
        response = browser.client.get(f"{path}?{query}")
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and ("Choose" in body or "a dollar amount" in body), body[:300]
        assert "Traceback" not in body


def test_a_portfolio_in_us_dollars_says_it_cant_be_put_on_labels(read_as):
    html = text_of(read_as("alice"), "/portfolios/102/taxable-income")
    assert "not Australian dollars, so the portal can't put them on a tax return's labels" in html
    assert "11T" not in html


def test_the_page_is_linked_from_the_portfolio_and_tax_pages(read_as):
    browser = read_as("ivy")
    for path in ("/portfolios/701", "/portfolios/701/tax"):
        assert "/portfolios/701/taxable-income" in browser.client.get(path).get_data(as_text=True)


def test_a_preference_flag_on_the_holding_asks_for_90_days():
    assert income_records.is_preference({"isPreferenceShare": True}) and not income_records.is_preference({})
