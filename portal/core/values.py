"""The one test of a number in what Navexa, Redis or a template hands us, and of a count in a header. No Flask here."""

import math
import re

_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII only: str.isdigit() also says yes to "²" and "١٢", which int() refuses


def is_number(value) -> bool:
    """A real, finite int or float: JSON's true and false are bools (and bools are ints in Python), and NaN or
    Infinity (which Python's JSON reads) is no time, amount or count."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def whole_number(text: str | None) -> int | None:
    """A header's or setting's count (Retry-After, Content-Length, a port): ASCII digits only, else None."""
    return int(text) if isinstance(text, str) and _DIGITS.fullmatch(text) else None
