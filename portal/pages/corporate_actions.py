"""Corporate actions on a holding's parcels, each as the ATO treats it (docs/tax.md gives the references). No Flask
here; exact fractions, rounded to the cent where a gain arises.

- a split or consolidation scales every open parcel's units, its cost base and acquisition date unchanged (no
  CGT event);
- a return of capital lowers each parcel's cost base by its units' share; beyond the cost base it is a gain (G1);
- an AMIT cost base net amount raises or lowers each parcel's cost base by its units' share; a decrease beyond
  the cost base is a gain (E10).
Parcels are pages.cgt's, changed in place; gains come back as pages.cgt Disposals.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from .money import cents
from .trades import CannotCompute

if TYPE_CHECKING:  # pragma: no cover - types only: pages.cgt imports this module
    from .cgt import Disposal, Parcel, TaxTrade


def _gain(symbol, holding_id, parcel: Parcel, day: date, excess: Decimal, event: str) -> Disposal:
    """The capital gain an action makes on a parcel (its cost base nil), as a row of the year's disposals."""
    from .cgt import Disposal, discount_from  # pages.cgt imports this module: its names, once it is loaded

    return Disposal(symbol, holding_id, parcel.acquired, day, parcel.held, Decimal("0.00"), excess, excess,
                    day >= discount_from(parcel.acquired), event=event)


def _units(units: Fraction) -> str:
    return f"{float(units):,.4f}".rstrip("0").rstrip(".")


def apply(parcels: list[Parcel], action: TaxTrade, held: Fraction, symbol, holding_id) -> list[Disposal]:
    """Apply one action to the parcels held on its day; the gains it makes (G1, E10), if any."""
    if action.kind == "capital_return":
        return return_capital(parcels, action, symbol, holding_id)
    if action.kind == "amit":
        return adjust_amit(parcels, action, held, symbol, holding_id)
    scale(parcels, action, held)
    return []


ACTION_WORDS = {"split": "split", "consolidation": "consolidation", "capital_return": "return of capital",
                "amit": "trust distribution's AMIT cost base adjustment"}


def scale(parcels: list[Parcel], action: TaxTrade, held: Fraction):
    """A split adds units, a consolidation takes them away: every open parcel's units scale by the same ratio, its
    cost base and acquisition date unchanged (no CGT event). Fractions of a unit are kept exact."""
    after = held + action.units if action.kind == "split" else held - action.units
    if after <= 0:
        raise CannotCompute(f"a consolidation on {action.day:%-d %b %Y} takes away {_units(action.units)} units of the "
                            f"{_units(held)} held")
    for parcel in parcels:
        parcel.held = parcel.held * after / held


def adjust_amit(parcels: list[Parcel], action: TaxTrade, held: Fraction, symbol, holding_id) -> list[Disposal]:
    """An AMIT cost base net amount (`price`, for all the units held on the entitlement day): each parcel's cost base
    moves by its units' share, up for an increase, down for a decrease; a decrease beyond a parcel's cost base is a
    capital gain that year (CGT event E10, ITAA 1997 s 104-107A) and leaves it nil."""
    found = []
    for parcel in (p for p in parcels if p.held > 0):
        share = action.price * action.rate * parcel.held / held
        if share >= 0 or -share <= parcel.cost:
            parcel.cost += share
            continue
        excess = cents(-share - parcel.cost)
        found.append(_gain(symbol, holding_id, parcel, action.day, excess, "E10"))
        parcel.cost = Fraction(0)
    return found


def return_capital(parcels: list[Parcel], action: TaxTrade, symbol, holding_id) -> list[Disposal]:
    """A return of capital reduces the cost base of each parcel held on its date by its units' share; the part of a
    parcel's share beyond its cost base is a capital gain that year (CGT event G1), and its cost base is nil."""
    found = []
    for parcel in (p for p in parcels if p.held > 0):
        returned = action.price * parcel.held * action.rate
        if returned <= parcel.cost:
            parcel.cost -= returned
            continue
        excess = cents(returned - parcel.cost)
        found.append(_gain(symbol, holding_id, parcel, action.day, excess, "G1"))
        parcel.cost = Fraction(0)
    return found
