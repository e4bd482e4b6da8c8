"""Portfolio data shaped for pages: periods, holding rows, sorting, totals, CSV. No Flask here.

Navexa's answers are read defensively: a missing or odd field becomes None (shown as "—"),
an extra field is ignored, and nothing here raises on a surprising shape.
"""

import calendar
import csv
import io
from dataclasses import dataclass
from datetime import date

CASH_HOLDING_TYPE = 3  # Navexa's holdingTypeId for a cash account
CASH_EXCHANGES = {"CASH"}

# Period selector: code → (label, months back; None = since the portfolio began)
PERIODS = {"1M": ("1M", 1), "3M": ("3M", 3), "6M": ("6M", 6), "1Y": ("1Y", 12), "3Y": ("3Y", 36), "ALL": ("All", None)}
DEFAULT_PERIOD = "1Y"


def number(value) -> float | None:
    """A float for numbers and numeric strings; None for anything else (bools included)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return None
    return None


def text(value) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def as_list(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


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


def summary_of(performance) -> Summary:
    total = as_dict(as_dict(performance).get("totalReturn"))
    gain, dividends = number(total.get("capitalGainValue")), number(total.get("dividendReturnValue"))
    return Summary(
        value=number(total.get("totalValue")),
        capital_gain=gain,
        capital_gain_pct=number(total.get("capitalGainPercent")),
        dividends=dividends,
        total_return=gain + dividends if gain is not None and dividends is not None else None,
        total_return_pct=number(total.get("totalReturnPercent")),
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
    price: float | None
    value: float | None
    weight: float | None
    capital_gain: float | None
    dividends: float | None
    return_pct: float | None
    sector: str | None = None  # Navexa's classification.sector, when it sends one


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
    rows += [_row({}, perf, portfolio_currency) for perf in measured.values()]  # reported but not listed
    return rows


def is_cash(holding: dict) -> bool:
    """A cash account rather than a share or ETF."""
    return holding.get("holdingTypeId") == CASH_HOLDING_TYPE or (text(holding.get("exchange")) or "").upper() in CASH_EXCHANGES


def _row(holding: dict, perf: dict, portfolio_currency) -> HoldingRow:
    total = as_dict(perf.get("totalReturn"))
    exchange = text(holding.get("displayExchange")) or text(holding.get("exchange"))
    cash = is_cash(holding)
    return HoldingRow(
        id=holding.get("id") if isinstance(holding.get("id"), int) else perf.get("id") if isinstance(perf.get("id"), int) else None,
        symbol="Cash" if cash else text(holding.get("symbol")) or text(perf.get("symbol")),
        name=text(holding.get("name")) or text(perf.get("name")),
        exchange=exchange,
        currency=text(holding.get("currencyCode")) or text(perf.get("currencyCode")) or portfolio_currency,
        is_cash=cash,
        units=None if cash else number(perf.get("totalQuantity")),
        price=None if cash else number(perf.get("currentPrice")),
        value=number(total.get("totalValue")),
        weight=number(perf.get("holdingWeight")),
        capital_gain=number(total.get("capitalGainValue")),
        dividends=number(total.get("dividendReturnValue")),
        return_pct=number(total.get("totalReturnPercent")),
        sector=text(as_dict(holding.get("classification")).get("sector")),
    )


def sort_rows(rows: list[HoldingRow], key: str, direction: str) -> list[HoldingRow]:
    """Sort by a column; missing values always last, text case-insensitively."""
    present = [r for r in rows if getattr(r, key) is not None]
    missing = [r for r in rows if getattr(r, key) is None]

    def value(row):
        v = getattr(row, key)
        return v.lower() if isinstance(v, str) else v

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


CSV_COLUMNS = [(column.csv_heading, column.key) for column in COLUMNS] + [("Currency", "currency")]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def holdings_csv(rows: list[HoldingRow]) -> str:
    """The holdings table as CSV: plain numbers, text cells guarded against spreadsheet formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for title, _ in CSV_COLUMNS])
    for row in rows:
        writer.writerow([_csv_cell(row, attr) for _, attr in CSV_COLUMNS])
    return out.getvalue()


