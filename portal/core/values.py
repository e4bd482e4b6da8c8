"""The one test of a number in what Navexa, Redis or a template hands us. No Flask here."""


def is_number(value) -> bool:
    """A real int or float: JSON's true and false are bools, and bools are ints in Python."""
    return isinstance(value, int | float) and not isinstance(value, bool)
