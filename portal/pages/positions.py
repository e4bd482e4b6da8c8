"""A holding's position from its trades: the trades read, the summary by the average-cost method, and
the units held over time. No Flask here."""

from dataclasses import dataclass
from datetime import date

from .reading import as_list, number, total_of
from .trades import CannotCompute, read_trades


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


def holding_summary(trades, income, current_price) -> HoldingSummary:
    """Units, cost base and gains from the trades in date order; None where a trade can't be read."""
    received = total_of(i.get("netAmount") for i in as_list(income))
    read = readable_trades(trades)
    if read is None:
        return HoldingSummary(None, None, None, None, None, None, None, received, None)
    units = cost = realised = 0.0
    for trade in read:
        if trade.kind in ("buy", "opening", "drp"):
            cost += trade.quantity * trade.price + trade.brokerage
            units += trade.quantity
        elif trade.kind == "split":
            units += trade.quantity  # the same cost over more units
        elif trade.kind == "consolidation":
            units = max(units - trade.quantity, 0.0)
        elif trade.kind == "capital_return":
            returned = trade.price * units
            realised += max(returned - cost, 0.0)  # beyond the cost base: a gain (CGT event G1)
            cost = max(cost - returned, 0.0)
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
