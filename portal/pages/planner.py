"""The sale planner: what selling some of a holding on a day would do to that year's capital gains, and what
waiting would change. Read-only; no Flask here; exact fractions, rounded to the cent as the report rounds.

A planned sale is matched to the parcels still held (after every recorded sale) by the chosen method, at the
holding's value a unit today and no brokerage. Its effect is the year's net capital gain with the sale less the
year's net capital gain without it, both after the year's other disposals and the losses carried into the year
(pages.cgt.summarise). For each parcel the sale takes that is not yet discount-eligible on the sale day, the
planner gives the first day it is, the days to go, and the net capital gain the same sale would add on that day
(at today's value), so a person sees what waiting saves.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from . import cgt
from .money import financial_year_of


@dataclass(frozen=True)
class Wait:
    acquired: date
    units: Fraction
    eligible_from: date
    days_to_go: int
    adds_then: Decimal  # the net capital gain the same sale adds if made on eligible_from

    def saves(self, adds_now: Decimal) -> Decimal:
        return adds_now - self.adds_then


@dataclass(frozen=True)
class SalePlan:
    units: Fraction
    day: date
    value_a_unit: Fraction
    method: str
    disposals: list[cgt.Disposal]
    adds: Decimal  # to the year's net capital gain (negative: it lowers it)
    year_with_sale: cgt.YearSummary
    waits: list[Wait]

    @property
    def fy(self) -> int:
        return financial_year_of(self.day)


def parcels_of(open_parcels: list[cgt.OpenParcel]) -> list[cgt.Parcel]:
    return [cgt.Parcel(p.acquired, p.units, p.exact_cost, order=n) for n, p in enumerate(open_parcels)]


def held_units(open_parcels: list[cgt.OpenParcel]) -> Fraction:
    return sum((p.units for p in open_parcels), Fraction(0))


def effect(open_parcels, units: Fraction, day: date, value_a_unit: Fraction, method: str, discount_rate: Fraction,
           gains: list[cgt.HoldingGains], from_outside: Decimal) -> tuple[list[cgt.Disposal], Decimal, cgt.YearSummary]:
    """The sale's disposals, what it adds to its year's net capital gain, and that year with it."""
    first = open_parcels[0] if open_parcels else None
    sale = cgt.TaxTrade(day, "sell", units, value_a_unit, Fraction(0), Fraction(1))
    disposals = cgt.sell(parcels_of(open_parcels), sale, method, discount_rate,
                         first.symbol if first else None, first.holding_id if first else None)
    fy = financial_year_of(day)
    others = cgt.disposals_in(gains, fy)
    carried = cgt.brought_forward_into(gains, fy, discount_rate, from_outside)
    without = cgt.summarise(others, discount_rate, carried)
    with_sale = cgt.summarise(others + disposals, discount_rate, carried)
    return disposals, with_sale.net_capital_gain - without.net_capital_gain, with_sale


def plan(open_parcels: list[cgt.OpenParcel], units: Fraction, day: date, value_a_unit: Fraction, method: str,
         discount_rate: Fraction, gains: list[cgt.HoldingGains], from_outside: Decimal = Decimal("0.00")) -> SalePlan:
    """The sale of `units` on `day` at `value_a_unit` (the caller has checked units and day), and what waiting
    for each parcel's discount would change."""
    disposals, adds, year = effect(open_parcels, units, day, value_a_unit, method, discount_rate, gains, from_outside)
    waits = []
    for d in disposals:
        if d.discount_eligible or d.gain <= 0:
            continue
        eligible = cgt.discount_from(d.acquired)
        _, adds_then, _ = effect(open_parcels, units, eligible, value_a_unit, method, discount_rate, gains, from_outside)
        waits.append(Wait(d.acquired, d.units, eligible, (eligible - day).days, adds_then))
    return SalePlan(units, day, value_a_unit, method, disposals, adds, year, waits)
