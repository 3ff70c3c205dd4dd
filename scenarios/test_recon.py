"""RQ6 — can finance match order, quote, trade, ledger and webhook event? The daily close."""

from __future__ import annotations

import time

import pytest

from conformance.checks.provider import Provider
from conformance.checks.recon import reconcile
from conformance.checks.steps import CannotArrange, fresh_order
from conformance.driver.driver import Driver, new_account
from conformance.driver.recorder import EvidenceRecorder

# Amounts whose binary-float sums drift (10.20 + 16.40 + 19.99 …), inside the pool limits.
AMOUNTS = ("10.20", "16.40", "19.99", "10.10", "20.30", "33.33", "15.15", "11.11", "29.99", "12.34")
OUTCOMES = (["settled"] * 26) + (["released"] * 5) + (["failed"] * 5) + (["returned"] * 4)
RETRIED = {3, 17, 29}  # accepts whose first transact answer is lost (reset after commit)
REPLAYED = 6  # settled events delivered again
TERMINAL_FOR = {"settled": "done", "released": "failed", "failed": "failed", "returned": "returned"}


@pytest.mark.threat("recon.daily_close", question="RQ6")
def test_daily_close_matches_to_the_cent(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    account = new_account("recon")
    # Interleave outcomes so each kind meets retries and every amount.
    plan = [OUTCOMES[(i * 7) % len(OUTCOMES)] for i in range(len(OUTCOMES))]
    provider.script_next(*plan)
    orders = []
    for i, _ in enumerate(plan):
        order = fresh_order(driver, provider, account=account, amount=AMOUNTS[i % len(AMOUNTS)])
        if i in RETRIED:
            provider.fault("reset_after_commit")
        answer = driver.accept(order.order_ref, account=account)
        if answer.server_error and i not in RETRIED:
            raise CannotArrange(f"accept {i} answered HTTP {answer.status_code}")
        orders.append(order)
    evidence.step("day driven", f"{len(orders)} orders, {len(RETRIED)} lost answers")
    # Wait, bounded, until the provider has every trade and each order shows its outcome.
    deadline = time.monotonic() + max(30.0, 3 * driver.settle_timeout_s)
    reconciled = False
    while True:
        trades = {o.quote_id: provider.trade_for_quote(o.quote_id) for o in orders}
        pending = [
            o
            for o in orders
            if trades[o.quote_id] is None
            or trades[o.quote_id].status == "reserved"
            or driver.category(
                driver.actions.call(
                    "get_order", driver.variables(order_ref=o.order_ref, account=account)
                )
            )
            != TERMINAL_FOR.get(trades[o.quote_id].status)
        ]
        if not pending or time.monotonic() > deadline:
            break
        if not reconciled and time.monotonic() > deadline - 15:
            reconciled = True
            driver.reconcile(account=account)
        time.sleep(0.3)
    missing = [o for o in orders if trades[o.quote_id] is None]
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
            provider.control.redeliver(events[trade.id])
    evidence.step("replays", f"{min(REPLAYED, len(settled))} settled events delivered again")
    final_trades = [provider.trade(t.id) for t in trades.values() if t is not None]
    result = reconcile(
        final_trades,
        driver.ledger(account=account),
        amount_field=driver.manifest.provider.ledger_amount,
        order_refs={o.quote_id: o.order_ref for o in orders},
        events=events,
    )
    evidence.table("drift", [d.row() for d in result.drift])
    evidence.step("totals", f"expected {result.expected_total}, posted {result.posted_total}")
    for drift in result.drift[:20]:
        evidence.finding(
            f"{drift.problem}: order {drift.order_ref} trade {drift.transact_id} "
            f"({drift.provider_status}) expected {drift.expected}, posted {drift.posted}.",
            fix="post exactly one credit of the trade's amount per settled trade (decimal, "
            "exact to the cent), none for released or failed, one reversal for returned",
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
    evidence.decide()
