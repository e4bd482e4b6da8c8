"""Capital gains the Australian way, from a holding's trades: parcels, sale allocation, the discount, and
a financial year's summary as the ATO adds it up. No Flask here; exact fractions, rounded to the cent.

The conventions (the README and the tax page state them too):
- the CGT event is the trade (contract) date; financial year `fy=2025` runs 1 July 2024 – 30 June 2025;
- a parcel is one purchase; its cost base is units × price + the purchase's brokerage, and a sale's
  capital proceeds are units × price − the sale's brokerage, both shared pro rata by units when a sale
  takes part of a parcel or a parcel serves several sales;
- foreign currency: every amount of a trade is converted at that trade's own `exchangeRate`, read as the
  portfolio's base currency per unit of the trade's currency (a US$ trade at 1.5: US$100.00 is $150.00);
  a trade in the base currency is taken at 1 whatever its rate says;
- the discount applies to a parcel held at least 12 months, not counting the day it was acquired nor the
  day it was disposed of: `discount_from()` is the first disposal day that qualifies (bought 1 July 2023:
  2 July 2024; bought 29 February 2024: 1 March 2025);
- each matched parcel's cost base and proceeds are in cents (half up) and its gain is their difference, so every
  total is the sum of the rows a CSV shows; a part-sold parcel's parts (each sale's and what is still held) add up
  to its whole cost base rounded once, and a sale's parts to its whole proceeds: the running total is rounded and
  each part is what it adds (Parcel.cents_of), so an earlier year's figures never change when a later sale comes;
- corporate actions (splits, consolidations, returns of capital, AMIT cost base adjustments) are applied to the
  parcels held on their day as pages.corporate_actions says; reinvested dividends and opening balances are parcels;
- the year: capital losses go first against gains the discount can't apply to, then against discountable
  gains; then net capital losses carried from earlier years, in the same order; the discount (individual or
  trust 50 %, SMSF 33⅓ %, company none) applies to what is left (docs/tax.md has each rule's ATO reference).

Sale allocation (which parcels a sale disposes of): `fifo` the oldest first, `lifo` the newest first, and
`min` the ones that add least to the year's net capital gain: for each sale in turn, parcels at a loss
first (the largest loss a unit first), then parcels by the gain a unit adds after the discount (smallest
first), the oldest first on a tie. That is the rule Sharesight's "minimise" follows; it chooses sale by
sale, so it is not a search over every way a year's sales could be matched.
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from . import corporate_actions
from .money import cents, exact, financial_year_of, year_bounds
from .trades import PARCELS, CannotCompute, amit_adjustments, read_trades, units_said

METHODS = {"fifo": "First in, first out", "lifo": "Last in, first out", "min": "Minimise the gain"}
DEFAULT_METHOD = "fifo"
# who holds the portfolio → (name, the CGT discount, the discount as the page says it)
ENTITIES = {"individual": ("Individual", Fraction(1, 2), "50%"), "trust": ("Trust", Fraction(1, 2), "50%"),
            "smsf": ("Self-managed super fund", Fraction(1, 3), "33⅓%"), "company": ("Company", Fraction(0), "none")}
DEFAULT_ENTITY = "individual"


# -- the discount date ---------------------------------------------------------------------------


def discount_from(acquired: date) -> date:
    """The first day a disposal of a parcel acquired on `acquired` gets the discount: 12 whole months must
    lie strictly between the two days. Counting starts the day after acquisition; 12 months from day S end
    the day before S's date a year on (or, for 29 February, the day before 1 March)."""
    start = acquired + timedelta(days=1)
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February a year on doesn't exist: the 12 months end on 28 February
        return date(start.year + 1, 3, 1)


# -- reading the trades ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxTrade:
    day: date
    kind: str  # one of pages.trades' kinds
    units: Fraction
    price: Fraction  # in the trade's currency (for a return of capital, the amount a unit)
    brokerage: Fraction  # in the trade's currency
    rate: Fraction  # base currency per unit of the trade's currency


