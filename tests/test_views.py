"""Portfolio pages over real HTTP against the sandbox: content, isolation, CSV, errors, odd data."""

import re
from html import unescape

import pytest
import requests

from portal.pages.portfolio import months_before
from tests.helpers import PINNED_TODAY, PortalBrowser, Tables, csv_table, page
from tools.stack import start_redis


def holdings_table(html):
    return Tables(html).tables[0]


# -- overview ---------------------------------------------------------------------------


def test_overview_shows_alices_portfolios_with_value_and_return(as_user, sandbox):
    html = page(as_user("alice"), "/portfolios").text
    assert "Retirement" in html and "US Growth" in html and "Family SMSF" not in html
    assert "$82,361.00" in html  # Retirement's total value (AUD)
    assert "US$29,587.40" in html  # US Growth's total value (USD), marked as US dollars
    assert 'class="gain"' in html and "+$42,254.70" in html and "(+76.13%)" in html
    totals = Tables(html).tables[-1]
    assert [row[0] for row in totals] == ["AUD", "USD"]


def test_the_overview_and_the_portfolio_page_show_the_same_all_time_return(read_as):
    """The card's +$42,254.70 (+76.13 %) all time is what its link opens on; per annum since 1 Jul 2019 (2,700 days
    to 21 Nov 2026): 1.7613 ^ (365.25 / 2,700) − 1 = +7.96 % a year. E17: every way in (the card, a breadcrumb)
    opens the same period, All, so the same page never shows different numbers by the way in."""
    browser = read_as("alice")
    overview = page(browser, "/portfolios").text
    assert 'href="/portfolios/101"' in overview and "+7.96% a year" in overview
    crumb = page(browser, "/portfolios/101/holdings/1001").text
    assert '<a href="/portfolios/101">Retirement</a>' in crumb
    html = page(browser, "/portfolios/101").text
    assert "All time:" in html and "1 Jul 2019 to 21 Nov 2026" in html
    summary = html.split('<dl class="summary">', 1)[1].split("</dl>", 1)[0]
    assert "+$42,254.70" in summary and "(+76.13%)" in summary and "+7.96% a year" in summary


def test_the_portfolio_page_gives_the_dollar_return_and_says_its_period(read_as):
    html = page(read_as("alice"), "/portfolios/101?period=1Y").text
    assert "1Y:" in html and "21 Nov 2025 to 21 Nov 2026" in html
    summary = html.split('<dl class="summary">', 1)[1].split("</dl>", 1)[0]
    assert re.search(r"<dt>Total return</dt><dd[^>]*>[+−]\$[\d,]+\.\d\d", summary)
    assert "a year" not in summary  # a year's return is not annualised


def test_overview_shows_bobs_portfolio_only(read_as):
    html = page(read_as("bob"), "/portfolios").text
    assert "Family SMSF" in html and "Retirement" not in html


def test_overview_with_no_portfolios_says_so(read_as):
    html = page(read_as("dave"), "/portfolios").text
    assert "You have no portfolios in Navexa yet" in html


# -- one portfolio -----------------------------------------------------------------------


def test_portfolio_page_shows_summary_charts_and_holdings(as_user, sandbox):
    html = page(as_user("alice"), "/portfolios/101").text
    rows = holdings_table(html)
    assert [r[0] for r in rows] == ["VAS", "CBA", "BHP", "Cash", "CSL"]  # by value, largest first
    cba = next(r for r in rows if r[0] == "CBA")
    assert cba[1:7] == ["Commonwealth Bank of Australia", "ASX", "120", "$151.40", "$18,168.00", "22.06%"]
    cash = next(r for r in rows if r[0] == "Cash")
    assert cash[3:5] == ["—", "—"]  # no units or price for cash
    assert 'role="img"' in html and "Allocation by holding weight" in html and "Total return by period" in html
    assert 'aria-sort="descending"' in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/portal.js" defer>']  # no inline script


def test_bob_cannot_open_alices_portfolio(as_user, sandbox):
    browser = as_user("bob")
    response = page(browser, "/portfolios/101", status=404)
    assert "Not found" in response.text
    page(browser, "/portfolios/101/holdings/1001", status=404)
    page(browser, "/portfolios/101/holdings.csv", status=404)


def test_every_page_calls_navexas_v1_paths_under_the_api_base(as_user, sandbox):
    browser = as_user("alice")
    for path in ["/portfolios", "/portfolios/101", "/portfolios/101/holdings.csv", "/portfolios/101/holdings/1001",
                 "/portfolios/101/income", "/portfolios/101/income.csv"]:
        page(browser, path)
    called = {r["path"] for r in sandbox.api_requests()}
    assert {"/api/portfolios", "/api/portfolios/101", "/api/portfolios/101/holdings",
            "/api/portfolios/101/performance", "/api/holdings/1001/trades", "/api/holdings/1001/income"} <= called
    assert all(path.startswith("/api/") for path in called), called


