"""Advisory — stuck reserved trades raise an alert an operator can act on."""

from __future__ import annotations

import pytest

from conformance.checks.provider import Provider
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import fresh_order, require_trade
from conformance.checks.waits import eventually
from conformance.driver.driver import Driver
from conformance.driver.timings import Timings


@pytest.mark.threat("ops.stuck_reserved_alert", observes=("alerts_read",))
def test_stuck_reserved_trade_alerts(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    if not driver.has("alerts"):
        pytest.skip("the manifest declares no alerts action")
    timings = Timings.of(driver.manifest)
    bound = timings.alert_s
    if bound is None:
        pytest.skip("the manifest declares no provider.alert_threshold_seconds")
    provider.script_next("reserved")
    order = fresh_order(driver, provider)
    driver.accept(order.order_ref, account=order.account)
    trade = require_trade(driver, provider, order)

    def alerted() -> bool:
        answer = driver.alerts(account=order.account)
        if not answer.ok or answer.body is None:
            evidence.unreadable(f"alerts answered HTTP {answer.status_code}: {answer.text[:160]!r}")
            return True  # nothing more to read: the scenario cannot decide
        evidence.observed("alerts_read")
        return any(
            order.order_ref == item.get("order_ref")
            or trade.id == item.get("transact_id")
            or order.quote_id == item.get("quote_id")
            for item in answer.items
        )

    shown = eventually(alerted, bound_s=bound, interval_s=timings.poll_interval_s)
    polls = provider.polls(order.quote_id)
    evidence.step("provider", f"{len(polls)} status poll(s) of the reserved trade")
    evidence.check(
        shown,
        f"trade {trade.id} stayed reserved past the {timings.alert_threshold_s:g} s threshold "
        "and is not in the partner's alerts.",
        fix="alert on trades that stay reserved across polls past your threshold",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )
    provider.move(trade.id, "released")
