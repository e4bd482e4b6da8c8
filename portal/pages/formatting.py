"""Jinja filters: money, percentages, numbers and dates as an Australian investor reads them (Babel)."""

import functools
import re
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from babel import Locale
from babel.numbers import (
    NumberPattern,
    UnknownCurrencyError,
    format_decimal,
    format_percent,
    get_currency_precision,
    get_currency_symbol,
    parse_pattern,
)

from ..core.values import is_number
from .money import Money

LOCALE = "en_AU"
MISSING = "—"
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")  # the whole value (fullmatch)
# An Australian reads a bare "$" as Australian dollars: US dollars say so. Others take CLDR's English
# symbol (NZ$, £, €, CA$, HK$, ¥), or their code and a space where there is none (CHF 1,234.00).
SYMBOLS = {"AUD": "$", "USD": "US$"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # one style everywhere


_AU = Locale.parse(LOCALE)  # parsed once: Babel would parse the locale and the pattern again for every number


@functools.lru_cache(maxsize=32)
def pattern(text: str) -> NumberPattern:
    """A number pattern, parsed once (a portfolio page formats a few hundred numbers with a handful of patterns)."""
    return parse_pattern(text)


def currency_prefix(currency: str) -> str:
    symbol = SYMBOLS.get(currency) or get_currency_symbol(currency, locale="en")
    return symbol if symbol != currency else currency + " "


def amount(value) -> float | Decimal | None:
    """A number a page may show: an int, a float or a Decimal (tax figures), a Fraction as a Decimal; else None."""
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return value if is_number(value) else None


def money(value, currency: str | None = None, signed: bool = False) -> str:
    """$18,168.50 for AUD, US$29,587.40 for US dollars; signed: +$42.00 / −$9.90; an odd code: the number alone.
    A Money brings its own currency (one given beside it must be the same: a mismatch is a bug, not a label)."""
    if isinstance(value, Money):
        if currency is not None and currency != value.currency:
            raise ValueError(f"an amount in {value.currency} labelled {currency}")
        value, currency = value.amount, value.currency
    value = amount(value)
    if value is None:
        return MISSING
    try:
        if not _CURRENCY_CODE.fullmatch(currency or ""):
            raise ValueError(currency)
        digits = get_currency_precision(currency)
        prefix = currency_prefix(currency)
    except (UnknownCurrencyError, ValueError):
        digits, prefix = 2, ""
    text = prefix + format_decimal(abs(value), format=pattern("#,##0" + ("." + "0" * digits if digits else "")), locale=_AU)
    if signed:
        return _sign(value, text)
    return "−" + text if value < 0 else text


def percent(value, signed: bool = True) -> str:
    """Navexa reports percentages as numbers of percent (12.5 means 12.5%)."""
    if not is_number(value):
        return MISSING
    text = format_percent(abs(value) / 100 if signed else value / 100, format=pattern("#,##0.00%"), locale=_AU)
    return _sign(value, text) if signed else text


def quantity(value) -> str:
    value = amount(value)
    if value is None:
        return MISSING
    return format_decimal(value, format=pattern("#,##0.####"), locale=_AU)


def day(value) -> str:
    """'2026-11-21T00:00:00' or a date → '21 Nov 2026'."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            return MISSING
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return MISSING
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def trend(value) -> str:
    """CSS class for a gain or a loss; colour is never the only signal (signs and words are shown too)."""
    value = amount(value)
    if value is None or value == 0:
        return "flat"
    return "gain" if value > 0 else "loss"


def _sign(value, text: str) -> str:
    if value > 0:
        return "+" + text
    if value < 0:
        return "−" + text  # a true minus sign
    return text


def init_app(app):
    app.add_template_filter(money)
    app.add_template_filter(percent)
    app.add_template_filter(quantity)
    app.add_template_filter(day)
    app.add_template_filter(trend)
