"""Income by Australian financial year (1 July – 30 June), by paid date, and its CSV. No Flask here.

What each figure is, said on the page too:
- payments fall in the financial year they were paid in (as Sharesight's taxable-income report does);
- a trust's distribution (Navexa's trust-income flag, never a guess from the dates) whose ex-dividend date is in
  an earlier financial year (its June distribution paid in July) is flagged: a trust's income is taxed in the
  year the fund earned it and is reported from its annual tax statement (AMMA), not from these payments; a
  company's dividend is simply income of the year it was paid;
- amounts are in the portfolio's currency: a payment in another currency is converted at its own
  `exchangeRate` (the portfolio's currency a unit of the payment's), its original amount kept beside it;
- the current year is "to date"; a holding whose income Navexa couldn't give is named, and the years it
  could have paid in are marked incomplete instead of adding up without it.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from . import income_records
from .income_records import IncomeRecord
from .money import cents, financial_year_of, rate_text, year_label
from .reading import as_list, cell, csv_text, day_of, safe_text, text


def financial_year(day: date) -> str:
    """'2025–26' for any day from 1 July 2025 to 30 June 2026."""
    return year_label(financial_year_of(day))


@dataclass(frozen=True)
class Payment:
    """One payment as this page shows it: Navexa's record (pages.income_records) and its amounts in the portfolio's
    currency, each at the payment's own rate, in cents."""

    record: IncomeRecord
    net: Decimal | None  # in the portfolio's currency, as the two below
    franking: Decimal | None
    gross: Decimal | None

    def __getattr__(self, name):  # holding_id, symbol, name, paid, ex_date, currency, rate, foreign, entitled_earlier
        if name.startswith("__") or name == "record":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.record, name)

    @property
    def original_net(self) -> Decimal | None:
        """The cash paid, in the payment's own currency."""
        return cents(self.record.net) if self.record.net is not None else None


@dataclass(frozen=True)
class IncomeRow:
    symbol: str | None
    name: str | None
    net: Decimal | None
    franking: Decimal | None
    gross: Decimal | None
    foreign: tuple[str, Decimal | None] | None = None  # (currency, net in it) for a holding paid in another currency


@dataclass(frozen=True)
class FinancialYear:
    fy: int
    to_date: bool  # the current year: more may be paid before 30 June
    rows: list[IncomeRow]  # one per holding that paid income that year, by symbol
    total: IncomeRow  # in the portfolio's currency
    payments: list[Payment]
    missing: list[str]  # holdings whose income Navexa couldn't give: the year's total leaves them out

    @property
    def label(self) -> str:
        return year_label(self.fy)

    @property
    def earlier_entitlements(self) -> list[Payment]:
        return [p for p in self.payments if p.entitled_earlier]


def _sum(values) -> Decimal | None:
    """Sum, or None if any is missing: a partial total would mislead, at tax time above all."""
    values = list(values)
    return None if any(v is None for v in values) else sum(values, Decimal(0))


def payment(item: dict, holding: dict, base_currency: str | None) -> Payment | None:
    """One income payment in the portfolio's currency (pages.income_records reads it); None if it has no readable
    paid date."""
    record = income_records.read(item, holding, base_currency)
    if record is None:
        return None

    def converted(amount) -> Decimal | None:
        return cents(amount * record.rate) if amount is not None and record.rate is not None else None

    return Payment(record, converted(record.net), converted(record.franking), converted(record.gross))


def income_by_financial_year(holdings, income_by_holding: dict, base_currency: str | None, today: date,
                             unavailable=frozenset()) -> list[FinancialYear]:
    """Each holding's income grouped by the financial year it was paid in, newest year first.

    `unavailable` names holdings whose income Navexa couldn't give: each year they may have paid in (from
    the holding's creation, or every year shown when that is unknown) is marked incomplete."""
    described = {h.get("id"): h for h in as_list(holdings)}
    payments = [p for holding_id, items in income_by_holding.items() for item in as_list(items)
                if (p := payment(item, described.get(holding_id, {"id": holding_id}), base_currency)) is not None]
    current = financial_year_of(today)
    years = {financial_year_of(p.paid) for p in payments}
    missing_from: dict[int, list[str]] = {}
    for holding_id in unavailable:
        holding = described.get(holding_id, {})
        created = day_of(holding.get("dateCreated"))
        first = financial_year_of(created) if created else min(years | {current})
        for fy in range(first, current + 1):
            missing_from.setdefault(fy, []).append(text(holding.get("symbol")) or f"holding {holding_id}")
    result = []
    for fy in sorted(years | set(missing_from), reverse=True):
        paid = sorted((p for p in payments if financial_year_of(p.paid) == fy), key=lambda p: (p.paid, p.symbol or ""))
        rows = []
        for holding_id in sorted({p.holding_id for p in paid}, key=lambda h: (text(described.get(h, {}).get("symbol")) or "").lower()):
            own = [p for p in paid if p.holding_id == holding_id]
            foreign = own[0].currency if all(p.foreign and p.currency == own[0].currency for p in own) else None
            rows.append(IncomeRow(own[0].symbol, own[0].name, _sum(p.net for p in own), _sum(p.franking for p in own),
                                  _sum(p.gross for p in own),
                                  (foreign, _sum(p.original_net for p in own)) if foreign else None))
        total = IncomeRow(None, None, _sum(r.net for r in rows), _sum(r.franking for r in rows), _sum(r.gross for r in rows))
        result.append(FinancialYear(fy, fy == current, rows, total, paid, sorted(missing_from.get(fy, []))))
    return result


INCOME_CSV_COLUMNS = ("Financial year", "Symbol", "Name", "Paid", "Ex-dividend", "Ex-dividend in an earlier year",
                      "Payment currency", "Net in payment currency", "Exchange rate", "Net", "Franking credits", "Gross",
                      "Portfolio currency", "Note")



def income_csv(years: list[FinancialYear], base_currency: str | None) -> str:
    """A row per payment, with both dates and both amounts; a row per holding missing from a year, saying so."""
    def rows():
        for year in years:
            label = year.label + (" (to date)" if year.to_date else "")
            for p in year.payments:
                yield [label, safe_text(p.symbol), safe_text(p.name), p.paid.isoformat(),
                       p.ex_date.isoformat() if p.ex_date else "", "yes" if p.entitled_earlier else "no",
                       safe_text(p.currency), cell(p.original_net), rate_text(p.rate), cell(p.net), cell(p.franking),
                       cell(p.gross), safe_text(base_currency),
                       "a trust's income for the earlier year: see its annual tax statement" if p.entitled_earlier else ""]
            for symbol in year.missing:
                yield [label, safe_text(symbol), "", "", "", "", "", "", "", "", "", "", safe_text(base_currency),
                       "income unavailable from Navexa: this year's figures are incomplete"]

    return csv_text(INCOME_CSV_COLUMNS, rows())
