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

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from .money import cents
from .trades import CannotCompute, units_said

if TYPE_CHECKING:  # pragma: no cover - types only: pages.cgt imports this module
    from .cgt import Parcel, TaxTrade

ACTION_WORDS = {"split": "split", "consolidation": "consolidation", "capital_return": "return of capital",
                "amit": "trust distribution's AMIT cost base adjustment"}
EVENTS = {"capital_return": "G1", "amit": "E10"}  # the CGT event when an action takes a cost base below nil


def apply(parcels: list[Parcel], action: TaxTrade, held: Fraction) -> list[tuple[Parcel, Decimal, str]]:
    """Apply one action to the parcels held on its day; the gains it makes, as (parcel, gain, CGT event)."""
    if action.kind not in EVENTS:
        scale(parcels, action, held)
        return []
    open_parcels = [p for p in parcels if p.held > 0]
    if action.kind == "capital_return":  # `price` a unit: each parcel's units' worth comes off its cost base
        changes = [-(action.price * p.held * action.rate) for p in open_parcels]
    else:  # an AMIT cost base net amount (`price`, for all the units held), shared by units, up or down
        changes = [action.price * action.rate * p.held / held for p in open_parcels]
    return move_cost_bases(open_parcels, changes, EVENTS[action.kind])


def scale(parcels: list[Parcel], action: TaxTrade, held: Fraction):
    """A split adds units, a consolidation takes them away: every open parcel's units scale by the same ratio, its
    cost base and acquisition date unchanged (no CGT event). Fractions of a unit are kept exact."""
    after = held + action.units if action.kind == "split" else held - action.units
    if after <= 0:
        raise CannotCompute(f"a consolidation on {action.day:%-d %b %Y} takes away {units_said(action.units)} units of "
                            f"the {units_said(held)} held")
    for parcel in parcels:
        parcel.held = parcel.held * after / held


def move_cost_bases(parcels: list[Parcel], changes: list[Fraction], event: str) -> list[tuple[Parcel, Decimal, str]]:
    """Raise or lower each parcel's cost base by its change. A return of capital (CGT event G1, ITAA 1997 s 104-135)
    or an AMIT decrease (E10, s 104-107A) beyond a parcel's cost base is a capital gain that year, and leaves the
    cost base nil."""
    gains = []
    for parcel, change in zip(parcels, changes, strict=True):
        if parcel.cost + change >= 0:
            parcel.cost += change
            continue
        gains.append((parcel, cents(-(parcel.cost + change)), event))
        parcel.cost = Fraction(0)
    return gains
