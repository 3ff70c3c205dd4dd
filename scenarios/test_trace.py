"""RQ5 — can support trace an order without private route information? The record has the ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.checks.provider import Provider, body_quote_id
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import accept_and_settle, fresh_order
from conformance.driver.driver import Driver


def _values(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]


@pytest.mark.threat("trace.order_record", question="RQ5", observes=("order_record",))
def test_order_record_traces_to_provider(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    order = fresh_order(driver, provider)
    accept_and_settle(driver, provider, order)
    record = driver.get_order(order.order_ref, account=order.account)
    trade = provider.trade_for_quote(order.quote_id)
    evidence.check(
        record.ok and record.is_json,
        f"get_order for {order.order_ref} answered HTTP {record.status_code}.",
        fix="serve the order record to its owner",
        observes="order_record",
        order_ref=order.order_ref,
    )
    leaked = evidence.redactor.contains_secret(record.text)
    evidence.check(
        not leaked,
        f"the order record of {order.order_ref} contains a provider secret.",
        fix="never store or return the secret key or webhook secret with an order",
        order_ref=order.order_ref,
    )
    checks = (
        ("order_ref", [order.order_ref], "the partner reference"),
        ("quote_id", [order.quote_id], "the provider quote id"),
        ("transact_id", [trade.id] if trade else [], "the provider trade id"),
    )
    for name, expected, what in checks:
        got = _values(record.get(name))
        evidence.check(
            bool(expected) and any(v in expected for v in got),
            f"the order record of {order.order_ref} lacks {what} ({name}: {got or 'missing'}; "
            f"expected {expected[0] if expected else 'a trade'}).",
            fix=f"store {what} with your order and show it in the record support reads",
            order_ref=order.order_ref,
        )
    evidence.check(
        driver.category(record) is not None,
        f"the order record's status {record.get('status')!r} is not a declared state.",
        fix="show the order's status (and list it in the manifest's provider.states)",
        order_ref=order.order_ref,
    )
    # Only ids that belong to this order: its quote's and trade's requests and events.
    mine = {order.quote_id, trade.id if trade else order.quote_id}
    request_ids = {e.request_id for e in provider.journal() if _concerns(e, mine)}
    event_ids = {e.id for e in provider.events(trade.id)} if trade else set()
    got_requests = [v for v in _values(record.get("request_id")) if v in request_ids]
    got_events = [v for v in _values(record.get("event_id")) if v in event_ids]
    evidence.ids(request_id=got_requests[:5], event_id=got_events[:5])
    evidence.check(
        bool(got_requests or got_events),
        f"the order record of {order.order_ref} carries no provider request id or event id "
        "that the provider issued.",
        fix="store the X-Request-Id of this order's provider calls and the eventId of its "
        "applied webhooks with the order",
        order_ref=order.order_ref,
    )
    evidence.step("order record", json.dumps(dict(record.fields), default=str)[:500])


def _concerns(entry: Any, ids: set[str]) -> bool:
    """A journal entry about this order: its quote or trade in the path, body or notes."""
    return (
        body_quote_id(entry) in ids
        or any(i in entry.path for i in ids)
        or any(i in note for note in entry.notes for i in ids)
    )
