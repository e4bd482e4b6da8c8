"""Money and financial years, exactly: amounts as fractions from Navexa's numbers, rounded to the cent once,
and the Australian financial year a day falls in. No Flask here."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from ..core.values import is_number

CENT = Decimal("0.01")


def cents(value: Fraction) -> Decimal:
    """An exact amount rounded to the cent, half away from zero (as money is)."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def exact(value) -> Fraction | None:
    """A number from Navexa as an exact fraction (12.34 is 1234/100, not the float nearest it); None if it isn't one."""
    if is_number(value):
        value = repr(float(value))
    if not isinstance(value, str):
        return None
    try:
        parsed = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        return None
    return Fraction(parsed) if parsed.is_finite() else None


def rate_text(rate: Fraction | None) -> str:
    """An exchange rate as a CSV or a page says it: 1.5, 1.523 (at most six decimals); empty when unknown."""
    return "" if rate is None else f"{float(rate):.6f}".rstrip("0").rstrip(".")


def financial_year_of(day: date) -> int:
    """The financial year a day falls in, named by the year it ends: 1 July 2024 – 30 June 2025 is 2025."""
    return day.year + 1 if day.month >= 7 else day.year


def year_label(fy: int) -> str:
    """2025 → '2024–25'."""
    return f"{fy - 1}–{str(fy)[-2:]}"


def year_bounds(fy: int) -> tuple[date, date]:
    return date(fy - 1, 7, 1), date(fy, 6, 30)


@dataclass(frozen=True)
class Money:
    """An amount with the currency it was computed in, carried together through a page model so that a label can't
    come from a different record than its amount (pages.formatting.money shows it). `amount` None: unknown."""

    amount: float | Decimal | None
    currency: str | None

    @property
    def known(self) -> bool:
        return self.amount is not None
