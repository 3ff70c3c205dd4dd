"""Money as Decimal end to end: parse and format decimal strings, never floats."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

_DECIMAL_STRING = re.compile(r"^-?\d+(\.\d+)?$")
CENT = Decimal("0.01")


def parse_money(value: object) -> Decimal:
    """Parse a decimal string (or int); refuse floats, which have already lost the cents."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"money must be a decimal string, not {type(value).__name__} {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _DECIMAL_STRING.match(value):
        raise ValueError(f"not a decimal string: {value!r}")
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards
        raise ValueError(f"not a decimal string: {value!r}") from exc


def format_money(value: Decimal, places: int = 2) -> str:
    """Format with a fixed number of places (banker's rounding), as the API writes money."""
    quantum = Decimal(1).scaleb(-places)
    return str(value.quantize(quantum, rounding=ROUND_HALF_EVEN))
