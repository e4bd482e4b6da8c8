"""What every CSV download says about itself, for an accountant who opens it without the page: a block of
`name,value` rows first (the portfolio, the financial year, the method, who holds it, the currency, the year's
totals, the day it was made), then a blank row, then the table with its header. No Flask here.

The tables themselves are the page modules' (portfolio, income, tax_report, taxable_income); this module only puts
the block in front. Text cells are guarded against spreadsheet formulas, as the tables' are.
"""

from datetime import date

from . import cgt, money
from .reading import csv_text, safe_text

MADE_BY = "Navexa Portal"


def _amount(value) -> str:
    return "" if value is None else f"{value:.2f}"


def with_summary(title: str, facts: list[tuple[str, object]], table: str, today: date) -> str:
    """The CSV a person downloads: `title` and `facts` (name, value; None shown empty), the day it was made, a blank
    row, then `table` as the page module wrote it."""
    block = [[safe_text(name), "" if value is None else safe_text(str(value))] for name, value in facts]
    return csv_text([MADE_BY, safe_text(title)], [*block, ["Made on", today.isoformat()], []]) + table


def portfolio_name(info: dict) -> str:
    return str(info.get("name") or "Untitled portfolio")


def year_words(fy: int) -> str:
    start, end = money.year_bounds(fy)
    return f"{money.year_label(fy)} ({start.isoformat()} to {end.isoformat()})"


def tax_facts(info: dict, report) -> list[tuple[str, object]]:
    """The capital gains report's own facts: what it is for, and the year's totals as the page adds them up."""
    s = report.summary
    facts = [("Portfolio", portfolio_name(info)), ("Financial year", year_words(report.fy)),
             ("Sale allocation", cgt.METHODS[report.method]), ("Held by", cgt.ENTITIES[report.entity][0]),
             ("Currency", report.currency or "unknown")]
    if report.tax_result:
        facts += [("Gains before the discount", _amount(s.total_gains)), ("Capital losses", _amount(s.losses)),
                  ("Net capital losses brought forward", _amount(s.brought_forward)),
                  ("Discount", _amount(s.discount)), ("Net capital gain", _amount(s.net_capital_gain)),
                  ("Net capital loss carried forward", _amount(s.loss_carried_forward))]
    else:
        facts.append(("Net capital gain", "not worked out: the portfolio's currency is not AUD"))
    if report.unusable:
        facts.append(("Not in these figures", "; ".join(f"{u.symbol}: {u.reason}" for u in report.unusable)))
    return facts


def unrealised_facts(info: dict, report, today: date) -> list[tuple[str, object]]:
    rows = report.open
    known = [r.market_value for r in rows if r.market_value is not None]
    return [("Portfolio", portfolio_name(info)), ("As at", today.isoformat()),
            ("Sale allocation", cgt.METHODS[report.method]), ("Held by", cgt.ENTITIES[report.entity][0]),
            ("Currency", report.currency or "unknown"), ("Parcels", len(rows)),
            ("Cost base", _amount(sum((r.parcel.cost_base for r in rows), 0))),
            ("Market value", _amount(sum(known, 0)) if len(known) == len(rows) else "unknown for some parcels")]


def holdings_facts(info: dict, currency: str | None, period_label: str, summary) -> list[tuple[str, object]]:
    return [("Portfolio", portfolio_name(info)), ("Period", period_label), ("Currency", currency or "unknown"),
            ("Value", _amount(summary.value)), ("Capital gain", _amount(summary.capital_gain)),
            ("Dividends", _amount(summary.dividends)), ("Figures", "Navexa's performance report, as Navexa rounds them")]


def income_facts(info: dict, currency: str | None, years) -> list[tuple[str, object]]:
    facts = [("Portfolio", portfolio_name(info)), ("Currency", currency or "unknown"),
             ("Basis", "by paid date; each payment rounded to the cent, half up")]
    for year in years:
        note = " (to date)" if year.to_date else ""
        facts.append((f"Net {year.label}{note}", _amount(year.total.net) if year.total.net is not None else "incomplete"))
    return facts


def taxable_facts(info: dict, ti, method: str) -> list[tuple[str, object]]:
    facts = [("Portfolio", portfolio_name(info)), ("Financial year", year_words(ti.fy)),
             ("Held by", cgt.ENTITIES[ti.entity][0]), ("Capital gains sale allocation", cgt.METHODS[method]),
             ("Currency", "AUD"), ("Note", "a guide, not tax advice: check each figure against your statements")]
    return facts + [(f"{code} {words}" if ti.individual else words, "unknown" if amount is None else _amount(amount))
                    for code, words, amount in ti.rows()]