def test_the_period_selector_sets_from_and_to(as_user, sandbox):
    browser = as_user("alice")
    html = page(browser, "/portfolios/101?period=3M").text
    today = PINNED_TODAY
    queries = [r["query"] for r in sandbox.api_requests() if r["path"].endswith("/performance")]
    per_holding = "groupBy=holding&isPortfolioGroup=false&showLocalCurrency=false"
    assert f"from={months_before(today, 3).isoformat()}&to={today.isoformat()}&{per_holding}" in queries
    assert any(q == f"to={today.isoformat()}&{per_holding}" for q in queries)  # "All" has no from
    assert 'aria-current="true" class="current">3M<' in html


def test_the_portfolio_page_makes_its_eight_calls_to_navexa(as_user, sandbox):
    """Over HTTP, the count; that they overlap and carry one token is test_pages' (a barrier, in-process)."""
    browser = as_user("alice")
    before = sandbox.stats()["api_requests"]
    page(browser, "/portfolios/101")
    assert sandbox.stats()["api_requests"] - before == 8  # portfolio, holdings, six periods


def test_an_unknown_period_falls_back_to_the_default(read_as):
    html = page(read_as("alice"), "/portfolios/101?period=5Y").text
    assert 'aria-current="true" class="current">All<' in html


def test_franking_shows_only_where_it_applies(read_as):
    browser = read_as("alice")
    assert "Franking credits" in page(browser, "/portfolios/101/holdings/1001").text  # CBA, AUD
    us_holdings = [r for r in holdings_table(page(browser, "/portfolios/102").text) if r[0] not in ("Cash", "—")]
    us_income = next(h for h in ("2001", "2002", "2003")
                     if "No income recorded" not in page(browser, f"/portfolios/102/holdings/{h}").text)
    html = page(browser, f"/portfolios/102/holdings/{us_income}").text
    assert us_holdings and "Franking credits" not in html and "US$" in html


def test_carols_unknown_currency_portfolio_is_in_the_totals(read_as):
    html = page(read_as("carol"), "/portfolios").text
    assert [row[0] for row in Tables(html).tables[-1]][-1] == "Unknown currency"


def test_a_missing_page_says_so_in_the_portals_words_and_leads_back(as_user, browser):
    anonymous = page(browser, "/no-such-page", status=404).text
    assert "There's nothing at this address" in anonymous.replace("&#39;", "'") and "Go to your portfolios" not in anonymous
    signed_in = page(as_user("alice"), "/no-such-page", status=404).text
    assert 'href="/portfolios"' in signed_in and "Go to your portfolios" in signed_in


def test_after_signing_out_the_landing_page_says_so_once(as_user):
    browser = as_user("alice")
    assert 'href="/portfolios">Cancel<' in page(browser, "/logout").text.replace("\n", "")
    out = browser.post(browser.portal.url + "/logout", data={"csrf_token": browser.csrf()}, allow_redirects=False,
                       timeout=10)
    assert out.status_code == 302
    assert "You're signed out" in page(browser, "/").text.replace("&#39;", "'")
    assert "You're signed out" not in page(browser, "/").text.replace("&#39;", "'")  # said once


@pytest.mark.parametrize("query", ["sort=secret", "sort=value&dir=sideways"])
def test_bad_page_options_get_a_400_page(read_as, query):
    response = page(read_as("alice"), f"/portfolios/101?{query}", status=400)
    assert "Navexa Portal" in response.text and "Traceback" not in response.text


@pytest.mark.parametrize("key, column, direction", [
    ("symbol", 0, "asc"), ("symbol", 0, "desc"), ("weight", 6, "asc"), ("capital_gain", 7, "desc"),
    ("return_pct", 9, "desc"), ("units", 3, "asc"),
])
def test_holdings_sort_by_any_column(read_as, key, column, direction):
    rows = holdings_table(page(read_as("alice"), f"/portfolios/101?sort={key}&dir={direction}").text)
    assert len(rows) == 5
    cells = [r[column] for r in rows if r[column] != "—"]
    values = cells if column == 0 else [float(digits(c)) for c in cells]
    if column == 0:
        values = [v.lower() for v in values]
    assert values == sorted(values, reverse=direction == "desc")
    assert all(r[column] == "—" for r in rows[len(cells):])  # missing values last


