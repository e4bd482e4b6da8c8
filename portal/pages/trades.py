"""One reader of a Navexa trade, for every page (the holding page, the tax page and its CSVs). No Flask here.

A trade's kind is its `tradeType` text (TRADE_NAMES), or, when that is missing, its `tradeTypeId` (TRADE_KINDS);
amounts are exact fractions (pages.money.exact). A holding with any trade this reader can't use is "can't be
computed, because …" (CannotCompute, its message in words for the page) on every page alike: no figure drawn from
the rest of its trades would be right.

The kinds, and what each trade's fields mean (Navexa's help centre names them; the exact `tradeType` texts of all
but Buy, Sell and Split are guessed from it, and listed once here and in docs/tax.md):
- buy, sell: `quantity` units at `price` a unit, plus `brokerage`;
- opening (Opening Balance): a holding brought in: a parcel like a buy, on its date at its cost;
- drp (Dividend Reinvestment, DRP): units allotted instead of a dividend: a parcel like a buy (its own 12 months);
- split, consolidation: `quantity` is the units the action added (a split) or took away (a consolidation);
  `price` and `brokerage` are not used;
- capital_return (Return of Capital, Capital Return): `price` is the amount returned a unit held (or `value`, the
  whole amount, when `price` is missing); `quantity` the units it was paid on.
"""

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from .money import exact
from .reading import as_list, day_of, text

TRADE_KINDS = {1: "buy", 2: "sell"}  # Navexa's tradeTypeId, when a trade's tradeType text is missing
TRADE_NAMES = {  # Navexa's tradeType text (lower case) → the kind read; all but buy, sell and split are guessed
    "buy": "buy", "sell": "sell", "split": "split", "share split": "split", "consolidation": "consolidation",
    "share consolidation": "consolidation", "opening balance": "opening", "dividend reinvestment": "drp", "drp": "drp",
    "return of capital": "capital_return", "capital return": "capital_return",
}
UNIT_ACTIONS = ("split", "consolidation")  # change the units held, not the cost: no CGT event
PARCELS = ("buy", "opening", "drp")  # each makes a parcel


class CannotCompute(Exception):
    """A holding whose figures can't be computed; the message says why, in words for the page."""


def units_said(units: Fraction) -> str:
    """Units as a message says them: 1,234.5 (at most four decimals)."""
    return f"{float(units):,.4f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Trade:
    day: date
    when: str  # "on 3 Mar 2025", for messages
    kind: str  # "buy", "sell", "opening", "drp", "split", "consolidation" or "capital_return"
    units: Fraction  # always positive
    price: Fraction  # in the trade's currency: a unit's price, or the amount returned a unit (capital_return)
    brokerage: Fraction  # in the trade's currency
    currency: str | None  # the trade's own, if Navexa says
    rate: Fraction | None  # base currency per unit of the trade's currency, if Navexa says


def kind_of(trade: dict) -> tuple[str | None, str | None]:
    """(the kind read, or None if it is none the portal knows; the name Navexa gave, for messages)."""
    named = text(trade.get("tradeType"))
    return (TRADE_NAMES.get(" ".join(named.lower().split())) if named else TRADE_KINDS.get(trade.get("tradeTypeId"))), named


def read_trades(trades) -> list[Trade]:
    """A holding's trades in trade order (by date and time, then as listed); CannotCompute names the first trade
    that can't be used (an unknown kind such as a demerger, an unreadable date or amount)."""
    read = []
    for position, trade in enumerate(as_list(trades)):
        day = day_of(trade.get("tradeDate"))
        when = f"on {day:%-d %b %Y}" if day else "on an unreadable date"
        kind, named = kind_of(trade)
        if kind is None:
            raise CannotCompute(f"it has a trade of a kind the report can't use ({named or 'none given'}) {when}")
        units, price = exact(trade.get("quantity")), exact(trade.get("price"))
        brokerage = exact(trade.get("brokerage")) if trade.get("brokerage") is not None else Fraction(0)
        if kind in UNIT_ACTIONS:
            price, brokerage = Fraction(0), Fraction(0)  # not used: the action moves units, not money
        elif kind == "capital_return" and (price is None or price == 0) and units:
            total = exact(trade.get("value"))
            price = abs(total) / units if total is not None else price
        if day is None or units is None or units <= 0 or price is None or price < 0 or brokerage is None or brokerage < 0:
            raise CannotCompute(f"a {kind} {when} has a date, quantity, price or brokerage the report can't read")
        rate = exact(trade.get("exchangeRate")) if trade.get("exchangeRate") is not None else None
        read.append((trade["tradeDate"], position, Trade(day, when, kind, units, price, brokerage,
                                                         text(trade.get("currencyCode")), rate)))
    return [t for _, _, t in sorted(read, key=lambda item: (item[0], item[1]))]


# Navexa's income records: the AMIT cost base net amount of a trust distribution (guessed names, listed once here
# and in docs/tax.md): the fund's AMMA statement's net increase (+) or decrease (−) for all the units held.
AMIT_FIELDS = ("amitCostBaseNetAmount", "amitCostBaseNetIncrease")


def amit_adjustments(income) -> list[Trade]:
    """A holding's AMIT cost base adjustments from its income records, as actions on their entitlement (ex-dividend)
    day (kind "amit"; `price` the whole net amount, signed, in the record's currency; `rate` its exchange rate to the
    portfolio's). A record with an AMIT field that can't be read makes the holding CannotCompute."""
    found = []
    for record in as_list(income):
        field = next((name for name in AMIT_FIELDS if record.get(name) is not None), None)
        if field is None:
            continue
        day = day_of(record.get("exDividendDate")) or day_of(record.get("paidDate"))
        amount = exact(record.get(field))
        if day is None or amount is None:
            raise CannotCompute("it has a trust distribution whose AMIT cost base adjustment the report can't read")
        rate = exact(record.get("exchangeRate")) if record.get("exchangeRate") is not None else None
        found.append(Trade(day, f"on {day:%-d %b %Y}", "amit", Fraction(1), amount, Fraction(0),
                           text(record.get("dividendCurrency")), rate))
    return sorted(found, key=lambda trade: trade.day)
