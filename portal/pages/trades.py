"""One reader of a Navexa trade, for every page (the holding page, the tax page and its CSVs). No Flask here.

A trade's kind is its `tradeType` text, or, when that is missing, its `tradeTypeId` (TRADE_KINDS); amounts are
exact fractions (pages.money.exact). A holding with any trade this reader can't use is "can't be computed,
because …" (CannotCompute, its message in words for the page) on every page alike: no figure drawn from the
rest of its trades would be right.
"""

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from .money import exact
from .reading import as_list, day_of, text

TRADE_KINDS = {1: "buy", 2: "sell"}  # Navexa's tradeTypeId, when a trade's tradeType text is missing


class CannotCompute(Exception):
    """A holding whose figures can't be computed; the message says why, in words for the page."""


@dataclass(frozen=True)
class Trade:
    day: date
    when: str  # "on 3 Mar 2025", for messages
    kind: str  # "buy" or "sell"
    units: Fraction  # always positive
    price: Fraction  # in the trade's currency
    brokerage: Fraction  # in the trade's currency
    currency: str | None  # the trade's own, if Navexa says
    rate: Fraction | None  # base currency per unit of the trade's currency, if Navexa says


def kind_of(trade: dict) -> tuple[str | None, str | None]:
    """(the kind read, "buy"/"sell" or another in lower case; the name Navexa gave, for messages)."""
    named = text(trade.get("tradeType"))
    return (named.lower() if named else TRADE_KINDS.get(trade.get("tradeTypeId"))), named


def read_trades(trades) -> list[Trade]:
    """A holding's buys and sells in trade order (by date and time, then as listed); CannotCompute names the
    first trade that can't be used (an unknown kind such as a split, an unreadable date or amount)."""
    read = []
    for position, trade in enumerate(as_list(trades)):
        day = day_of(trade.get("tradeDate"))
        when = f"on {day:%-d %b %Y}" if day else "on an unreadable date"
        kind, named = kind_of(trade)
        if kind not in ("buy", "sell"):
            raise CannotCompute(f"it has a trade of a kind the report can't use ({named or 'none given'}) {when}")
        units, price = exact(trade.get("quantity")), exact(trade.get("price"))
        brokerage = exact(trade.get("brokerage")) if trade.get("brokerage") is not None else Fraction(0)
        if day is None or units is None or units <= 0 or price is None or price < 0 or brokerage is None or brokerage < 0:
            raise CannotCompute(f"a {kind} {when} has a date, quantity, price or brokerage the report can't read")
        rate = exact(trade.get("exchangeRate")) if trade.get("exchangeRate") is not None else None
        read.append((trade["tradeDate"], position, Trade(day, when, kind, units, price, brokerage,
                                                         text(trade.get("currencyCode")), rate)))
    return [t for _, _, t in sorted(read, key=lambda item: (item[0], item[1]))]