def tax_trades(trades, holding_currency: str | None, base_currency: str | None, income=None) -> list[TaxTrade]:
    """A holding's trades in trade order, with exact amounts and each one's exchange rate to the base currency, and
    its AMIT cost base adjustments from its income records (after the day's trades); CannotCompute names the first
    that the report can't use (pages.trades reads them)."""
    taxed = []
    for trade in sorted(read_trades(trades) + amit_adjustments(income), key=lambda t: (t.day, t.kind == "amit")):
        currency = trade.currency or holding_currency
        rate = Fraction(1)
        if currency and base_currency and currency != base_currency:
            rate = trade.rate
            if rate is None or rate <= 0:
                raise CannotCompute(f"a {corporate_actions.ACTION_WORDS.get(trade.kind, trade.kind)} {trade.when} in {currency} has no "
                                    f"exchange rate to {base_currency}")
        taxed.append(TaxTrade(trade.day, trade.kind, trade.units, trade.price, trade.brokerage, rate))
    return taxed


# -- matching sales to parcels --------------------------------------------------------------------------


@dataclass
class Parcel:
    """One acquisition (a buy, a reinvested dividend, an opening balance), and what of it is still held."""

    acquired: date
    held: Fraction  # units still held (scaled by splits and consolidations)
    cost: Fraction  # the cost base of the units still held, in base currency, brokerage included
    order: int = 0  # the acquisition's place among the holding's
    taken: Fraction = Fraction(0)  # the exact cost base its sales have taken so far
    taken_cents: Decimal = Decimal("0.00")  # what they took, in the cents each was given

    def cost_of(self, units: Fraction) -> Fraction:
        return self.cost * units / self.held

    def cents_of(self, exact: Fraction) -> Decimal:
        """The next part's cost base in cents, so that every part of the parcel (each sale's, and what is still
        held) adds up to the parcel's whole cost base rounded once: the running total is rounded, and each part is
        what it adds (a part-sold parcel's parts never add up to a cent more or less than was paid)."""
        return cents(self.taken + exact) - self.taken_cents

    def take(self, units: Fraction) -> Decimal:
        """Take `units` out of the parcel: their cost base in cents (cents_of), the parcel left with the rest."""
        exact = self.cost_of(units)
        part = self.cents_of(exact)
        self.taken, self.taken_cents = self.taken + exact, self.taken_cents + part
        self.cost -= exact
        self.held -= units
        return part


@dataclass(frozen=True)
class Disposal:
    """Part of a sale matched to one parcel."""

    symbol: str | None
    holding_id: int | None
    acquired: date
    disposed: date
    units: Fraction
    cost_base: Decimal
    proceeds: Decimal
    gain: Decimal  # proceeds − cost base: negative is a capital loss
    discount_eligible: bool
    event: str = "A1"  # the CGT event: A1 a sale; G1 a return of capital, E10 an AMIT decrease, beyond the cost base
    possible_wash_sale: bool = False  # a loss at the year's end with the holding bought again around it

    @property
    def note(self) -> str:
        return WASH_SALE_NOTE if self.possible_wash_sale else ""


@dataclass(frozen=True)
class OpenParcel:
    """Part of a parcel still held."""

    symbol: str | None
    holding_id: int | None
    acquired: date
    units: Fraction
    cost_base: Decimal
    discount_from: date
    exact_cost: Fraction  # the cost base before rounding (what a planned sale starts from)


@dataclass(frozen=True)
class HoldingGains:
    symbol: str | None
    holding_id: int | None
    disposals: list[Disposal]
    open: list[OpenParcel]


