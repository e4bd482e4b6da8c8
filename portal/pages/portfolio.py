"""A portfolio shaped for its page: periods, summary, holding rows, sorting, totals, the holdings CSV,
diversification. No Flask here (Navexa's answers are read by pages.reading's rules)."""

import calendar
import dataclasses
from dataclasses import dataclass
from datetime import date

from .money import Money
from .reading import as_dict, as_list, csv_text, number, safe_text, text

CASH_HOLDING_TYPE = 3  # Navexa's holdingTypeId for a cash account
CASH_EXCHANGES = {"CASH"}

# Period selector: code → (label, months back; None = since the portfolio began)
PERIODS = {"1M": ("1M", 1), "3M": ("3M", 3), "6M": ("6M", 6), "1Y": ("1Y", 12), "3Y": ("3Y", 36), "ALL": ("All", None)}
DEFAULT_PERIOD = "ALL"  # every way into a portfolio (its card, a breadcrumb, a link) opens the same figures


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, or the month's last day if it is shorter (31 Mar - 1 → 28/29 Feb)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_params(code: str, today: date) -> dict:
    """Query parameters for Navexa's performance call over a period ending today: per holding, for
    this one portfolio, in its base currency (as public Navexa API clients ask)."""
    months = PERIODS[code][1]
    start = {"from": months_before(today, months).isoformat()} if months is not None else {}
    return {**start, "to": today.isoformat(), "groupBy": "holding", "isPortfolioGroup": "false",
            "showLocalCurrency": "false"}


@dataclass(frozen=True)
class Summary:
    value: float | None
    capital_gain: float | None
    capital_gain_pct: float | None
    dividends: float | None
    total_return: float | None
    total_return_pct: float | None
    per_annum_pct: float | None = None  # over a period longer than a year: Navexa's, else compounded (per_annum)


# Where Navexa's answer may carry an annualised return (public clients disagree on the name): the first found is used.
PER_ANNUM_FIELDS = ("totalReturnPercentPerAnnum", "totalReturnPercentPA", "annualisedTotalReturnPercent",
                    "annualizedTotalReturnPercent", "totalReturnPercentAnnualised")
DAYS_A_YEAR = 365.25


def per_annum(total_pct: float | None, years: float | None) -> float | None:
    """A period's total return as a yearly rate, compounded: (1 + r) ^ (1 / years) − 1, in percent. Only for a
    period of more than a year (a shorter one is not annualised); None if either is unknown or r is −100 % or worse."""
    if total_pct is None or years is None or years <= 1 or total_pct <= -100:
        return None
    return 100 * ((1 + total_pct / 100) ** (1 / years) - 1)


def period_years(code: str, today: date, began: date | None) -> float | None:
    """How many years a period spans: its months, or for ALL the time since the portfolio began (if known)."""
    months = PERIODS[code][1]
    if months is not None:
        return months / 12
    return (today - began).days / DAYS_A_YEAR if began and began < today else None


def period_start(code: str, today: date, began: date | None) -> date | None:
    """The first day a period covers: its months back, or for ALL the day the portfolio began (None if unknown)."""
    months = PERIODS[code][1]
    return months_before(today, months) if months is not None else began


def summary_of(performance, years: float | None = None) -> Summary:
    """The performance report's totals; `years` (the period's length) gives a per-annum figure over a year."""
    total = as_dict(as_dict(performance).get("totalReturn"))
    gain, dividends = number(total.get("capitalGainValue")), number(total.get("dividendReturnValue"))
    total_pct = number(total.get("totalReturnPercent"))
    given = next((number(total[f]) for f in PER_ANNUM_FIELDS if number(total.get(f)) is not None), None)
    return Summary(
        value=number(total.get("totalValue")),
        capital_gain=gain,
        capital_gain_pct=number(total.get("capitalGainPercent")),
        dividends=dividends,
        total_return=gain + dividends if gain is not None and dividends is not None else None,
        total_return_pct=total_pct,
        per_annum_pct=(given if given is not None else per_annum(total_pct, years)) if years and years > 1 else None,
    )


@dataclass(frozen=True)
class HoldingRow:
    id: int | None
    symbol: str | None
    name: str | None
    exchange: str | None
    currency: str | None
    is_cash: bool
    units: float | None
    price: Money  # a unit, in the holding's own currency (Navexa's currentPrice)
    value: Money  # the rest in the portfolio's currency, as Navexa's performance report gives them
    weight: float | None
    capital_gain: Money
    dividends: Money
    return_pct: float | None
    sector: str | None = None  # Navexa's classification.sector, when it sends one
    listed: bool = True  # in the portfolio's holdings (a row only the performance report has isn't: no page to link)

    @property
    def label(self) -> str:
        """What the row is called: its symbol, else its name, else plainly unnamed."""
        return self.symbol or self.name or "Unnamed holding"


@dataclass(frozen=True)
class Column:
    """A column of the holdings table: its HoldingRow field (also its sort key), headings, alignment,
    and whether a phone shows it (the others fold away on narrow screens; the holding page has them)."""

    key: str
    heading: str
    csv_heading: str
    numeric: bool
    on_phones: bool = False


COLUMNS = (
    Column("symbol", "Symbol", "Symbol", False, on_phones=True),
    Column("name", "Name", "Name", False),
    Column("exchange", "Exchange", "Exchange", False),
    Column("units", "Units", "Units", True),
    Column("price", "Price", "Price", True),
    Column("value", "Value", "Value", True, on_phones=True),
    Column("weight", "Weight", "Weight %", True, on_phones=True),
    Column("capital_gain", "Capital gain", "Capital gain", True),
    Column("dividends", "Dividends", "Dividends", True),
    Column("return_pct", "Return", "Return %", True, on_phones=True),
)
SORT_KEYS = tuple(column.key for column in COLUMNS)
DEFAULT_SORT = ("value", "desc")


