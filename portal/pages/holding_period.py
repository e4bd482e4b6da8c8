"""The holding period rule for franking credits (the "45-day rule", ITAA 1936 former Division 1A of Part IIIAA,
kept by s 207-145 ITAA 1997), from a holding's trades. No Flask here.

- A franked dividend's credit is claimable only if the shares it was paid on were held at risk for at least 45
  days (90 for preference shares) in the qualification period: from the day after they were acquired to the 45th
  (90th) day after the day they went ex-dividend. Neither the day acquired nor the day disposed of counts.
- Units held at the end of the day before the ex-dividend day are the ones the dividend was paid on.
- Sales are matched last in, first out, as the rule requires (the units acquired most recently are taken to be
  the ones sold first), whatever method the capital gains report uses.
- Splits and consolidations scale every parcel's units (its acquisition day stays); reinvested dividends and
  opening balances are parcels like buys.
- What the rule also asks and Navexa doesn't record is not checked: positions that take away the shares' risk
  (options, hedges), and the related-payments rule. The page says so.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from .money import cents
from .trades import PARCELS, UNIT_ACTIONS, CannotCompute, Trade, units_said

ORDINARY_DAYS, PREFERENCE_DAYS = 45, 90


@dataclass(frozen=True)
class Chunk:
    """Units the dividend was paid on, acquired on one day and (if so) disposed of on one day, in the units of the
    day before the ex-dividend day."""

    acquired: date
    units: Fraction
    disposed: date | None


def days_held(acquired: date, disposed: date | None, window_end: date, today: date) -> int:
    """Days counted: from the day after `acquired` to the day before `disposed`, within the window ending
    `window_end` (and, while the units are still held, up to today)."""
    last = window_end if disposed is None else min(disposed - timedelta(days=1), window_end)
    if disposed is None:
        last = min(last, today)
    return max((last - acquired).days, 0)


@dataclass(frozen=True)
class HoldingCheck:
    required: int  # 45, or 90 for preference shares
    ex_date: date
    entitled: Fraction  # units held the day before the ex-dividend day
    failing: Fraction  # of those, units held fewer than `required` days (sold too soon)
    pending: Fraction  # units still held whose count can't be finished yet (the window is still open)
    fewest_days: int | None  # the fewest days any of the units was held (the one a person needs to see)

    @property
    def window_end(self) -> date:
        return self.ex_date + timedelta(days=self.required)

    @property
    def status(self) -> str:
        """'none' (no units held before the ex-date, as Navexa's trades show it), 'fails', 'pending' or 'passes'."""
        if self.entitled <= 0:
            return "none"
        if self.failing > 0:
            return "fails"
        return "pending" if self.pending > 0 else "passes"

    def at_risk(self, credit: Decimal) -> Decimal:
        """The part of `credit` on the failing units: what may not be claimable."""
        if self.entitled <= 0 or self.failing <= 0:
            return Decimal("0.00")
        return cents(Fraction(credit) * self.failing / self.entitled)


def entitled_chunks(trades: list[Trade], ex_date: date) -> list[Chunk]:
    """The units held at the end of the day before `ex_date`, each with the day it was acquired and the day it was
    disposed of, matching sales last in, first out. CannotCompute if a sale takes more than is held."""
    parcels: list[list] = []  # [acquired, units held now, units held the day before ex_date, scale since then]
    chunks: list[Chunk] = []
    snapped = False
    for trade in trades:
        if not snapped and trade.day >= ex_date:
            for parcel in parcels:
                parcel[2], parcel[3] = parcel[1], Fraction(1)
            snapped = True
        if trade.kind in PARCELS:
            parcels.append([trade.day, trade.units, Fraction(0), Fraction(1)])
        elif trade.kind in UNIT_ACTIONS:
            held = sum(p[1] for p in parcels)
            after = held + trade.units if trade.kind == "split" else held - trade.units
            if held <= 0 or after <= 0:
                raise CannotCompute(f"a {trade.kind} {trade.when} leaves no units held")
            for parcel in parcels:
                parcel[1], parcel[3] = parcel[1] * after / held, parcel[3] * after / held
        elif trade.kind == "sell":
            wanted = trade.units
            for parcel in reversed(parcels):
                taken = min(wanted, parcel[1])
                if taken <= 0:
                    continue
                parcel[1] -= taken
                wanted -= taken
                if snapped and parcel[2] > 0:  # a parcel from before the ex-date: every unit of it was paid on
                    chunks.append(Chunk(parcel[0], taken / parcel[3], trade.day))
                    parcel[2] -= taken / parcel[3]
                if wanted <= 0:
                    break
            if wanted > 0:
                raise CannotCompute(f"a sale {trade.when} sells {units_said(trade.units)} units, more than were held")
    if not snapped:
        for parcel in parcels:
            parcel[2] = parcel[1]
    return chunks + [Chunk(p[0], p[2], None) for p in parcels if p[2] > 0]


def check(trades: list[Trade], ex_date: date, today: date, preference: bool = False) -> HoldingCheck:
    """Whether the units a dividend with this ex-dividend day was paid on were held long enough."""
    required = PREFERENCE_DAYS if preference else ORDINARY_DAYS
    window_end = ex_date + timedelta(days=required)
    chunks = entitled_chunks(trades, ex_date)
    failing = pending = Fraction(0)
    fewest = None
    for chunk in chunks:
        counted = days_held(chunk.acquired, chunk.disposed, window_end, today)
        fewest = counted if fewest is None else min(fewest, counted)
        if counted >= required:
            continue
        if chunk.disposed is None and today < window_end:
            pending += chunk.units
        else:
            failing += chunk.units
    return HoldingCheck(required, ex_date, sum((c.units for c in chunks), Fraction(0)), failing, pending, fewest)