def _csv_cell(row: HoldingRow, attr: str) -> str:
    value = getattr(row, attr)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if attr == "units" else f"{value:.2f}"
    value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


# -- income by Australian financial year (1 July – 30 June) ------------------------------------


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
    return _day_of(item.get("paidDate"))


def _day_of(value) -> date | None:
    """The day of Navexa's '2026-06-30T00:00:00' (or '2026-06-30'); None for anything else."""
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


def total_of(values) -> float | None:
    """Sum of numbers, or None if any is missing or not a number (shown as "—" beside it): a partial
    total would mislead, at tax time above all."""
    total = 0.0
    for value in values:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        total += value
    return total


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
            writer.writerow([year.label, _safe_text(row.symbol), _safe_text(row.name),
                             *(f"{v:.2f}" if v is not None else "" for v in (row.net, row.franking, row.gross)),
                             row.currency or ""])
    return out.getvalue()


def _safe_text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


# -- a holding's summary, from its trades (average cost) ----------------------------------------------


@dataclass(frozen=True)
class HoldingSummary:
    units: float | None
    average_cost: float | None
    cost_base: float | None  # what the units held cost, brokerage included (average-cost method)
    market_value: float | None
    unrealised_gain: float | None
    unrealised_pct: float | None
    realised_gain: float | None  # from sales, after brokerage
    income: float | None  # net income received
    total_return: float | None  # unrealised + realised + income


@dataclass(frozen=True)
class Trade:
    day: date
    kind: str  # "buy" or "sell"
    quantity: float  # units, always positive
    price: float
    brokerage: float


def readable_trades(trades) -> list[Trade] | None:
    """A holding's buys and sells in the order they were made, or None if any trade can't be read
    (an unknown kind, date, quantity or price): no figure drawn from the rest would be right."""
    read = []
    for trade in as_list(trades):
        kind = (text(trade.get("tradeType")) or "").lower()
        day, quantity, price = _day_of(trade.get("tradeDate")), number(trade.get("quantity")), number(trade.get("price"))
        if kind not in ("buy", "sell") or day is None or quantity is None or price is None or quantity <= 0:
            return None
        read.append((trade["tradeDate"], Trade(day, kind, quantity, price, number(trade.get("brokerage")) or 0.0)))
    return [t for _, t in sorted(read, key=lambda pair: pair[0])]  # ISO text sorts by time within a day too


def holding_summary(trades, income, current_price) -> HoldingSummary:
    """Units, cost base and gains from the trades in date order; None where a trade can't be read."""
    received = total_of(i.get("netAmount") for i in as_list(income))
    read = readable_trades(trades)
    if read is None:
        return HoldingSummary(None, None, None, None, None, None, None, received, None)
    units = cost = realised = 0.0
    for trade in read:
        if trade.kind == "buy":
            cost += trade.quantity * trade.price + trade.brokerage
            units += trade.quantity
        elif units > 0:
            sold = min(trade.quantity, units)
            share = cost * sold / units
            realised += trade.quantity * trade.price - trade.brokerage - share
            cost -= share
            units -= sold
    price = number(current_price)
    value = units * price if price is not None else None
    gain = value - cost if value is not None else None
    return HoldingSummary(
        units=units, average_cost=cost / units if units else None, cost_base=cost, market_value=value,
        unrealised_gain=gain, unrealised_pct=100 * gain / cost if gain is not None and cost else None,
        realised_gain=realised, income=received,
        total_return=gain + realised + received if gain is not None and received is not None else None)


@dataclass(frozen=True)
class PositionStep:
    day: date
    kind: str  # "buy" or "sell"
    quantity: float  # units bought or sold
    units: float  # units held after the trade


def position_history(trades) -> list[PositionStep] | None:
    """Units held after each trade, oldest first (a sale never takes the position below nothing);
    None if any trade can't be read."""
    read = readable_trades(trades)
    if read is None:
        return None
    units, steps = 0.0, []
    for trade in read:
        units = units + trade.quantity if trade.kind == "buy" else max(units - trade.quantity, 0.0)
        steps.append(PositionStep(trade.day, trade.kind, trade.quantity, units))
    return steps


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
