"""Jinja filters: money, percentages, numbers and dates as an Australian investor reads them (Babel)."""

import re
from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import UnknownCurrencyError, format_currency, format_decimal, format_percent

LOCALE = "en_AU"
MISSING = "—"
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


def money(value, currency: str | None, signed: bool = False) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return MISSING
    amount = abs(value) if signed else value
    try:
        if not _CURRENCY_CODE.match(currency or ""):
            raise ValueError(currency)
        text = format_currency(amount, currency, locale=LOCALE)
    except (UnknownCurrencyError, ValueError):
        text = format_decimal(amount, format="#,##0.00", locale=LOCALE)  # an odd code: the number alone
    return _sign(value, text) if signed else text


def percent(value, signed: bool = True) -> str:
    """Navexa reports percentages as numbers of percent (12.5 means 12.5%)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return MISSING
    text = format_percent(abs(value) / 100 if signed else value / 100, format="#,##0.00%", locale=LOCALE)
    return _sign(value, text) if signed else text


def quantity(value) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return MISSING
    return format_decimal(value, format="#,##0.####", locale=LOCALE)


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
    return format_date(value, "d MMM y", locale=LOCALE)


def trend(value) -> str:
    """CSS class for a gain or a loss; colour is never the only signal (signs and words are shown too)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value == 0:
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
