"""Income by Australian financial year (1 July – 30 June), by paid date, and its CSV. No Flask here."""

import csv
import io
from dataclasses import dataclass
from datetime import date

from .reading import as_list, day_of, safe_text, text, total_of


def financial_year(day: date) -> str:
    """'2025–26' for any day from 1 July 2025 to 30 June 2026."""
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}–{str(start + 1)[-2:]}"


@dataclass(frozen=True)
class IncomeRow:
    symbol: str | None
    name: str | None
    currency: str | None
    net: float | None
    franking: float | None
    gross: float | None


@dataclass(frozen=True)
class FinancialYear:
    label: str
    rows: list[IncomeRow]  # one per holding that paid income that year, by symbol
    totals: list[IncomeRow]  # one per currency (symbol None): amounts in different currencies are never added


def _paid_on(item: dict) -> date | None:
    return day_of(item.get("paidDate"))


def income_by_financial_year(holdings, income_by_holding: dict) -> list[FinancialYear]:
    """Each holding's income grouped by the financial year it was paid in, newest year first."""
    years: dict[str, dict[int, list[dict]]] = {}
    described = {h.get("id"): h for h in as_list(holdings)}
    for holding_id, items in income_by_holding.items():
        for item in as_list(items):
            paid = _paid_on(item)
            if paid is not None:
                years.setdefault(financial_year(paid), {}).setdefault(holding_id, []).append(item)
    result = []
    for label in sorted(years, reverse=True):
        rows = []
        for holding_id, items in years[label].items():
            holding = described.get(holding_id, {})
            rows.append(IncomeRow(text(holding.get("symbol")), text(holding.get("name")), text(holding.get("currencyCode")),
                                  total_of(i.get("netAmount") for i in items), total_of(i.get("frankingCredits") for i in items),
                                  total_of(i.get("grossAmount") for i in items)))
        rows.sort(key=lambda r: (r.symbol or "").lower())
        totals = []
        for currency in sorted({r.currency or "" for r in rows}):
            same = [r for r in rows if (r.currency or "") == currency]
            totals.append(IncomeRow(None, None, currency or None, total_of(r.net for r in same),
                                    total_of(r.franking for r in same), total_of(r.gross for r in same)))
        result.append(FinancialYear(label, rows, totals))
    return result


INCOME_CSV_COLUMNS = ("Financial year", "Symbol", "Name", "Net", "Franking credits", "Gross", "Currency")


def income_csv(years: list[FinancialYear]) -> str:
    """The income by financial year as CSV for tax time: a row per holding and year, formula-safe text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INCOME_CSV_COLUMNS)
    for year in years:
        for row in year.rows:
            writer.writerow([year.label, safe_text(row.symbol), safe_text(row.name),
                             *(f"{v:.2f}" if v is not None else "" for v in (row.net, row.franking, row.gross)),
                             row.currency or ""])
    return out.getvalue()
