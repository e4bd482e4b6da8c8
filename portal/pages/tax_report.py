"""The tax page's report, put together from what Navexa gave (no Flask here): a financial year's capital
gains by a sale-allocation method and entity, the holdings that can't be computed and why, what is still
held with its discount date, and the two CSVs. The maths is pages.cgt's."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from . import cgt, money
from .portfolio import is_cash
from .reading import as_dict, as_list, cell, csv_text, day_of, safe_text, text
from .trades import CannotCompute


@dataclass(frozen=True)
class Unusable:
    symbol: str | None
    holding_id: int | None
    reason: str


@dataclass(frozen=True)
class TaxReport:
    fy: int
    years: list[int]  # the years a person can choose: every one from the portfolio's first trade to the current one
    method: str
    entity: str
    currency: str | None
    disposals: list[cgt.Disposal]
    summary: cgt.YearSummary
    unusable: list[Unusable]
    open: list[cgt.Unrealised]
    if_sold_today: cgt.YearSummary
    unvalued: int  # open parcels without a value today (left out of if_sold_today)
    foreign: bool  # a holding trades in a currency other than the portfolio's
    losses_from_outside: Decimal = Decimal("0.00")  # the person's own figure (?losses=), part of brought_forward
    earlier_methods: tuple = ()  # (year, method) for each earlier year with a disposal: how it was matched
    gains: tuple = ()  # every holding's HoldingGains: what a person's whole year combines
    values: dict = field(default_factory=dict)  # holding id → its value a unit today (Navexa's), where given
    income_missing: tuple = ()  # holdings whose income (and so any AMIT cost base adjustment) Navexa couldn't give
    carried_may_be_incomplete: bool = False  # earlier years passed through holdings that can't be computed

    @property
    def tax_result(self) -> bool:
        """Whether the report can give a net capital gain: only in Australian dollars (the ATO converts each cost
        base and proceeds at its own date's rate; a gain in another currency can be an Australian loss)."""
        return self.currency == "AUD"

    @property
    def label(self) -> str:
        return money.year_label(self.fy)

    @property
    def bounds(self) -> tuple[date, date]:
        return money.year_bounds(self.fy)


def holding_gains(holdings, trades: dict, base_currency: str | None, method: "str | cgt.MethodPlan",
                  discount_rate: Fraction, incomes: dict | None = None,
                  no_trades=frozenset()) -> tuple[list[cgt.HoldingGains], list[Unusable]]:
    """Each share or ETF's gains, or why it can't be computed (trades Navexa couldn't give count as such, and so do
    trades Navexa has none of: `no_trades`, its 404s)."""
    found, unusable = [], []
    for holding in as_list(holdings):
        holding_id = holding.get("id")
        symbol = text(holding.get("symbol")) or text(holding.get("name")) or "Unnamed holding"
        if not isinstance(holding_id, int) or is_cash(holding):
            continue
        if holding_id not in trades:
            unusable.append(Unusable(symbol, holding_id, "Navexa has no trades for it" if holding_id in no_trades
                                     else "Navexa couldn't give us its trades just now"))
            continue
        try:
            read = cgt.tax_trades(trades[holding_id], text(holding.get("currencyCode")), base_currency,
                                  (incomes or {}).get(holding_id))
            found.append(cgt.match(read, method, discount_rate, symbol=symbol, holding_id=holding_id))
        except CannotCompute as error:
            unusable.append(Unusable(symbol, holding_id, str(error)))
    return found, unusable


def default_year(gains: list[cgt.HoldingGains], today: date) -> int:
    """The latest financial year with a disposal, else the current one."""
    years = cgt.years_with_disposals(gains)
    return years[0] if years else money.financial_year_of(today)


def build(holdings, trades: dict, performance, base_currency: str | None, fy: int | None, method: str, entity: str,
          today: date, losses_from_outside: Decimal = Decimal("0.00"), fixed_methods: dict | None = None,
          incomes: dict | None = None, no_trades=frozenset()) -> TaxReport:
    """The report for one portfolio (fy None: the default year), starting from the net capital loss the earlier
    years left (and the person's own losses from outside the portfolio). The chosen year's sales are matched by
    `method`; every other year's by the method it was lodged with (`fixed_methods`, FIFO where none is given)."""
    discount_rate = cgt.ENTITIES[entity][1]
    fifo = None
    if fy is None:  # the sales' years don't depend on how they are matched: FIFO throughout finds them
        fifo = holding_gains(holdings, trades, base_currency, cgt.DEFAULT_METHOD, discount_rate, incomes, no_trades)
        fy = default_year(fifo[0], today)
    plan = cgt.MethodPlan(fy, method, dict(fixed_methods or {}))
    if fifo is not None and {method, *plan.fixed.values()} == {cgt.DEFAULT_METHOD}:
        gains, unusable = fifo  # FIFO throughout is the plan asked for: matched once
    else:
        gains, unusable = holding_gains(holdings, trades, base_currency, plan, discount_rate, incomes, no_trades)
    income_missing = tuple(text(h.get("symbol")) or "A holding" for h in as_list(holdings)
                           if incomes is not None and h.get("id") in trades and h.get("id") not in incomes)
    described = {h.get("id"): h for h in as_list(holdings)}
    measured = {h.get("id"): h for h in as_list(as_dict(performance).get("holdings"))}
    values = {g.holding_id: cgt.value_a_unit(measured.get(g.holding_id, {}),
                                             text(described.get(g.holding_id, {}).get("currencyCode")), base_currency)
              for g in gains}
    open_rows = cgt.unrealised(gains, values, today)
    disposals = cgt.disposals_in(gains, fy)
    brought_forward = cgt.brought_forward_into(gains, fy, discount_rate, losses_from_outside)
    first = first_trade_year(trades)
    return TaxReport(
        fy=fy, years=sorted({*range(first or fy, money.financial_year_of(today) + 1), *cgt.years_with_disposals(gains), fy},
                            reverse=True),
        method=method, entity=entity, currency=base_currency, disposals=disposals,
        summary=cgt.summarise(disposals, discount_rate, brought_forward), unusable=unusable, open=open_rows,
        losses_from_outside=losses_from_outside, gains=tuple(gains), values=values, income_missing=income_missing,
        earlier_methods=tuple((year, plan.for_day(money.year_bounds(year)[0])) for year in sorted(cgt.years_with_disposals(gains))
                              if year < fy),
        carried_may_be_incomplete=bool(unusable) and first is not None and first < fy,
        if_sold_today=cgt.sell_everything(open_rows, today, discount_rate),
        unvalued=sum(1 for r in open_rows if r.market_value is None),
        foreign=any((text(described.get(g.holding_id, {}).get("currencyCode")) or base_currency) != base_currency
                    for g in gains))  # a trade actually converted, not a holding that couldn't be computed


@dataclass(frozen=True)
class PortfolioPart:
    portfolio_id: int
    name: str | None
    report: TaxReport | None  # None: left out, for `reason`
    reason: str = ""

    @property
    def gains(self) -> Decimal:
        return sum((d.gain for d in self.report.disposals if d.gain > 0), Decimal(0)) if self.report else Decimal(0)

    @property
    def losses(self) -> Decimal:
        return -sum((d.gain for d in self.report.disposals if d.gain < 0), Decimal(0)) if self.report else Decimal(0)


@dataclass(frozen=True)
class PersonYear:
    """A person's capital gains for a year across their portfolios held by one entity: every portfolio's gains and
    losses added before the discount (as the ATO adds them), not each portfolio's net figure summed."""

    fy: int
    method: str
    entity: str
    parts: list[PortfolioPart]
    summary: cgt.YearSummary
    losses_from_outside: Decimal

    @property
    def label(self) -> str:
        return money.year_label(self.fy)

    @property
    def unusable(self) -> list[tuple[PortfolioPart, Unusable]]:
        return [(part, u) for part in self.parts if part.report is not None for u in part.report.unusable]

    @property
    def years(self) -> list[int]:
        """Every year any of the portfolios offers (from its first trade to the current one), newest first."""
        return sorted({self.fy, *(y for part in self.parts if part.report is not None for y in part.report.years)},
                      reverse=True)


def person_year(parts: list[PortfolioPart], fy: int, method: str, entity: str,
                losses_from_outside: Decimal = Decimal("0.00")) -> PersonYear:
    """Combine the reports of one person's portfolios (each built for the same year, method and entity)."""
    rate = cgt.ENTITIES[entity][1]
    gains = [g for part in parts if part.report is not None for g in part.report.gains]
    brought_forward = cgt.brought_forward_into(gains, fy, rate, losses_from_outside)
    return PersonYear(fy, method, entity, parts, cgt.summarise(cgt.disposals_in(gains, fy), rate, brought_forward),
                      losses_from_outside)


def first_trade_year(trades: dict) -> int | None:
    """The financial year of the portfolio's first trade Navexa gave (any holding, any kind), if any."""
    days = [day_of(t.get("tradeDate")) for answer in trades.values() for t in as_list(answer)]
    return min((money.financial_year_of(d) for d in days if d), default=None)


CGT_CSV_COLUMNS = ("symbol", "holding_id", "acquired", "disposed", "units", "cost_base", "proceeds", "gain",
                   "held_12_months", "cgt_event", "note")  # held_12_months: the parcel's, a loss included (no discount)
UNREALISED_CSV_COLUMNS = ("symbol", "holding_id", "acquired", "units", "cost_base", "market_value", "gain",
                          "discount_from")


def units_text(units: Fraction) -> str:
    """Units as a plain decimal: 150, 12.5, 0.333333."""
    if units.denominator == 1:
        return str(units.numerator)
    return f"{float(units):.6f}".rstrip("0").rstrip(".")


def cgt_csv(report: TaxReport) -> str:
    """One row per matched parcel of the year, in the columns CGT_CSV_COLUMNS names."""
    return csv_text(CGT_CSV_COLUMNS, ([safe_text(d.symbol), d.holding_id, d.acquired.isoformat(), d.disposed.isoformat(),
                                        units_text(d.units), d.cost_base, d.proceeds, d.gain,
                                        "yes" if d.discount_eligible else "no", d.event, d.note]
                                       for d in report.disposals))


def unrealised_csv(report: TaxReport) -> str:
    """One row per open parcel, in the columns UNREALISED_CSV_COLUMNS names (a value Navexa didn't give is empty)."""
    return csv_text(UNREALISED_CSV_COLUMNS, ([safe_text(r.parcel.symbol), r.parcel.holding_id, r.parcel.acquired.isoformat(),
                                              units_text(r.parcel.units), r.parcel.cost_base, cell(r.market_value),
                                              cell(r.gain), r.parcel.discount_from.isoformat()] for r in report.open))