def test_the_csv_matches_the_table(read_as):
    browser = read_as("alice")
    rows = holdings_table(page(browser, "/portfolios/101?period=1Y&sort=symbol&dir=asc").text)
    response = page(browser, "/portfolios/101/holdings.csv?period=1Y&sort=symbol&dir=asc")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="portfolio-101-holdings-1y.csv"' in response.headers["Content-Disposition"]
    records = csv_table(response.text)
    assert records[0][:10] == ["Symbol", "Name", "Exchange", "Units", "Price", "Value", "Weight %", "Capital gain",
                               "Dividends", "Return %"]
    assert len(records) - 1 == len(rows)
    for table_row, csv_row in zip(rows, records[1:], strict=True):
        assert table_row[0] == csv_row[0] and table_row[1] == csv_row[1]
        for table_cell, csv_cell in zip(table_row[3:], csv_row[3:10], strict=True):
            assert digits(table_cell) == digits(csv_cell), (table_row, csv_row)


def digits(text):
    """Compare a formatted cell and a CSV number by their digits and sign ("—" matches "")."""
    sign = "-" if text.strip().startswith(("−", "-")) else ""
    value = re.sub(r"[^0-9.]", "", text)
    return f"{sign}{round(float(value), 4)}" if value else ""


def test_a_portfolio_with_no_holdings_says_so_in_one_line_and_offers_nothing_empty(read_as):
    html = page(read_as("carol"), "/portfolios/302").text
    assert "This portfolio has no holdings yet: add your trades in Navexa" in html
    assert "Download CSV" not in html and '<dl class="summary">' not in html  # no $0.00 summary, no CSV of nothing
    assert "Total return by period" not in html  # nor a chart of 0.00 % periods


def test_odd_and_missing_fields_show_a_dash_not_an_error(read_as):
    browser = read_as("carol")
    overview = page(browser, "/portfolios").text
    assert "Untitled portfolio" in overview and "Fresh start" in overview
    html = page(browser, "/portfolios/301").text
    rows = holdings_table(html)
    odd = next(r for r in rows if r[0] == "ODD")
    assert odd[1] == "—" and odd[3] == "—" and odd[4] == "$12.30"
    assert any(r[0].startswith("GHOST") for r in rows)  # reported but not listed: still shown…
    assert 'href="/portfolios/301/holdings/9003"' not in html  # …but not a link to a page that can't exist
    assert "(in Navexa's report, not its holdings)" in unescape(html)
    assert any(r[0] == "Unnamed holding" for r in rows)  # 9002: no symbol, no name
    assert "Navexa's report gives no weights for these holdings" in unescape(html)  # not "nothing to show yet"
    assert 'href="/portfolios/301/holdings/9002">Unnamed holding</a>' in html
    holding = page(browser, "/portfolios/301/holdings/9001").text
    assert "—" in holding and "$10.00" in holding
    assert "Units held over time" not in holding  # a trade it can't read: no chart rather than a wrong one


def test_a_holding_without_a_symbol_or_name_is_called_unnamed_and_navexa_having_nothing_is_said_so(read_as):
    html = unescape(page(read_as("carol"), "/portfolios/301/holdings/9002").text)
    assert "<h1>Unnamed holding" in html and '<span aria-current="page">Unnamed holding</span>' in html
    assert "Navexa has no trades for this holding." in html and "Navexa has no income recorded for this holding." in html
    assert "couldn't give us" not in html  # Navexa answered: reloading wouldn't help


def test_trades_navexa_cant_give_just_now_are_told_apart_from_none(as_user, sandbox):
    browser = as_user("alice")
    sandbox.config(api_error={"status": 503, "count": 1, "match": "/holdings/1001/trades"})
    html = unescape(page(browser, "/portfolios/101/holdings/1001").text)
    assert "Navexa couldn't give us this holding's trades just now" in html and "Navexa has no trades" not in html


# -- one holding -------------------------------------------------------------------------


def test_holding_page_shows_trades_and_income_with_franking(read_as):
    html = page(read_as("alice"), "/portfolios/101/holdings/1001").text
    trades, income = Tables(html).tables[:2]
    assert trades[-1][0] == "5 Aug 2019" and trades[-1][1] == "Buy" and trades[-1][2] == "72"
    assert income[0][2:] == ["$288.00", "$123.43", "$411.43"]
    assert income[0][0] > "" and re.match(r"^\d{1,2} \w+ \d{4}$", income[0][0])
    assert "Franking credits" in html and "Total" in html


def test_a_holding_from_another_portfolio_is_404(read_as):
    page(read_as("alice"), "/portfolios/101/holdings/2001", status=404)


def test_a_holding_without_income_says_so(read_as):
    html = page(read_as("alice"), "/portfolios/101/holdings/1005").text
    assert "No income recorded" in html


# -- Navexa's errors, as people see them ------------------------------------------------------


