"""Navexa's answers read defensively, for every page: a missing or odd field becomes None (shown as
"—"), an extra field is ignored, and nothing here raises on a surprising shape. No Flask here."""

import csv
import io
import math
from datetime import date

from ..core.values import is_number

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so


def number(value) -> float | None:
    """A finite float for numbers and numeric strings; None for anything else (bools, "NaN" and "inf" included)."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value.replace(",", ""))
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def text(value) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def as_list(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def day_of(value) -> date | None:
    """The day of Navexa's '2026-06-30T00:00:00' (or '2026-06-30'); None for anything else."""
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


def total_of(values) -> float | None:
    """Sum of numbers, or None if any is missing or not a number (shown as "—" beside it): a partial
    total would mislead, at tax time above all."""
    total = 0.0
    for value in values:
        if not is_number(value):
            return None
        total += value
    return total


def csv_text(header, rows) -> str:
    """A CSV as the downloads write it (CRLF lines, as spreadsheets expect): the header, then each row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def cell(value) -> str:
    """A CSV cell for a number or date already shaped: empty when there is none."""
    return "" if value is None else str(value)


def safe_text(value: str | None) -> str:
    """A text cell for CSV: empty for None, and guarded (a leading ') if a spreadsheet would run it."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_START) else value
