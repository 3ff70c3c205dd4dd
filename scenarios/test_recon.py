"""RQ6 — can finance match order, quote, trade, ledger and webhook event? The daily close."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from conformance.checks.observe import RELEASED
from conformance.checks.provider import Provider
from conformance.checks.recon import reconcile
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import Order, fresh_order
from conformance.checks.waits import eventually
from conformance.driver.driver import Driver, new_account
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange

# Cents whose binary-float sums drift (10.20 + 16.40 + 19.99 …), added to ordinary amounts.
CENTS = ("0.20", "6.40", "9.99", "0.10", "10.30", "23.33", "5.15", "1.11", "19.99", "2.34")
OUTCOMES = (["settled"] * 26) + (["released"] * 5) + (["failed"] * 5) + (["returned"] * 4)
RETRIED = {3, 17, 29}  # accepts whose first transact answer is lost (reset after commit)
REPLAYED = 6  # settled events delivered again
MAX_FINDINGS = 20
# The order states that show a trade's outcome.
TERMINAL_FOR: dict[str, tuple[str, ...]] = {
    "settled": ("done",), "released": RELEASED, "failed": ("failed",), "returned": ("returned",),
}


def _amounts(provider: Provider) -> list[str]:
    """Drift-prone amounts just above the provisioned minimum (read, not assumed)."""
    base = Decimal(provider.partner().min_order_usdt).quantize(Decimal(1), rounding="ROUND_CEILING")
    return [str(base + Decimal(c)) for c in CENTS]


@pytest.mark.threat("recon.daily_close", question="RQ6", observes=("reconciled",))
def test_daily_close_matches_to_the_cent(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    account = new_account("recon")
    amounts = _amounts(provider)
    # Interleave outcomes so each kind meets retries and every amount.
    plan = [OUTCOMES[(i * 7) % len(OUTCOMES)] for i in range(len(OUTCOMES))]
    provider.script_next(*plan)
    orders: list[Order] = []
    for i, _ in enumerate(plan):
        order = fresh_order(driver, provider, account=account, amount=amounts[i % len(amounts)])
        if i in RETRIED:
            provider.fault("reset_after_commit", quote_id=order.quote_id)
        answer = driver.accept(order.order_ref, account=account)
        if answer.server_error and i not in RETRIED:
            raise CannotArrange(f"accept {i} answered HTTP {answer.status_code}")
        orders.append(order)
    evidence.step("day driven", f"{len(orders)} orders, {len(RETRIED)} lost answers")

    # Observe, bounded, until the provider has every trade and each order shows its outcome.
    trades: dict[str, Any] = {}
    pending: list[Order] = list(orders)
    reconciled = False

    def closed() -> bool:
        nonlocal pending, reconciled
        for o in orders:
            trades[o.quote_id] = provider.trade_for_quote(o.quote_id)
        pending = [o for o in pending if not _shows_outcome(driver, o, trades[o.quote_id])]
        return not pending

    bound = timings.batch_s(len(orders))
    if not eventually(closed, bound_s=bound / 2, interval_s=timings.poll_interval_s):
        driver.reconcile(account=account)
        eventually(closed, bound_s=bound / 2, interval_s=timings.poll_interval_s)
    missing = [o for o in orders if trades.get(o.quote_id) is None]
    if missing:
        raise CannotArrange(f"{len(missing)} accepted orders made no trade at the provider")
    evidence.step("day closed", f"{len(pending)} orders not yet terminal at the partner")
    # Replays: settled events delivered again after the close.
    settled = [t for t in trades.values() if t is not None and t.status == "settled"]
    events: dict[str, str] = {}
    for trade in settled:
        for event in provider.events(trade.id):
            if event.type == "pool.transaction.settled":
                events[trade.id] = event.id
    for trade in settled[:REPLAYED]:
        if trade.id in events:
            provider.redeliver(events[trade.id])
    evidence.step("replays", f"{min(REPLAYED, len(settled))} settled events delivered again")
    final_trades = [provider.trade(t.id) for t in trades.values() if t is not None]
    # No pass without the day having happened: every outcome of the plan must have been
    # reached at the provider, or "expected 0, posted 0" would reconcile nothing.
    reached = {t.status for t in final_trades}
    unreached = sorted(set(plan) - reached)
    if unreached:
        reserved = sum(1 for t in final_trades if t.status == "reserved")
        raise CannotArrange(
            f"the day's outcomes were not reached at the provider: no trade became "
            f"{' or '.join(unreached)} ({reserved} of {len(final_trades)} still reserved); "
            "the provider moves a trade on when the partner reads its status "
            "(see settlement.partner_polls)"
        )
    ours = {t.id for t in final_trades} | {o.quote_id for o in orders}
    refs = {o.order_ref for o in orders}
    result = reconcile(
        final_trades,
        driver.ledger(account=account),
        amount_field=driver.manifest.provider.ledger_amount,
        order_refs={o.quote_id: o.order_ref for o in orders},
        events=events,
        known_elsewhere=(provider.known_ids() | driver.actions.order_refs) - ours - refs,
        double_entry=driver.manifest.provider.ledger.double_entry,
    )
    evidence.observed("reconciled")
    evidence.table("drift", [d.row() for d in result.drift])
    evidence.step(
        "totals",
        f"expected {result.expected_total}, posted {result.posted_total} "
        f"({result.out_of_scope} postings of other trades out of scope)",
    )
    for drift in result.drift[:MAX_FINDINGS]:
        evidence.finding(
            f"{drift.problem}: order {drift.order_ref} trade {drift.transact_id} "
            f"({drift.provider_status}) expected {drift.expected}, posted {drift.posted}.",
            fix=drift.fix,
            order_ref=drift.order_ref,
            transact_id=drift.transact_id,
            event_id=drift.event_id,
        )
    evidence.check(
        result.expected_total == result.posted_total,
        f"the daily totals differ: provider {result.expected_total}, partner "
        f"{result.posted_total}.",
        fix="keep money as decimal strings end to end; never sum binary floats",
    )


def _shows_outcome(driver: Driver, order: Order, trade: Any) -> bool:
    if trade is None or trade.status == "reserved":
        return False
    answer = driver.actions.call(
        "get_order", driver.variables(order_ref=order.order_ref, account=order.account)
    )
    return driver.category(answer) in TERMINAL_FOR.get(trade.status, ())
