"""A holding's position from its trades: the trades read, the summary by the average-cost method, and
the units held over time. No Flask here."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from .money import cents, exact
from .reading import as_list
from .trades import CannotCompute, read_trades


@dataclass(frozen=True)
class HoldingSummary:
    """Money in cents (each figure rounded once, half up), units and the percentage as floats for display."""

    units: float | None
    average_cost: Decimal | None
    cost_base: Decimal | None  # what the units held cost, brokerage included (average-cost method)
    market_value: Decimal | None
    unrealised_gain: Decimal | None
    unrealised_pct: float | None
    realised_gain: Decimal | None  # from sales, after brokerage
    income: Decimal | None  # net income received
    total_return: Decimal | None  # unrealised + realised + income


ADDS = ("buy", "opening", "drp", "split")  # kinds that add units (pages.trades); consolidation and sell take them away
VERBS = {"buy": "Bought", "opening": "Brought in", "drp": "Reinvested", "split": "Split added", "sell": "Sold",
         "consolidation": "Consolidated away"}


@dataclass(frozen=True)
class Trade:
    day: date
    kind: str  # one of pages.trades' kinds
    quantity: float  # units, always positive
    price: float
    brokerage: float


def readable_trades(trades) -> list[Trade] | None:
    """A holding's buys and sells in the order they were made, read by the one trade reader every page uses
    (pages.trades), or None if any trade can't be read: no figure drawn from the rest would be right."""
    try:
        read = read_trades(trades)
    except CannotCompute:
        return None
    return [Trade(t.day, t.kind, float(t.units), float(t.price), float(t.brokerage)) for t in read]


def income_received(income, converted: bool = False) -> Decimal | None:
    """Net income received, each payment in cents (half up) as the income page adds them; `converted`: each at its
    own exchange rate into the portfolio's currency. Unknown (None) if a payment can't be read."""
    total = Decimal("0.00")
    for payment in as_list(income):
        net, rate = exact(payment.get("netAmount")), exact(payment.get("exchangeRate")) if converted else Fraction(1)
        if net is None or rate is None or rate <= 0:
            return None
        total += cents(net * rate)
    return total


def holding_summary(trades, income, current_price, value=None) -> HoldingSummary:
    """Units, cost base and gains from the trades in date order (exact, each money figure rounded once to the cent);
    None where a trade can't be read. `value`: Navexa's value of the holding in the portfolio's currency, for a holding
    that trades in another: every figure is then in the portfolio's currency (each trade and payment at its own
    exchange rate), as the portfolio and tax pages give them, and the market value is Navexa's."""
    converted = value is not None
    received = income_received(income, converted)
    try:
        read = read_trades(trades)
    except CannotCompute:
        read = None
    if read is None or (converted and any(t.rate is None or t.rate <= 0 for t in read)):
        return HoldingSummary(None, None, None, None, None, None, None, received, None)
    units = cost = realised = Fraction(0)
    for trade in read:
        rate = trade.rate if converted else Fraction(1)
        if trade.kind in ("buy", "opening", "drp"):
            cost += (trade.units * trade.price + trade.brokerage) * rate
            units += trade.units
        elif trade.kind == "split":
            units += trade.units  # the same cost over more units
        elif trade.kind == "consolidation":
            units = max(units - trade.units, Fraction(0))
        elif trade.kind == "capital_return":
            returned = trade.price * units * rate
            realised += max(returned - cost, Fraction(0))  # beyond the cost base: a gain (CGT event G1)
            cost = max(cost - returned, Fraction(0))
        elif units > 0:
            sold = min(trade.units, units)
            share = cost * sold / units
            realised += (trade.units * trade.price - trade.brokerage) * rate - share
            cost -= share
            units -= sold
    price = exact(current_price)
    worth = exact(value) if converted else units * price if price is not None else None
    gain = worth - cost if worth is not None else None
    return HoldingSummary(
        units=float(units), average_cost=cents(cost / units) if units else None, cost_base=cents(cost),
        market_value=cents(worth) if worth is not None else None, unrealised_gain=cents(gain) if gain is not None else None,
        unrealised_pct=float(100 * gain / cost) if gain is not None and cost else None,
        realised_gain=cents(realised), income=received,
        total_return=cents(gain) + cents(realised) + received if gain is not None and received is not None else None)


@dataclass(frozen=True)
class PositionStep:
    day: date
    kind: str  # one of pages.trades' kinds that moves units
    quantity: float  # units bought or sold, added or taken away
    units: float  # units held after the trade

    @property
    def adds(self) -> bool:
        return self.kind in ADDS

    @property
    def verb(self) -> str:
        return VERBS[self.kind]


def position_history(trades) -> list[PositionStep] | None:
    """Units held after each trade, oldest first (a sale never takes the position below nothing);
    None if any trade can't be read."""
    read = readable_trades(trades)
    if read is None:
        return None
    units, steps = 0.0, []
    for trade in read:
        if trade.kind not in VERBS:
            continue  # a return of capital moves money, not units
        units = units + trade.quantity if trade.kind in ADDS else max(units - trade.quantity, 0.0)
        steps.append(PositionStep(trade.day, trade.kind, trade.quantity, units))
    return steps