def match(trades: list[TaxTrade], method: "str | MethodPlan", discount_rate: Fraction, symbol: str | None = None,
          holding_id: int | None = None) -> HoldingGains:
    """Every sale matched to the parcels it disposes of, by the method, with each corporate action applied as the
    ATO treats it (the module docstring); what is left is still held. CannotCompute for a sale or a consolidation
    of more units than are held at the time, or an action on a holding with none."""
    parcels: list[Parcel] = []
    disposals: list[Disposal] = []
    for trade in trades:
        held = sum((p.held for p in parcels), Fraction(0))
        if trade.kind in PARCELS:
            cost = (trade.units * trade.price + trade.brokerage) * trade.rate
            parcels.append(Parcel(trade.day, trade.units, cost, order=len(parcels)))
            continue
        if trade.kind in corporate_actions.ACTION_WORDS:
            if held == 0:
                raise CannotCompute(f"a {corporate_actions.ACTION_WORDS[trade.kind]} on {trade.day:%-d %b %Y} came when "
                                    "no units were held")
            disposals += [Disposal(symbol, holding_id, parcel.acquired, trade.day, parcel.held, Decimal("0.00"), gain,
                                   gain, trade.day >= discount_from(parcel.acquired), event=event)
                          for parcel, gain, event in corporate_actions.apply(parcels, trade, held)]
            continue
        if trade.units > held:
            raise CannotCompute(f"a sale of {units_said(trade.units)} units on {trade.day:%-d %b %Y} is more than the "
                                f"{units_said(held)} held then")
        disposals += sell(parcels, trade, method if isinstance(method, str) else method.for_day(trade.day),
                          discount_rate, symbol, holding_id)
    still_held = [OpenParcel(symbol, holding_id, p.acquired, p.held, p.cents_of(p.cost), discount_from(p.acquired), p.cost)
                  for p in parcels if p.held > 0]
    acquired = [p.acquired for p in parcels]
    disposals = [replace(d, possible_wash_sale=True) if possible_wash_sale(d, acquired) else d for d in disposals]
    return HoldingGains(symbol, holding_id, disposals, still_held)


def sell(parcels: list[Parcel], trade: TaxTrade, method: str, discount_rate: Fraction, symbol: str | None = None,
         holding_id: int | None = None) -> list[Disposal]:
    """One sale matched to the parcels it disposes of (they are changed: what is sold leaves them). Each part's cost
    base and proceeds are in cents such that the parts of a parcel add up to its cost base, and the parts of a sale
    to its proceeds (Parcel.cents_of)."""
    disposals, left = [], trade.units
    whole, proceeds_so_far = (trade.units * trade.price - trade.brokerage) * trade.rate, Decimal("0.00")
    for parcel in _allocation_order(parcels, trade, method, discount_rate):
        if left == 0:
            break
        take = min(left, parcel.held)
        if take == 0:
            continue
        cost_base = parcel.take(take)
        sold = trade.units - left + take  # the sale's units matched so far, this part's included
        proceeds = cents(whole * sold / trade.units) - proceeds_so_far  # the parts add up to the sale's proceeds
        proceeds_so_far += proceeds
        disposals.append(Disposal(symbol, holding_id, parcel.acquired, trade.day, take, cost_base, proceeds,
                                  proceeds - cost_base, trade.day >= discount_from(parcel.acquired)))
        left -= take
    return disposals


WASH_SALE_DAYS = 30
WASH_SALE_NOTE = "a possible wash sale (ATO TR 2008/1): the ATO may deny this loss"


def possible_wash_sale(disposal: Disposal, acquisitions: list[date]) -> bool:
    """A loss realised in the last 30 days of a financial year whose holding was acquired again within 30 days
    before or after the sale (not the parcel sold): the ATO's ruling TR 2008/1 says such a "wash sale" may be a
    scheme to which Part IVA applies, and the loss denied. Flagged, never taken out of the figures."""
    if disposal.gain >= 0 or disposal.event != "A1":
        return False
    year_end = year_bounds(financial_year_of(disposal.disposed))[1]
    if (year_end - disposal.disposed).days >= WASH_SALE_DAYS:
        return False
    return any(day != disposal.acquired and abs((day - disposal.disposed).days) <= WASH_SALE_DAYS for day in acquisitions)


