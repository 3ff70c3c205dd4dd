"""Money as Decimal end to end, written once: parse, read and format, never floats.

Everything that touches an amount uses this module: the simulator writes its bodies with
``format_money`` and rounds prices to ``CENT``; the driver reads a partner's ledger amounts with
``to_decimal`` (lenient: ``None`` for what is not a number); a scenario parses a decimal string
strictly with ``parse_money``.
"""

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
    return str(value.quantize(quantum, ROUND_HALF_EVEN))


def to_decimal(value: object) -> Decimal | None:
    """An amount as Decimal (strings, ints, or JSON numbers read exactly); None if not one.

    A float is refused: it means the answer was parsed lossily (JSON numbers arrive as Decimal).
    """
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if not isinstance(value, int | str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