@pytest.mark.parametrize("status, expected, words", [
    (403, 403, "Navexa says you can"),
    (429, 429, "You can try again in <span class=\"seconds\">30</span> seconds"),
    (500, 502, "Try again"),
    (503, 502, "Try again"),
])
def test_navexa_errors_get_a_clear_page(as_user, sandbox, status, expected, words):
    browser = as_user("alice")
    # On a call the page cannot exist without: a failed optional call costs only its section (tested below).
    sandbox.config(api_error={"status": status, "count": 1, "retry_after": 30, "match": "/portfolios/101/holdings"})
    response = page(browser, "/portfolios/101", status=expected)
    assert words in response.text.replace("&#39;", "'")
    if status == 429:
        assert response.headers["Retry-After"] == "30"
    if expected == 502:
        assert 'href="/portfolios/101"' in response.text  # the retry link


def test_a_navexa_timeout_is_504_with_a_retry_link(make_portal, sandbox):
    portal = make_portal(options={"navexa_timeout": (2, 0.3)})  # read timeout shorter than the latency below
    browser = PortalBrowser(portal, sandbox)
    browser.sign_in()
    sandbox.config(api_latency_ms=1000)
    response = page(browser, "/portfolios", status=504)
    assert "didn't answer in time" in response.text.replace("&#39;", "'")
    assert 'href="/portfolios"' in response.text


# -- partial failure -------------------------------------------------------------------------------


def test_a_failed_period_costs_one_bar_not_the_page(as_user, sandbox):
    browser = as_user("alice")
    three_years_ago = months_before(PINNED_TODAY, 36).isoformat()
    sandbox.config(api_error={"status": 503, "count": 1, "match": f"from={three_years_ago}"})
    html = page(browser, "/portfolios/101").text.replace("&#39;", "'")
    assert "Navexa couldn't give us every period just now" in html
    assert len(holdings_table(html)) == 5  # the rest of the page is all there
    assert "3Y: —" in html  # the failed bar, said


def test_the_chosen_periods_report_is_essential(as_user, sandbox):
    browser = as_user("alice")
    one_year_ago = months_before(PINNED_TODAY, 12).isoformat()
    sandbox.config(api_error={"status": 503, "count": 1, "match": f"from={one_year_ago}"})
    page(browser, "/portfolios/101?period=1Y", status=502)


def test_a_failed_portfolio_report_costs_only_its_card_on_the_overview(as_user, sandbox):
    browser = as_user("alice")
    sandbox.config(api_error={"status": 500, "count": 1, "match": "/portfolios/102/performance"})
    html = page(browser, "/portfolios").text.replace("&#39;", "'")
    assert "Retirement" in html and "$82,361.00" in html
    assert "Navexa couldn't give us this portfolio's figures just now" in html


def test_a_holding_page_without_its_income_still_shows_its_trades(as_user, sandbox):
    browser = as_user("alice")
    sandbox.config(api_error={"status": 503, "count": 1, "match": "/holdings/1001/income"})
    html = page(browser, "/portfolios/101/holdings/1001").text.replace("&#39;", "'")
    assert "Navexa couldn't give us this holding's income just now" in html
    assert Tables(html).tables[0][-1][0] == "5 Aug 2019"  # the trades are there


def test_a_rate_limited_page_counts_down_and_retries_by_itself(as_user, sandbox):
    browser = as_user("alice")
    sandbox.config(api_error={"status": 429, "count": 1, "retry_after": 30})
    html = page(browser, "/portfolios", status=429).text
    assert 'http-equiv="refresh"' not in html  # nothing reloads the page without a way to stop it (WCAG 2.2.1)
    assert 'data-countdown="30" data-retry="/portfolios"' in html
    assert len(re.findall(r"\b30\b", html.split("<main", 1)[1])) == 2  # the attribute and one number on screen
    assert '<a class="button" href="/portfolios">Try again now</a>' in html
    assert "For support: error 429, rate_limited." in html


# -- income by financial year ------------------------------------------------------------------------------


def sandbox_income(holding_id, first, last):
    from sandbox import data

    paid = [i for i in data.income_of(data.HOLDINGS_BY_ID[holding_id]) if first <= i["paidDate"][:10] <= last]
    return [round(sum(i[field] for i in paid), 2) for field in ("netAmount", "frankingCredits", "grossAmount")]


def test_income_by_financial_year_adds_up_each_holdings_dividends(read_as):
    browser = read_as("alice")
    assert 'href="/portfolios/101/income"' in page(browser, "/portfolios/101").text
    newest = page(browser, "/portfolios/101/income").text
    assert [year.strip() for year in re.findall(r'<h2 id="fy-\d+">([^<]+)', newest)] == ["2026–27"]
    fy_2025_26 = Tables(page(browser, "/portfolios/101/income?fy=2026").text).tables[0]
    cba = next(row for row in fy_2025_26 if row[0].startswith("CBA"))
    net, franking, gross = sandbox_income(1001, "2025-07-01", "2026-06-30")
    assert [digits(cell) for cell in cba[1:]] == [digits(f"{net}"), digits(f"{franking}"), digits(f"{gross}")]