@dataclass(frozen=True)
class MethodPlan:
    """Which sale-allocation method each financial year's sales use: the chosen year's `method`; an earlier year
    the one it was lodged with (`fixed`, by year; FIFO where none is given), so choosing a method for one year
    never re-matches another's sales; the parcels each year leaves are what later years start from."""

    chosen_year: int
    method: str
    fixed: dict[int, str] = field(default_factory=dict)

    def for_day(self, day: date) -> str:
        year = financial_year_of(day)
        return self.method if year == self.chosen_year else self.fixed.get(year, DEFAULT_METHOD)


def _allocation_order(parcels: list[Parcel], sale: TaxTrade, method: str, discount_rate: Fraction) -> list[Parcel]:
    open_parcels = [p for p in parcels if p.held > 0]
    if method == "lifo":
        return sorted(open_parcels, key=lambda p: (p.acquired, p.order), reverse=True)
    if method == "min":
        proceeds_a_unit = (sale.price - sale.brokerage / sale.units) * sale.rate

        def added_a_unit(parcel: Parcel) -> Fraction:
            gain = proceeds_a_unit - parcel.cost / parcel.held
            if gain > 0 and sale.day >= discount_from(parcel.acquired):
                return gain * (1 - discount_rate)
            return gain

        return sorted(open_parcels, key=lambda p: (added_a_unit(p), p.acquired, p.order))
    return sorted(open_parcels, key=lambda p: (p.acquired, p.order))



# -- the year, as the ATO adds it up ------------------------------------------------------------------------


@dataclass(frozen=True)
class YearSummary:
    discountable_gains: Decimal  # gains before the discount, on parcels held long enough
    other_gains: Decimal  # gains the discount can't apply to
    losses: Decimal  # the year's capital losses, as a positive amount
    losses_on_other: Decimal  # applied first, to the other gains
    losses_on_discountable: Decimal  # then to the discountable ones
    discount_rate: Fraction
    discount: Decimal
    net_capital_gain: Decimal
    loss_carried_forward: Decimal  # the net capital loss to carry forward: this year's and earlier years' unapplied
    brought_forward: Decimal = Decimal("0.00")  # net capital losses of earlier years, as a positive amount
    brought_forward_on_other: Decimal = Decimal("0.00")  # applied after this year's losses, to other gains first
    brought_forward_on_discountable: Decimal = Decimal("0.00")  # then to discountable ones, before the discount

    @property
    def total_gains(self) -> Decimal:
        return self.discountable_gains + self.other_gains


def summarise(disposals: list[Disposal], discount_rate: Fraction, brought_forward: Decimal = Decimal("0.00")) -> YearSummary:
    """A year's disposals added up in the ATO's order: this year's capital losses against the gains the discount
    can't apply to, then against discountable ones; then net capital losses brought forward from earlier years,
    in the same order; the discount on the discountable gains left. What no gain absorbed is carried forward."""
    discountable = sum((d.gain for d in disposals if d.gain > 0 and d.discount_eligible), Decimal(0))
    other = sum((d.gain for d in disposals if d.gain > 0 and not d.discount_eligible), Decimal(0))
    losses = -sum((d.gain for d in disposals if d.gain < 0), Decimal(0))
    on_other = min(losses, other)
    on_discountable = min(losses - on_other, discountable)
    earlier_on_other = min(brought_forward, other - on_other)
    earlier_on_discountable = min(brought_forward - earlier_on_other, discountable - on_discountable)
    remaining = discountable - on_discountable - earlier_on_discountable
    discount = cents(Fraction(remaining) * discount_rate)
    return YearSummary(
        discountable_gains=discountable, other_gains=other, losses=losses, losses_on_other=on_other,
        losses_on_discountable=on_discountable, discount_rate=discount_rate, discount=discount,
        net_capital_gain=(other - on_other - earlier_on_other) + remaining - discount,
        loss_carried_forward=(losses - on_other - on_discountable) + (brought_forward - earlier_on_other
                                                                      - earlier_on_discountable),
        brought_forward=brought_forward, brought_forward_on_other=earlier_on_other,
        brought_forward_on_discountable=earlier_on_discountable)


