"""Reconciliation: match the partner's ledger to the provider's trades, with a drift table.

Every settled-and-not-returned trade needs exactly one customer credit of the declared
amount; released and failed trades none; returned ones a credit and exactly one reversal;
in a double-entry book the lines of each trade, both sides, sum to zero. Each mismatch
becomes a row naming the order, quote, trade and event, so finance can look it up.

Only the customer side is matched to amounts, and only for the scenario's own trades: a
finance book that holds every customer's postings may name other trades this partner made
at the provider (``known_elsewhere``), and those are out of scope. A customer posting that
names none of the scenario's trades and none of those is ``extra``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from conformance.driver.postings import Posting

# What to fix, per drift problem (one line each, for findings).
FIXES: Mapping[str, str] = {
    "missing": "post one credit of the trade's amount when it settles",
    "duplicate": "post exactly one credit per settled trade (dedupe events and polls)",
    "amount_mismatch": "post the trade's amount exactly (decimal or integer minor units with "
    "the right exponent; never binary floats)",
    "unexpected_reversal": "reverse a credit only when the trade is returned",
    "reversal_missing": "reverse the credit once when a settled trade is returned",
    "reversal_duplicate": "reverse a returned trade's credit exactly once",
    "extra": "post nothing for released, failed or unknown trades",
    "premature": "post nothing while the trade is reserved; credit only when it settles",
    "unbalanced": "write both sides of every entry with equal and opposite amounts (the "
    "customer line and its settlement or clearing line)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """One reconciliation mismatch (a readable counterexample)."""

    problem: str  # missing | extra | duplicate | amount_mismatch | unbalanced | ... (FIXES)
    order_ref: str | None
    quote_id: str | None
    transact_id: str | None
    event_id: str | None
    provider_status: str | None
    expected: str
    posted: str

    def row(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def fix(self) -> str:
        return FIXES.get(self.problem, "post exactly what the provider's trades say")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciliation:
    """The outcome of matching: drift rows and the two totals (customer side only)."""

    drift: tuple[Drift, ...]
    expected_total: Decimal
    posted_total: Decimal
    trades: int
    out_of_scope: int = 0  # postings for the partner's other trades, set aside

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
    known_elsewhere: Collection[str] = (),
    double_entry: bool = False,
) -> Reconciliation:
    """Match postings to trades by trade id, quote id or order ref; report every mismatch.

    ``trades`` are the provider's trades of the scenario, ``order_refs`` maps their quote
    ids to the partner's order refs, ``events`` trade ids to the event that settled them.
    ``known_elsewhere``: trade ids, quote ids and order refs of the partner's other trades
    at the provider, whose postings are out of scope. ``double_entry``: the manifest
    declares a double-entry book, so each trade's lines must also sum to zero.
    """
    events = events or {}
    elsewhere = frozenset(known_elsewhere)
    by_trade: dict[str, list[Posting]] = {t.id: [] for t in trades}
    by_quote = {t.quote_id: t.id for t in trades}
    ref_to_trade = {ref: by_quote[q] for q, ref in order_refs.items() if q in by_quote}
    unmatched: list[Posting] = []
    out_of_scope = 0
    for posting in postings:
        tid = (
            (posting.transact_id if posting.transact_id in by_trade else None)
            or by_quote.get(posting.quote_id or "")
            or ref_to_trade.get(posting.order_ref or "")
        )
        if tid is not None:
            by_trade[tid].append(posting)
        elif any(i in elsewhere for i in posting.ids):
            out_of_scope += 1
        elif posting.customer:
            unmatched.append(posting)
        # else: the other side of a double-entry book, naming no trade we can judge.
    drift: list[Drift] = []
    expected_total = Decimal(0)
    posted_total = Decimal(0)
    for trade in trades:
        amount = trade.fiat_amount if amount_field == "fiatAmount" else trade.crypto_amount
        lines = by_trade[trade.id]
        got = [p for p in lines if p.customer]
        credits = [p.amount for p in got if not p.reversal]
        reversals = [p.amount for p in got if p.reversal]
        posted_total += sum(credits, Decimal(0)) - sum(reversals, Decimal(0))

        def row(
            problem: str, expected: str, posted: str, t: Any = trade, event: str | None = None
        ) -> Drift:
            return Drift(
                problem=problem,
                order_ref=order_refs.get(t.quote_id),
                quote_id=t.quote_id,
                transact_id=t.id,
                event_id=event or events.get(t.id),
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
        if double_entry and lines:
            total = sum((_signed(p) for p in lines), Decimal(0))
            if total != 0:
                drift.append(
                    row(
                        "unbalanced",
                        "both sides of each entry, summing to 0",
                        f"{_lines(lines)} (sum {total})",
                        event=_unbalanced_event(lines),
                    )
                )
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
        out_of_scope=out_of_scope,
    )


def _signed(posting: Posting) -> Decimal:
    if posting.signed is not None:
        return posting.signed
    return -posting.amount if posting.reversal else posting.amount


def _lines(lines: Sequence[Posting]) -> str:
    return ", ".join(f"{p.account or '?'} {_signed(p):+}" for p in lines)


def _unbalanced_event(lines: Sequence[Posting]) -> str | None:
    """The event whose own lines do not balance, when the book names events on both sides."""
    sums: dict[str, Decimal] = {}
    for posting in lines:
        if posting.event_id:
            sums[posting.event_id] = sums.get(posting.event_id, Decimal(0)) + _signed(posting)
    return next((event for event, total in sums.items() if total != 0), None)