def test_the_income_csv_matches_the_page(read_as):
    browser = read_as("alice")
    response = page(browser, "/portfolios/101/income.csv")
    assert 'filename="portfolio-101-income-by-financial-year.csv"' in response.headers["Content-Disposition"]
    rows = csv_table(response.text)
    assert rows[0] == ["Financial year", "Symbol", "Name", "Paid", "Ex-dividend", "Ex-dividend in an earlier year",
                       "Payment currency", "Net in payment currency", "Exchange rate", "Net", "Franking credits", "Gross",
                       "Portfolio currency", "Note"]
    cba = [r for r in rows[1:] if r[0] == "2025–26" and r[1] == "CBA"]
    assert [round(sum(float(r[column]) for r in cba), 2) for column in (9, 10, 11)] == sandbox_income(
        1001, "2025-07-01", "2026-06-30")
    assert all(r[3] and r[4] and r[7] == r[9] for r in cba)  # both dates; in AUD, both amounts the same


def test_the_income_page_marks_the_current_year_to_date_and_no_longer_promises_tax_time(read_as):
    html = page(read_as("alice"), "/portfolios/101/income").text
    assert '2026–27 <span class="muted small">(to date)</span>' in html
    assert "tax time" not in html.lower() and "Download income CSV" in html
    assert "annual tax statement (AMMA statement)" in html


def test_foreign_income_is_shown_in_the_portfolios_currency_with_the_original_beside_it(read_as):
    """erin's AAPL paid US$5.00 at 1.53 ($7.65) and US$2.50 at 1.59 ($3.98) in 2024–25: $11.63, paid as US$7.50."""
    fy_2024_25 = Tables(page(read_as("erin"), "/portfolios/401/income?fy=2025").text).tables[0]
    aapl = next(row for row in fy_2024_25 if row[0].startswith("AAPL"))
    assert aapl[1] == "$11.63" and aapl[-1] == "US$7.50"


def test_a_june_distribution_paid_in_july_is_flagged_in_the_year_it_was_paid(read_as):
    html = unescape(page(read_as("erin"), "/portfolios/401/income?fy=2026").text)
    section = " ".join(html.split('<h2 id="fy-1">2025–26', 1)[1].split('<section', 1)[0].split())
    assert "Paid this year for an earlier year" in section
    assert "<strong>VGS</strong>: $95.40 paid 16 Jul 2025, ex-dividend 30 Jun 2025." in section


def test_a_company_dividend_paid_in_july_is_not_called_a_trusts_income(read_as):
    """alice's MSFT pays in July with a June ex-date some years; Navexa says it isn't trust income: never flagged."""
    html = unescape(page(read_as("alice"), "/portfolios/102/income").text)
    assert "<strong>MSFT</strong>" not in html and "If MSFT is a trust" not in html


def test_a_portfolio_in_us_dollars_says_its_income_is_not_in_australian_dollars(read_as):
    html = page(read_as("alice"), "/portfolios/102/income").text
    assert "This portfolio's currency is USD, not Australian dollars" in unescape(html)


def test_one_holdings_income_failing_names_it_and_keeps_the_page(as_user, sandbox):
    """carol's 9002 has no income answer at all (404): the page stays up, names it, and marks every year incomplete."""
    html = unescape(page(as_user("carol"), "/portfolios/301/income").text)
    assert "Incomplete: Navexa couldn't give us the income of holding 9002 just now" in html
    assert "Total (incomplete)" in html or "Nothing recorded as paid" in html


def test_a_503_for_one_holdings_income_costs_only_that_holding(as_user, sandbox):
    browser = as_user("alice")
    sandbox.config(api_error={"status": 503, "count": 2, "match": "/holdings/1002/income"})  # the page and the CSV
    html = unescape(page(browser, "/portfolios/101/income").text)
    assert "Navexa couldn't give us the income of BHP just now" in html
    assert "CBA" in html and "Total (incomplete)" in html
    rows = csv_table(page(browser, "/portfolios/101/income.csv").text)
    bhp = [r for r in rows if r[1] == "BHP"]
    assert bhp and all(r[-1] == "income unavailable from Navexa: this year's figures are incomplete" for r in bhp)
    assert any(r[1] == "CBA" and r[9] for r in rows)  # the others are there


def test_someone_elses_income_is_404(read_as):
    page(read_as("bob"), "/portfolios/101/income", status=404)
    page(read_as("bob"), "/portfolios/101/income.csv", status=404)


def test_the_holding_summary_shows_the_hand_computed_figures(read_as):
    html = page(read_as("alice"), "/portfolios/102/holdings/2001").text  # AAPL: see test_portfolio
    for figure in ("US$96.87", "US$4,359.18", "US$10,283.40", "+US$5,924.22", "+135.90%", "US$247.50", "+US$6,257.85",
                   "+US$86.13"):
        assert figure in html, figure