def holding_rows(holdings, performance, portfolio_currency: str | None) -> list[HoldingRow]:
    """Join Navexa's holdings (what) with the performance report (how much), by holding id."""
    measured = {item.get("id"): item for item in as_list(as_dict(performance).get("holdings"))}
    rows = []
    for holding in as_list(holdings):
        perf = measured.pop(holding.get("id"), {})
        rows.append(_row(holding, perf, portfolio_currency))
    rows += [dataclasses.replace(_row({}, perf, portfolio_currency), listed=False)  # reported but not listed
             for perf in measured.values()]
    return rows


def is_cash(holding: dict) -> bool:
    """A cash account rather than a share or ETF."""
    return holding.get("holdingTypeId") == CASH_HOLDING_TYPE or (text(holding.get("exchange")) or "").upper() in CASH_EXCHANGES


def _row(holding: dict, perf: dict, portfolio_currency) -> HoldingRow:
    total = as_dict(perf.get("totalReturn"))
    exchange = text(holding.get("displayExchange")) or text(holding.get("exchange"))
    cash = is_cash(holding)
    own = text(holding.get("currencyCode")) or text(perf.get("currencyCode")) or portfolio_currency  # it trades in
    return HoldingRow(
        id=holding.get("id") if isinstance(holding.get("id"), int) else perf.get("id") if isinstance(perf.get("id"), int) else None,
        symbol="Cash" if cash else text(holding.get("symbol")) or text(perf.get("symbol")),
        name=text(holding.get("name")) or text(perf.get("name")),
        exchange=exchange,
        currency=own,
        is_cash=cash,
        units=None if cash else number(perf.get("totalQuantity")),
        price=Money(None if cash else number(perf.get("currentPrice")), own),
        value=Money(number(total.get("totalValue")), portfolio_currency),
        weight=number(perf.get("holdingWeight")),
        capital_gain=Money(number(total.get("capitalGainValue")), portfolio_currency),
        dividends=Money(number(total.get("dividendReturnValue")), portfolio_currency),
        return_pct=number(total.get("totalReturnPercent")),
        sector=text(as_dict(holding.get("classification")).get("sector")),
    )


def sort_rows(rows: list[HoldingRow], key: str, direction: str) -> list[HoldingRow]:
    """Sort by a column; missing values always last, text case-insensitively."""
    def value(row):
        v = getattr(row, key)
        v = v.amount if isinstance(v, Money) else v
        return v.lower() if isinstance(v, str) else v

    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]

    return sorted(present, key=value, reverse=direction == "desc") + missing


@dataclass(frozen=True)
class PortfolioCard:
    id: int
    name: str | None
    currency: str | None
    summary: Summary


def currency_totals(cards: list[PortfolioCard]) -> list[tuple[str | None, float | None, float | None]]:
    """Per base currency: total value and total return. No portfolio is left out: one whose currency is
    unknown goes in a row of its own (None), and a total with an unknown part is unknown (None)."""
    totals: dict[str | None, list] = {}
    for card in cards:
        entry = totals.setdefault(card.currency, [0.0, 0.0])
        entry[0] = None if entry[0] is None or card.summary.value is None else entry[0] + card.summary.value
        entry[1] = None if entry[1] is None or card.summary.total_return is None else entry[1] + card.summary.total_return
    return [(currency, value, ret) for currency, (value, ret) in sorted(totals.items(), key=lambda t: (t[0] is None, t[0] or ""))]


# "Currency" is what the amounts are in (the portfolio's), "Price currency" what the price is in (the holding's)
CSV_COLUMNS = [(column.csv_heading, column.key) for column in COLUMNS] + [("Currency", "value.currency"),
                                                                          ("Price currency", "price.currency")]


def holdings_csv(rows: list[HoldingRow]) -> str:
    """The holdings table as CSV: plain numbers, text cells guarded against spreadsheet formulas."""
    return csv_text([title for title, _ in CSV_COLUMNS], ([_csv_cell(row, attr) for _, attr in CSV_COLUMNS] for row in rows))


def _csv_cell(row: HoldingRow, attr: str) -> str:
    value = row
    for part in attr.split("."):
        value = getattr(value, part)
    value = value.amount if isinstance(value, Money) else value
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if attr == "units" else f"{value:.2f}"
    return safe_text(str(value))


# -- diversification --------------------------------------------------------------------------------


def diversification(rows: list[HoldingRow]) -> dict[str, list[tuple[str, float]]]:
    """Shares of the portfolio (holding weights, in percent) by sector, market, currency, and cash vs
    shares; largest first. A holding without a weight is left out (its share is unknown)."""
    groups = {
        "sector": lambda r: "Cash" if r.is_cash else r.sector or "Not classified",
        "market": lambda r: "Cash" if r.is_cash else r.exchange or "Unknown market",
        "currency": lambda r: r.currency or "Unknown currency",
        "kind": lambda r: "Cash" if r.is_cash else "Shares",  # ETFs included
    }
    result = {}
    for name, group_of in groups.items():
        shares: dict[str, float] = {}
        for row in rows:
            if row.weight is not None:
                shares[group_of(row)] = shares.get(group_of(row), 0.0) + row.weight
        result[name] = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
    return result