def brought_forward_into(gains: list[HoldingGains], fy: int, discount_rate: Fraction,
                         from_outside: Decimal = Decimal("0.00")) -> Decimal:
    """The net capital loss the years before `fy` leave it: each year from the first with a disposal is added up
    with what the year before left, and `from_outside` (losses the person brings from elsewhere) joins in `fy`."""
    years = sorted({financial_year_of(d.disposed) for g in gains for d in g.disposals if financial_year_of(d.disposed) < fy})
    carried = Decimal("0.00")
    for year in years:
        carried = summarise(disposals_in(gains, year), discount_rate, carried).loss_carried_forward
    return carried + from_outside


def disposals_in(gains: list[HoldingGains], fy: int) -> list[Disposal]:
    """The disposals of a financial year, by date then symbol."""
    start, end = year_bounds(fy)
    found = [d for g in gains for d in g.disposals if start <= d.disposed <= end]
    return sorted(found, key=lambda d: (d.disposed, (d.symbol or "").lower(), d.acquired))


def years_with_disposals(gains: list[HoldingGains]) -> list[int]:
    return sorted({financial_year_of(d.disposed) for g in gains for d in g.disposals}, reverse=True)


# -- what is still held, as at today -----------------------------------------------------------------------


@dataclass(frozen=True)
class Unrealised:
    parcel: OpenParcel
    market_value: Decimal | None  # None when Navexa gave no value for the holding
    gain: Decimal | None
    days_to_discount: int  # 0 once a sale would get it

    @property
    def discount_eligible_today(self) -> bool:
        return self.days_to_discount == 0


def unrealised(gains: list[HoldingGains], value_a_unit: dict, today: date) -> list[Unrealised]:
    """Every open parcel valued at today's price (value_a_unit: holding id → base currency a unit, or None)."""
    rows = []
    for holding in gains:
        price = value_a_unit.get(holding.holding_id)
        for parcel in holding.open:
            value = cents(parcel.units * price) if price is not None else None
            rows.append(Unrealised(parcel, value, value - parcel.cost_base if value is not None else None,
                                   max(0, (parcel.discount_from - today).days)))
    return sorted(rows, key=lambda r: ((r.parcel.symbol or "").lower(), r.parcel.acquired))


def sell_everything(rows: list[Unrealised], today: date, discount_rate: Fraction) -> YearSummary:
    """What selling every valued open parcel today would add up to (no brokerage), by the same rules."""
    return summarise([as_sold_today(r, today) for r in rows if r.market_value is not None], discount_rate)


def as_sold_today(row: Unrealised, today: date) -> Disposal:
    p = row.parcel
    return Disposal(p.symbol, p.holding_id, p.acquired, today, p.units, p.cost_base, row.market_value, row.gain,
                    today >= p.discount_from)


def value_a_unit(performance_holding: dict, holding_currency: str | None, base_currency: str | None) -> Fraction | None:
    """A holding's value a unit in base currency, from Navexa's performance report: its total value over its
    units (the report is in base currency), else its current price when the holding trades in the base currency."""
    total = performance_holding.get("totalReturn")
    value = exact(total.get("totalValue")) if isinstance(total, dict) else None
    units = exact(performance_holding.get("totalQuantity"))
    if value is not None and units:
        return value / units
    price = exact(performance_holding.get("currentPrice"))
    return price if price is not None and (holding_currency in (None, base_currency)) else None
