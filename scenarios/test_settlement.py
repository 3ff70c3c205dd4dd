"""RQ6 — the partner drives reserved trades to a terminal status by polling, not only by webhook."""

from __future__ import annotations

import pytest

from conformance.checks.provider import Provider
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import fresh_order, require_trade, wait_for_state
from conformance.driver.driver import Driver

POLLS_TO_SETTLE = 2  # the trade advances only on its second status poll


@pytest.mark.threat("settlement.partner_polls", question="RQ6", observes=("polled_to_terminal",))
def test_partner_polls_to_terminal(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    provider.hold_webhooks(True)  # no webhook: only a status poll advances this trade
    provider.script_next("settled", polls=POLLS_TO_SETTLE)
    order = fresh_order(driver, provider)
    mark = provider.mark()
    driver.accept(order.order_ref, account=order.account)
    trade = require_trade(driver, provider, order)
    seen = wait_for_state(driver, provider, order, ("done",))
    polls = provider.polls(order.quote_id, since=mark)
    provider.record_journal(polls[:10])
    status = provider.trade(trade.id).status
    evidence.step("provider", f"trade {trade.id} is {status}; {len(polls)} status poll(s)")
    evidence.check(
        bool(polls) and status == "settled" and seen.category == "done",
        f"with no webhook, order {order.order_ref} stayed {seen.category!r}: the partner "
        f"made {len(polls)} status poll(s) and trade {trade.id} is {status!r}.",
        fix="poll GET /pools/transactions/{quoteId} for every reserved trade (it is what "
        "advances settlement) instead of waiting for a webhook",
        observes="polled_to_terminal",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )
    provider.hold_webhooks(False)
