"""Income by financial year and its CSV (pages.income)."""

import csv
import io
from datetime import date

from portal.pages.income import income_by_financial_year, income_csv


def test_the_income_csv_guards_the_currency_against_spreadsheet_formulas():
    holdings = [{"id": 1, "symbol": "X", "currencyCode": "=HYPERLINK(\"http://evil.example\")"}]
    income = {1: [{"paidDate": "2026-01-05", "netAmount": 1, "dividendCurrency": "=HYPERLINK(\"http://evil.example\")",
                   "exchangeRate": 1}]}
    rows = list(csv.reader(io.StringIO(income_csv(income_by_financial_year(holdings, income, "AUD", date(2026, 11, 21)),
                                                  "AUD"))))
    assert not [cell for row in rows[1:] for cell in row if cell.startswith(("=", "+", "-", "@"))]
