"""Reconciliation: match the partner's ledger to the provider's trades, with a drift table.

Every settled-and-not-returned trade needs exactly one credit of the declared amount;
released and failed trades none; returned ones a credit and exactly one reversal. Each
mismatch becomes a row naming the order, quote, trade and event, so finance can look it up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from conformance.driver.driver import Posting


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """One reconciliation mismatch (a readable counterexample)."""

    problem: str  # missing | extra | duplicate | amount_mismatch | reversal_missing | ...
    order_ref: str | None
    quote_id: str | None
    transact_id: str | None
    event_id: str | None
    provider_status: str | None
    expected: str
    posted: str

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciliation:
    """The outcome of matching: drift rows and the two totals."""

    drift: tuple[Drift, ...]
    expected_total: Decimal
    posted_total: Decimal
    trades: int

    @property
    def clean(self) -> bool:
        return not self.drift and self.expected_total == self.posted_total


def reconcile(
    trades: Sequence[Any],
    postings: Iterable[Posting],
    *,
    amount_field: str,
    order_refs: Mapping[str, str],
    events: Mapping[str, str] | None = None,
) -> Reconciliation:
    """Match postings to trades by trade id, quote id or order ref; report every mismatch."""
    events = events or {}
    by_trade: dict[str, list[Posting]] = {t.id: [] for t in trades}
    by_quote = {t.quote_id: t.id for t in trades}
    ref_to_trade = {ref: by_quote[q] for q, ref in order_refs.items() if q in by_quote}
    unmatched: list[Posting] = []
    for posting in postings:
        tid = (
            (posting.transact_id if posting.transact_id in by_trade else None)
            or by_quote.get(posting.quote_id or "")
            or ref_to_trade.get(posting.order_ref or "")
        )
        if tid is None:
            unmatched.append(posting)
        else:
            by_trade[tid].append(posting)
    drift: list[Drift] = []
    expected_total = Decimal(0)
    posted_total = Decimal(0)
    for trade in trades:
        amount = trade.fiat_amount if amount_field == "fiatAmount" else trade.crypto_amount
        got = by_trade[trade.id]
        credits = [p.amount for p in got if not p.reversal]
        reversals = [p.amount for p in got if p.reversal]
        posted_total += sum(credits, Decimal(0)) - sum(reversals, Decimal(0))

        def row(problem: str, expected: str, posted: str, t: Any = trade) -> Drift:
            return Drift(
                problem=problem,
                order_ref=order_refs.get(t.quote_id),
                quote_id=t.quote_id,
                transact_id=t.id,
                event_id=events.get(t.id),
                provider_status=t.status,
                expected=expected,
                posted=posted,
            )

        shown = ", ".join(str(a) for a in credits) or "none"
        if trade.status == "settled":
            expected_total += amount
            if not credits:
                drift.append(row("missing", f"one credit of {amount}", "none"))
            elif len(credits) > 1:
                drift.append(row("duplicate", f"one credit of {amount}", shown))
            elif credits[0] != amount:
                drift.append(row("amount_mismatch", str(amount), str(credits[0])))
            if reversals:
                drift.append(
                    row("unexpected_reversal", "no reversal", ", ".join(map(str, reversals)))
                )
        elif trade.status == "returned":
            if len(credits) > 1:
                drift.append(row("duplicate", f"one credit of {amount}", shown))
            elif credits and credits[0] != amount:
                drift.append(row("amount_mismatch", str(amount), str(credits[0])))
            if credits and len(reversals) != 1:
                drift.append(
                    row(
                        "reversal_missing" if not reversals else "reversal_duplicate",
                        f"one reversal of {amount}",
                        ", ".join(map(str, reversals)) or "none",
                    )
                )
            elif credits and reversals[0] != credits[0]:
                drift.append(row("amount_mismatch", f"reversal of {credits[0]}", str(reversals[0])))
            if not credits and reversals:
                drift.append(
                    row("extra", "nothing or credit+reversal", ", ".join(map(str, reversals)))
                )
        elif trade.status in ("released", "failed"):
            if got:
                drift.append(row("extra", "none", ", ".join(str(p.amount) for p in got)))
        elif got:  # still reserved: nothing may be posted yet
            drift.append(row("premature", "none while reserved", shown))
    for posting in unmatched:
        drift.append(
            Drift(
                problem="extra",
                order_ref=posting.order_ref,
                quote_id=posting.quote_id,
                transact_id=posting.transact_id,
                event_id=posting.event_id,
                provider_status=None,
                expected="no posting (no such trade)",
                posted=str(posting.amount),
            )
        )
        posted_total += -posting.amount if posting.reversal else posting.amount
    return Reconciliation(
        drift=tuple(drift),
        expected_total=expected_total,
        posted_total=posted_total,
        trades=len(trades),
    )
