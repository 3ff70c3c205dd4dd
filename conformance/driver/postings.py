"""The partner's ledger postings in the harness's terms: one reader for every ledger shape.

Every ledger scenario and the reconciliation read the partner's book through
:func:`read_posting`, which applies the manifest's ``[provider.ledger]`` (decimal or
integer minor units) and ``[provider.reversal]`` rules, exact to the cent, with no float on
the way. In a double-entry book (``customer_accounts``) each line keeps its side and its
amount as the book signed it, so the scenarios judge the customer side and the
reconciliation checks that the lines of each trade sum to zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from conformance.driver.manifest import ProviderSpec
from conformance.errors import PartnerGarbage
from conformance.money import to_decimal

MAX_EXPONENT = 18  # as the manifest schema's provider.ledger.exponent



@dataclass(frozen=True, slots=True, kw_only=True)
class Posting:
    """One line of the partner's ledger, in the harness's terms."""

    amount: Decimal  # the magnitude, in the currency's major unit
    reversal: bool  # a customer line that takes a credit back
    kind: str | None
    transact_id: str | None
    quote_id: str | None
    order_ref: str | None
    event_id: str | None
    # Double-entry books: the line's account and whether it is the customer's side.
    account: str | None = None
    customer: bool = True
    # The amount with its sign as the book means it (a reversal or the other side negative
    # where the book writes it so): the balance check sums these per trade.
    signed: Decimal | None = None

    def refers_to(
        self,
        *,
        transact_id: str | None = None,
        quote_id: str | None = None,
        order_ref: str | None = None,
    ) -> bool:
        return bool(
            (transact_id and self.transact_id == transact_id)
            or (quote_id and self.quote_id == quote_id)
            or (order_ref and self.order_ref == order_ref)
        )

    @property
    def ids(self) -> tuple[str, ...]:
        """The trade id, quote id and order ref this line names (those it has)."""
        return tuple(i for i in (self.transact_id, self.quote_id, self.order_ref) if i)


def read_posting(item: Mapping[str, Any], provider: ProviderSpec) -> Posting:
    """One ledger line (the manifest's ``item`` fields) as a :class:`Posting`.

    Raises :class:`PartnerGarbage` naming the manifest field when the line cannot be read
    (no amount, a fractional minor-unit count, no usable exponent, a double-entry line
    without an account): the harness could not decide, it does not guess.
    """
    ledger = provider.ledger
    raw = to_decimal(item.get("amount"))
    if raw is None:
        raise PartnerGarbage(
            "ledger entry without a readable amount at actions.ledger.item.amount "
            f"(a decimal string, an integer or an exact JSON number): {_shown(item)}"
        )
    if ledger.amount == "minor_units":
        raw = _from_minor_units(raw, item, ledger.exponent)
    kind = _str(item.get("kind"))
    account = _str(item.get("account"))
    if ledger.double_entry and account is None:
        raise PartnerGarbage(
            "double-entry ledger line without an account at actions.ledger.item.account: "
            f"{_shown(item)}"
        )
    customer = not ledger.double_entry or account in ledger.customer_accounts
    if provider.reversal == "kind":
        reversal = customer and kind == provider.reversal_kind
    else:
        reversal = customer and raw < 0
    if ledger.double_entry or provider.reversal != "kind":
        signed = raw  # a double-entry book signs every line itself
    else:
        signed = -abs(raw) if reversal else abs(raw)
    return Posting(
        amount=abs(raw),
        reversal=reversal,
        kind=kind,
        transact_id=_str(item.get("transact_id")),
        quote_id=_str(item.get("quote_id")),
        order_ref=_str(item.get("order_ref")),
        event_id=_str(item.get("event_id")),
        account=account,
        customer=customer,
        signed=signed,
    )


def _from_minor_units(raw: Decimal, item: Mapping[str, Any], fixed: int | None) -> Decimal:
    """An integer count of minor units scaled to major units, exactly (1020, 2 → 10.20)."""
    if raw != raw.to_integral_value():
        raise PartnerGarbage(
            "ledger entry's minor-unit amount at actions.ledger.item.amount is not an "
            f"integer: {_shown(item)}"
        )
    exponent = fixed if fixed is not None else _exponent(item.get("exponent"))
    if exponent is None:
        raise PartnerGarbage(
            "ledger entry without a readable exponent at actions.ledger.item.exponent "
            f"(an integer 0-{MAX_EXPONENT}): {_shown(item)}"
        )
    return raw.to_integral_value().scaleb(-exponent)


def _exponent(value: object) -> int | None:
    if isinstance(value, bool | float):
        return None
    number = to_decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    exponent = int(number)
    return exponent if 0 <= exponent <= MAX_EXPONENT else None


def _str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _shown(item: Mapping[str, Any]) -> str:
    return repr({k: v for k, v in item.items() if v is not None})[:300]