def test_the_units_chart_labels_each_step_and_its_zero_baseline(read_as):
    html = unescape(page(read_as("alice"), "/portfolios/102/holdings/2001").text)
    steps = re.findall(r'<li><span class="when">([^<]+)</span>\s*(Bought|Sold) ([\d,.]+) → ([\d,.]+) held</li>', html)
    assert [(s[1], s[2], s[3]) for s in steps] == [("Bought", "27", "27"), ("Bought", "22", "49"), ("Sold", "4", "45")]
    assert "0 units on the baseline" in html


def test_the_holding_page_charts_the_units_held_after_each_trade(read_as):
    browser = read_as("alice")
    html = page(browser, "/portfolios/102/holdings/2001").text
    assert "Units held over time" in html
    description = re.search(r'id="position-chart-title-desc"[^>]*>([^<]*)<', html).group(1)
    assert description == ("16 Mar 2021: bought 27, holding 27. 20 Apr 2022: bought 22, holding 49. "
                           "14 Feb 2023: sold 4, holding 45.")
    assert "49 units" in html and "21 Nov 2026" in html  # the scale's top, and today at the axis' end
    assert "Units held over time" not in page(browser, "/portfolios/101/holdings/1005").text  # a cash account


def test_the_portfolio_shows_its_diversification(read_as):
    html = page(read_as("alice"), "/portfolios/101").text
    assert "Diversification" in html
    for described in ("By sector", "Financials: 22.06%.", "Materials: 21.73%.", "Health Care: 10.28%.",
                      "Not classified: 30.75%.", "By market", "ASX: 84.82%.", "Cash: 15.18%.", "AUD: 100.00%.",
                      "Shares: 84.82%."):
        assert described in html, described


def test_a_portfolio_of_fifty_holdings_renders_every_row_and_its_income_makes_one_call_a_holding(as_user, sandbox):
    frank = as_user("frank")
    page = frank.page("/portfolios/501")
    assert page.status_code == 200 and page.text.count('href="/portfolios/501/holdings/50') == 50
    before = sandbox.stats()["api_requests"]
    assert frank.page("/portfolios/501/income").status_code == 200
    assert sandbox.stats()["api_requests"] - before == 50  # one income call a holding; the portfolio's own are cached


def test_with_redis_full_a_signed_in_page_still_answers_with_its_data(make_portal, sandbox):
    """Redis at its memory limit (noeviction refuses writes): the page's answer-cache write fails, the page doesn't."""
    import redis

    service, url = start_redis(extra_args=("--maxmemory-policy", "noeviction"))
    try:
        person = PortalBrowser(make_portal(REDIS_URL=url), sandbox)
        assert person.sign_in().status_code == 302
        store = redis.Redis.from_url(url)
        # Below what it holds (at exactly that, memory freed meanwhile let a write through now and then): full, every
        # new write refused.
        store.config_set("maxmemory", int(store.info("memory")["used_memory"] * 0.9))
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            store.set("portal:probe", "x" * 10_000)
        response = person.page("/portfolios")
        assert response.status_code == 200 and "Retirement" in response.text
        assert person.page("/portfolios/101").status_code == 200
    finally:
        service.stop()


def test_taxable_income_over_http_page_and_csvs_for_an_individual_and_an_smsf(as_user, sandbox):
    """The same figures as the page layer's, through the real sandbox over sockets: ivy's 2025–26 11U is
    2,571.43 + 128.57 + 3,000.00 + 385.71 + 171.43 = 6,257.14; her super fund's credits as an SMSF 300.00 + 150.00."""
    browser = as_user("ivy")
    html = " ".join(unescape(page(browser, "/portfolios/701/taxable-income").text).split())
    assert "<th scope=\"row\">11U</th><td class=\"what\">Franking credit</td> <td class=\"num\">$6,257.14</td>" in html
    totals = csv_table(page(browser, "/portfolios/701/taxable-income-totals.csv").text)
    assert ["2025–26", "11U", "Franking credit", "6257.14", ""] in totals
    smsf = page(browser, "/portfolios/702/taxable-income.csv?entity=smsf")
    assert 'filename="portfolio-702-taxable-income-fy2026-smsf.csv"' in smsf.headers["Content-Disposition"]
    rows = csv_table(smsf.text)
    assert [(r[1], r[9], r[14]) for r in rows[1:]] == [("LTH", "300.00", "481"), ("SMF", "150.00", "29")]
    assert "Choose who holds the portfolio" in page(browser, "/portfolios/702/taxable-income?entity=charity", status=400).text


