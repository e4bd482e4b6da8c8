"""What a person asked a page for, read from the query string and checked: the period and sort of a portfolio, a
financial year, the tax options (method, entity, losses from outside, earlier years' methods) and a planned sale.
Anything else is a 400 that says the rule (BadInput), never a guess."""

import re
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from flask import request

from ..web.problems import BadInput
from ..web.services import services
from . import cgt, money, tax_report
from .portfolio import DEFAULT_PERIOD, DEFAULT_SORT, PERIODS, SORT_KEYS


def today() -> date:
    return services().today()


def chosen_period() -> str:
    """The period asked for, or the default one for anything unknown (an old link should still work)."""
    period = request.args.get("period", DEFAULT_PERIOD).upper()
    return period if period in PERIODS else DEFAULT_PERIOD


def chosen_sort() -> tuple[str, str]:
    key = request.args.get("sort", DEFAULT_SORT[0])
    direction = request.args.get("dir", "desc" if key == DEFAULT_SORT[0] else "asc")
    if key not in SORT_KEYS or direction not in ("asc", "desc"):
        raise BadInput("The holdings table can't be sorted that way.")
    return key, direction


_YEAR = re.compile(r"[0-9]{4}")  # ASCII digits, the whole value (no trailing newline, no other scripts' digits)


def chosen_fy() -> int | None:
    """The financial year asked for (?fy=2025, by the year it ends), None if none; 400 with the rule for anything else."""
    fy = request.args.get("fy")
    latest = money.financial_year_of(today()) + 1
    if fy is not None and not (_YEAR.fullmatch(fy) and 1990 <= int(fy) <= latest):
        raise BadInput(f"Choose a financial year by the year it ends, from 1990 to {latest}: fy=2025 is "
                       "1 July 2024 to 30 June 2025.")
    return int(fy) if fy else None


def chosen_tax_options() -> tuple[int | None, str, str]:
    """The financial year (None: the default one), sale-allocation method and entity asked for; 400 for others."""
    fy, method = chosen_fy(), request.args.get("method", cgt.DEFAULT_METHOD)
    entity = request.args.get("entity", cgt.DEFAULT_ENTITY)
    if method not in cgt.METHODS:
        raise BadInput("Choose a sale-allocation method: method=fifo, lifo or min.")
    if entity not in cgt.ENTITIES:
        raise BadInput("Choose who holds the portfolio: entity=individual, trust, smsf or company.")
    return fy, method, entity


_AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")  # dollars and at most two decimals, the whole value


def chosen_losses() -> Decimal:
    """Net capital losses the person brings from outside this portfolio (?losses=1234.56); 400 for anything else."""
    given = request.args.get("losses", "").strip()
    if not given:
        return Decimal("0.00")
    if not _AMOUNT.fullmatch(given):
        raise BadInput("Losses from outside this portfolio are a dollar amount of at least 0 with at most two "
                       "decimals, such as losses=1234.56.")
    return Decimal(given).quantize(Decimal("0.01"))


_FIXED = re.compile(r"(?:[0-9]{4}-[0-9]{2}:(?:fifo|lifo|min))(?:,[0-9]{4}-[0-9]{2}:(?:fifo|lifo|min))*")


def chosen_fixed_methods() -> dict[int, str]:
    """How earlier years were lodged: ?methods=2024-25:fifo,2023-24:lifo (year as the ATO writes it); 400 else."""
    given = request.args.get("methods", "").strip().replace(" ", "")
    if not given:
        return {}
    problem = "Give each earlier year's method as methods=2024-25:fifo,2023-24:lifo (fifo, lifo or min)."
    if not _FIXED.fullmatch(given):
        raise BadInput(problem)
    fixed = {}
    for part in given.split(","):
        label, _, method = part.partition(":")
        fy = int(label[:4]) + 1
        if label != money.year_label(fy).replace("–", "-"):  # 2024-26 is no financial year
            raise BadInput(problem)
        fixed[fy] = method
    return fixed


_UNITS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def chosen_sale(held: Fraction) -> tuple[Fraction, date]:
    """The planned sale's units (default: all held) and day (default: today); 400 with the rule for anything else."""
    given_units, given_day = request.args.get("units", "").strip(), request.args.get("date", "").strip()
    units = Fraction(given_units) if given_units and _UNITS.fullmatch(given_units) else None
    if given_units and (units is None or units <= 0 or units > held):
        raise BadInput(f"Choose how many units to sell: a number above 0 and at most the {tax_report.units_text(held)} held "
                       "(up to six decimals).")
    day = None
    if given_day:
        try:
            day = date.fromisoformat(given_day) if _DAY.fullmatch(given_day) else None
        except ValueError:
            day = None
        if day is None or not today() <= day <= today() + timedelta(days=365):
            raise BadInput(f"Choose a sale date from today ({today():%-d %b %Y}) to a year ahead "
                           f"({today() + timedelta(days=365):%-d %b %Y}), as YYYY-MM-DD.")
    return units or held, day or today()