def test_a_foreign_holding_in_an_aud_portfolio_shows_australian_dollars_with_its_us_price_beside(read_as):
    """E1: erin's 10 AAPL: Navexa's performance report gives value, gain and dividends in the portfolio's currency
    (10 × US$228.52 × 1.52 = A$3,473.50) and the price in the holding's (US$228.52). The row shows $3,473.50 beside
    US$228.52, never "US$3,473.50"; the CSV's Currency column names the currency its amounts are in (AUD), the price's
    its own (USD)."""
    browser = read_as("erin")
    performance = browser.client.get("/portfolios/401").get_data(as_text=True)
    row = next(r for r in Tables(performance).tables[0] if r[0].startswith("AAPL"))
    assert "$3,473.50" in row and "US$228.52" in row
    assert not [cell for cell in row if cell.startswith(("US$", "+US$", "−US$")) and cell != "US$228.52"]
    rows = csv_table(browser.client.get("/portfolios/401/holdings.csv").get_data(as_text=True))
    aapl = dict(zip(rows[0], next(r for r in rows if r[0] == "AAPL"), strict=True))
    assert (aapl["Value"], aapl["Currency"], aapl["Price"], aapl["Price currency"]) == ("3473.50", "AUD", "228.52", "USD")


def test_a_holding_that_cant_be_computed_says_why_on_its_page_as_the_tax_page_does(read_as):
    """E6: erin's FMG has a sale of 150 with 100 held. The tax page says it can't be computed and why; the holding page
    used to show "Units 0, Total return +$1,280.10" and a chart "Sold 150 → 0 held". Now it gives the tax page's
    reason, word for word, and no figures or chart drawn from the trades."""
    browser = read_as("erin")
    tax = " ".join(unescape(browser.client.get("/portfolios/401/tax").get_data(as_text=True)).split())
    reason = "a sale of 150 units on 1 Oct 2024 is more than the 100 held then"
    assert f"<strong>FMG</strong>: can't be computed, because {reason}" in tax
    html = " ".join(unescape(browser.client.get("/portfolios/401/holdings/4005").get_data(as_text=True)).split())
    assert f"This holding's position can't be worked out from its trades, because {reason}." in html
    assert "+$1,280.10" not in html and "Sold 150 → 0 held" not in html and "Units held over time" not in html
    assert "Trades" in html and "Sell" in html  # Navexa's trades themselves are still listed


def test_income_is_one_year_a_page_with_a_year_picker(read_as):
    """E18: every year of frank's income was one page (17,095 px at 1280). One year a page, the newest by default, a
    picker naming every year with income; ?fy= chooses; a year outside them or not a year is a clear 400."""
    browser = read_as("frank")
    html = unescape(page(browser, "/portfolios/501/income").text)
    shown = re.findall(r'<h2 id="fy-\d+">([^<]+)', html)
    assert [y.strip() for y in shown] == ["2026–27"]
    picker = html.split('<nav aria-label="Financial year"', 1)[1].split("</nav>", 1)[0]
    offered = re.findall(r">(\d{4}–\d\d)<", picker)
    assert offered[0] == "2026–27" and "2020–21" in offered and len(offered) == 7
    assert 'aria-current="page"' in picker
    older = unescape(page(browser, "/portfolios/501/income?fy=2021").text)
    assert [y.strip() for y in re.findall(r'<h2 id="fy-\d+">([^<]+)', older)] == ["2020–21"]
    assert "Choose a financial year" in page(browser, "/portfolios/501/income?fy=20x1", status=400).text


def test_the_portfolio_and_income_pages_say_whose_figure_each_is_and_how_it_is_rounded(read_as):
    """E23: erin's all-time dividends were $266.12 on the portfolio page (Navexa's total) and $266.13 summed on the
    income page (each payment rounded, then added). Both pages now say which figure is whose and how it rounds."""
    browser = read_as("erin")
    portfolio = " ".join(unescape(page(browser, "/portfolios/401").text).split())
    assert "These are Navexa's own figures, from its performance report, as it rounds them." in portfolio
    income = " ".join(unescape(page(browser, "/portfolios/401/income?fy=2025").text).split())
    assert "Each payment is rounded to the cent (half a cent up) and the totals add the rounded payments" in income


def test_a_foreign_holdings_page_shows_australian_dollars_with_its_us_price_beside(read_as):
    """E1 on the holding page: erin's AAPL (US$ trades in an AUD portfolio) showed US$2,285.20 while the portfolio
    page and the tax page showed $3,473.50. Now its figures are in the portfolio's currency: market value Navexa's
    $3,473.50, the price US$228.52 beside it; cost base (20 × US$150.00 + US$5.00) × 1.49 = $4,477.45, half of it
    sold: $2,238.725 → $2,238.73 (the tax page's open parcel's cost base too)."""
    html = " ".join(unescape(page(read_as("erin"), "/portfolios/401/holdings/4004").text).split())
    assert '<dt>Market value</dt><dd class="big">$3,473.50</dd>' in html
    assert "US$228.52 a unit" in html and "US$2,285.20" not in html
    assert "<dt>Cost base</dt><dd>$2,238.73</dd>" in html
    assert "in Australian dollars, the portfolio's currency" in html


def test_with_redis_full_the_sign_in_limiter_logs_one_line_not_a_traceback(make_portal, sandbox, caplog):
    """Flask-Limiter logged a traceback with Redis full (it swallows the error, and logs it with its stack): the
    portal's log lines are one line each, never a traceback, and sign-in answers the store's 503, not a 500."""
    import logging

    import redis

    service, url = start_redis(extra_args=("--maxmemory-policy", "noeviction"))
    try:
        portal = make_portal(REDIS_URL=url)
        store = redis.Redis.from_url(url)
        store.set("portal:ballast", "x" * 200_000)
        store.config_set("maxmemory", int(store.info("memory")["used_memory"] * 0.9))
        caplog.clear()
        caplog.set_level(logging.INFO)
        answers = [requests.get(portal.url + "/login", allow_redirects=False, timeout=10).status_code for _ in range(3)]
    finally:
        service.stop()
    assert set(answers) <= {302, 503} and 503 in answers
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert any("rate limit" in r.getMessage().lower() for r in caplog.records)


def test_the_limiters_swallowed_errors_are_one_line_each(portal, caplog):
    """The path seen once with Redis full: Flask-Limiter logs a swallowed storage error with its stack. Through the
    portal's filter it is one line naming the error, no traceback."""
    import logging

    import redis

    caplog.set_level(logging.INFO)
    try:
        raise redis.exceptions.OutOfMemoryError("OOM command not allowed")
    except redis.RedisError:
        logging.getLogger("flask-limiter").exception("Failed to rate limit. Swallowing error")
    line = next(r for r in caplog.records if r.name == "flask-limiter")
    assert line.exc_info is None and line.getMessage() == "Failed to rate limit. Swallowing error: OutOfMemoryError"


# -- Navexa's documented API paths (issue 29) -------------------------------------------------------------------


def test_the_pages_call_navexas_documented_paths(as_user, sandbox):
    """Navexa's developer documentation calls GET {base}/portfolios under https://api.navexa.com.au/api; the pages
    called {base}/v1/portfolios, which the real service may not answer. The sandbox serves only the documented
    family by default now, and every page works on it."""
    browser = as_user("alice")
    assert page(browser, "/portfolios").status_code == 200 and page(browser, "/portfolios/101").status_code == 200
    paths = [r["raw_path"] for r in sandbox.api_requests()]
    assert "/api/portfolios" in paths and not [p for p in paths if "/v1/" in p]


def test_the_v1_family_is_a_setting_and_a_404_on_the_list_switches_once_for_every_container(make_portal, sandbox,
                                                                                              caplog):
    """NAVEXA_API_PATHS=v1 calls {base}/v1/...; when the family configured answers 404 for the list of portfolios,
    the portal tries the other once, uses it, says so in one warning, and remembers it in Redis for every
    container: a second portal on the same Redis goes straight to the family that answers."""
    import logging

    sandbox.config(api_paths="v1")  # a Navexa that answers only the older family
    first, second = make_portal(), make_portal()  # the documented family by default
    caplog.set_level(logging.WARNING)
    person = PortalBrowser(first, sandbox)
    assert person.sign_in().status_code == 302
    assert person.page("/portfolios").status_code == 200
    paths = [r["raw_path"] for r in sandbox.api_requests()]
    assert paths[:2] == ["/api/portfolios", "/api/v1/portfolios"]  # tried, then switched
    assert any("NAVEXA_API_PATHS=v1" in r.getMessage() for r in caplog.records)
    other = PortalBrowser(second, sandbox)
    assert other.sign_in("bob").status_code == 302
    before = len(paths)
    assert other.page("/portfolios").status_code == 200
    later = [r["raw_path"] for r in sandbox.api_requests()][before:]
    assert later and all(p.startswith("/api/v1/") for p in later)  # remembered: no 404 first


def test_navexa_api_paths_v1_calls_the_older_family_from_the_start(make_portal, sandbox):
    sandbox.config(api_paths="v1")
    person = PortalBrowser(make_portal(NAVEXA_API_PATHS="v1"), sandbox)
    assert person.sign_in().status_code == 302 and person.page("/portfolios/101").status_code == 200
    assert all(r["raw_path"].startswith("/api/v1/") for r in sandbox.api_requests())


def test_a_bad_navexa_api_paths_is_named_at_start_up():
    from portal.settings import ConfigError, Settings

    with pytest.raises(ConfigError, match="NAVEXA_API_PATHS is 'v2'"):
        Settings.from_env({"NAVEXA_API_PATHS": "v2", "NAVEXA_CLIENT_ID": "x", "NAVEXA_CLIENT_SECRET": "y"})
