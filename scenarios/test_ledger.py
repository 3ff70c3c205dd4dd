"""RQ4 — can a pending trade credit final balance? Postings follow terminal status, once."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from conformance.checks.concurrently import run_concurrently
from conformance.checks.observe import RELEASED
from conformance.checks.provider import Provider
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import (
    Order,
    accept_and_settle,
    eventually,
    fresh_order,
    require_trade,
    settle_amount,
    trade_postings,
    wait_for_state,
)
from conformance.driver.driver import Driver
from conformance.driver.postings import Posting
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange

FORGERIES = ("bad_signature", "wrong_secret", "tampered_body", "stale_timestamp", "missing_headers")
SETTLED_EVENT = "pool.transaction.settled"
CONCURRENT_DELIVERIES = 8
QUIET_ROUNDS = 4  # how many times a still-changing set of postings is watched again
# The order's state once the harness moves its trade.
TARGET = {"settled": ("done",), "released": RELEASED, "failed": ("failed",)}


def _credits(postings: tuple[Posting, ...]) -> list[Posting]:
    return [p for p in postings if not p.reversal]


def _reserved_order(driver: Driver, provider: Provider) -> tuple[Order, Any]:
    """An accepted order whose trade stays reserved until the harness moves it."""
    provider.script_next("reserved")
    order = fresh_order(driver, provider)
    answer = driver.accept(order.order_ref, account=order.account)
    return order, require_trade(driver, provider, order, answer)


def _quiet_postings(
    driver: Driver, timings: Timings, *orders: tuple[Order, Any]
) -> list[tuple[Posting, ...]]:
    """Each trade's postings once they all stopped changing (a late or double posting has its
    chance); one shared window for all the given (order, trade) pairs."""

    def read() -> list[tuple[Posting, ...]]:
        return [trade_postings(driver, order, trade.id) for order, trade in orders]

    last = read()
    for _ in range(QUIET_ROUNDS):
        counts = [len(p) for p in last]

        def moved(counts: list[int] = counts) -> bool:
            return [len(p) for p in read()] != counts

        changed = eventually(
            moved,
            bound_s=timings.quiet_s,
            interval_s=timings.read_interval_s,
        )
        last = read()
        if not changed:
            break
    return last


@pytest.mark.threat(
    "ledger.no_credit_on_reserved",
    question="RQ4",
    observes=("nothing_posted_while_reserved", "posted_once", "nothing_posted_after_refund"),
)
def test_nothing_posted_while_reserved(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    reserved = {outcome: _reserved_order(driver, provider) for outcome in TARGET}

    # Positive evidence the partner saw each trade reserved: it polled it, or shows pending.
    def saw_reserved(order: Order) -> bool:
        if provider.polls(order.quote_id):
            return True
        answer = driver.actions.call(
            "get_order", driver.variables(order_ref=order.order_ref, account=order.account)
        )
        return driver.category(answer) == "pending"

    for order, _ in reserved.values():
        if not eventually(partial(saw_reserved, order), bound_s=timings.settle_s,
                          interval_s=timings.read_interval_s):
            raise CannotArrange(f"order {order.order_ref} never showed its reserved trade")
    # Watch the whole window while reserved: a posting may come late from a worker.
    eventually(
        lambda: any(trade_postings(driver, o, t.id) for o, t in reserved.values()),
        bound_s=timings.dispatch_s,
        interval_s=timings.read_interval_s,
    )
    for order, trade in reserved.values():
        early = trade_postings(driver, order, trade.id)
        evidence.check(
            not early,
            f"order {order.order_ref} got {len(early)} ledger posting(s) while trade "
            f"{trade.id} was still reserved.",
            fix="post to the customer ledger only when the trade is settled (terminal status)",
            observes="nothing_posted_while_reserved",
            order_ref=order.order_ref,
            transact_id=trade.id,
        )
    for outcome, (order, trade) in reserved.items():
        provider.move(trade.id, outcome)
        seen = wait_for_state(driver, provider, order, TARGET[outcome])
        if seen.category not in TARGET[outcome]:
            raise CannotArrange(
                f"order {order.order_ref} did not reach {outcome} (state {seen.category!r})"
            )
    quiet = _quiet_postings(driver, timings, *reserved.values())
    for (outcome, (order, trade)), postings in zip(reserved.items(), quiet, strict=True):
        posted = _credits(postings)
        if outcome == "settled":
            expected = settle_amount(driver, provider.trade(trade.id))
            evidence.check(
                len(posted) == 1 and posted[0].amount == expected,
                f"settled trade {trade.id} has {len(posted)} posting(s) "
                f"({', '.join(str(p.amount) for p in posted)}); expected one of {expected}.",
                fix="post exactly one credit of the trade's amount when it settles",
                observes="posted_once",
                order_ref=order.order_ref,
                transact_id=trade.id,
            )
        else:
            evidence.check(
                not posted,
                f"{outcome} trade {trade.id} has {len(posted)} posting(s); expected none.",
                fix=f"post nothing for a {outcome} trade",
                observes="nothing_posted_after_refund",
                order_ref=order.order_ref,
                transact_id=trade.id,
            )


@pytest.mark.threat("ledger.returned_reversal", question="RQ4", observes=("reversed_once",))
def test_returned_trade_is_reversed_once(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    provider.script_next("returned")
    order = fresh_order(driver, provider)
    seen, trade = accept_and_settle(driver, provider, order, categories=("done", "returned"))
    if seen.category not in ("done", "returned"):
        raise CannotArrange(f"order {order.order_ref} never settled ({seen.category!r})")

    def reversals() -> list[Posting]:
        return [p for p in trade_postings(driver, order, trade.id) if p.reversal]

    found = eventually(lambda: bool(reversals()), bound_s=timings.settle_s / 2,
                       interval_s=timings.read_interval_s * 2)
    if not found:
        driver.reconcile(account=order.account)
        eventually(lambda: bool(reversals()), bound_s=timings.settle_s / 2,
                   interval_s=timings.read_interval_s * 2)
    (postings,) = _quiet_postings(driver, timings, (order, trade))
    got = [p for p in postings if p.reversal]
    status = provider.trade(trade.id).status
    evidence.step("provider trade status", status)
    evidence.check(
        len(got) == 1,
        f"returned trade {trade.id} has {len(got)} reversal(s) in the partner's ledger "
        f"(provider status {status!r}).",
        fix="keep polling settled trades for a while (GET /pools/transactions/{quoteId}) and "
        "reverse the credit exactly once when it shows returned",
        observes="reversed_once",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )
    evidence.check(
        len(_credits(postings)) == 1,
        f"returned trade {trade.id} has {len(_credits(postings))} credit(s); expected the "
        "one credit.",
        fix="post the settlement credit once; reverse it with a separate entry",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )


def _settled_event(provider: Provider, transact_id: str) -> Any:
    events = [e for e in provider.events(transact_id) if e.type == SETTLED_EVENT]
    if not events:
        raise CannotArrange(f"the provider emitted no settled event for {transact_id}")
    return events[0]


@pytest.mark.threat(
    "ledger.webhook_replay", question="RQ4", observes=("concurrent_deliveries", "posted_once")
)
def test_replayed_event_posts_once(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    # Concurrent first deliveries of a fresh event, then sequential replays of a known one.
    provider.hold_webhooks(True)
    order, trade = _reserved_order(driver, provider)
    # Slow status reads of this trade, so the concurrent deliveries are the first news of it.
    provider.fault(
        "delay",
        method="GET",
        path=f"/v1/pools/transactions/{order.quote_id}",
        delay_seconds=timings.fault_delay_s,
        times=1000,
    )
    # And every other provider read is slow (but inside the partner's timeout): a receiver
    # that checks, then asks the provider, then inserts keeps all deliveries in that window.
    provider.fault(
        "delay", method="GET", path="/v1/pools/*", delay_seconds=timings.slow_read_s, times=1000
    )
    provider.move(trade.id, "settled")
    event = _settled_event(provider, trade.id)
    evidence.ids(event_id=event.id)
    attempts = run_concurrently(
        [lambda: provider.redeliver(event.id)] * CONCURRENT_DELIVERIES,
        bound_s=driver.actions.timeout_s + timings.call_s,
    )
    made = [a for a in attempts if a is not None]
    evidence.step("concurrent deliveries", ", ".join(str(a.status_code) for a in made))
    if len(made) != CONCURRENT_DELIVERIES:
        raise CannotArrange(f"{len(made)} of {CONCURRENT_DELIVERIES} deliveries were made")
    evidence.observed("concurrent_deliveries")
    provider.clear_faults()
    seen = wait_for_state(driver, provider, order, ("done",))
    if seen.category != "done":
        raise CannotArrange(f"order {order.order_ref} did not settle ({seen.category!r})")
    for _ in range(2):
        attempt = provider.redeliver(event.id)
        evidence.step("replay", f"{event.id} → {attempt.status_code}")
    provider.hold_webhooks(False)
    (postings,) = _quiet_postings(driver, timings, (order, trade))
    posted = _credits(postings)
    evidence.check(
        len(posted) == 1,
        f"event {event.id} delivered {CONCURRENT_DELIVERIES + 2} times "
        f"({CONCURRENT_DELIVERIES} concurrently) gave {len(posted)} postings for trade "
        f"{trade.id}.",
        fix="insert the event id once, atomically with the posting (a unique key in the same "
        "transaction), and answer duplicates 2xx without posting",
        observes="posted_once",
        order_ref=order.order_ref,
        transact_id=trade.id,
        event_id=event.id,
    )


@pytest.mark.threat(
    "ledger.webhook_forged",
    question="RQ4",
    observes=("forged_refused", "nothing_posted", "valid_event_accepted"),
)
def test_forged_events_are_refused(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    provider.hold_webhooks(True)
    order, trade = _reserved_order(driver, provider)
    provider.move(trade.id, "settled")
    event = _settled_event(provider, trade.id)
    evidence.ids(event_id=event.id)
    if wait_for_state(driver, provider, order, ("done",)).category != "done":
        raise CannotArrange(f"order {order.order_ref} did not settle")
    (before,) = _quiet_postings(driver, timings, (order, trade))
    for kind in FORGERIES:
        attempt = provider.forge(event.id, kind)
        answered = "no answer" if attempt.status_code is None else f"HTTP {attempt.status_code}"
        evidence.step(f"forged delivery: {kind}", answered)
        evidence.check(
            attempt.status_code is not None and not 200 <= attempt.status_code < 300,
            f"a forged webhook ({kind}) was answered {answered}.",
            fix="verify the signature over the raw body with the webhook secret and the "
            "timestamp tolerance before anything else; answer 4xx when it fails",
            observes="forged_refused",
            event_id=event.id,
        )
    (after,) = _quiet_postings(driver, timings, (order, trade))
    evidence.check(
        len(after) == len(before),
        f"forged webhooks changed trade {trade.id}'s postings from {len(before)} to "
        f"{len(after)}.",
        fix="post nothing for an event whose signature does not verify",
        observes="nothing_posted",
        event_id=event.id,
    )
    # Positive control: a correctly signed delivery of the same event is accepted.
    valid = provider.redeliver(event.id)
    evidence.step("valid delivery afterwards", f"HTTP {valid.status_code}")
    evidence.check(
        valid.ok,
        f"a correctly signed event after the forgeries was answered HTTP {valid.status_code}.",
        fix="accept (2xx) a valid signed event, even one already processed",
        observes="valid_event_accepted",
        event_id=event.id,
    )
    provider.hold_webhooks(False)


@pytest.mark.threat(
    "ledger.out_of_order",
    question="RQ4",
    observes=("early_event_kept", "late_event_ignored"),
)
def test_early_and_late_events(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    # 1. The settled event arrives before the transact answer (trade id not yet stored).
    order = fresh_order(driver, provider)
    provider.fault("webhook_before_response", quote_id=order.quote_id)
    driver.accept(order.order_ref, account=order.account)
    trade = require_trade(driver, provider, order)
    seen = wait_for_state(driver, provider, order, ("done",))
    early = [
        d for d in provider.deliveries() if d.event_id in {e.id for e in provider.events(trade.id)}
    ]
    evidence.step("early event deliveries", ", ".join(f"{d.kind}:{d.status_code}" for d in early))
    (postings,) = _quiet_postings(driver, timings, (order, trade))
    posted = _credits(postings)
    evidence.check(
        seen.category == "done" and len(posted) == 1,
        f"the settled event for {trade.id} that arrived before the transact answer was lost: "
        f"order is {seen.category!r} with {len(posted)} posting(s).",
        fix="for an event about a trade you do not know yet, answer non-2xx so it is retried, "
        "or keep it and apply it once the trade id is stored",
        observes="early_event_kept",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )
    # 2. A settled redelivery after the trade was returned changes nothing.
    provider.script_next("returned")
    late = fresh_order(driver, provider)
    seen, late_trade = accept_and_settle(driver, provider, late, categories=("returned",))
    if seen.category != "returned":
        raise CannotArrange(
            f"order {late.order_ref} did not show returned ({seen.category!r}); see "
            "ledger.returned_reversal"
        )
    event = _settled_event(provider, late_trade.id)
    (before,) = _quiet_postings(driver, timings, (late, late_trade))
    attempt = provider.redeliver(event.id)
    evidence.step("late settled redelivery", f"{event.id} → {attempt.status_code}")
    (after,) = _quiet_postings(driver, timings, (late, late_trade))
    after_order = driver.order(late.order_ref, account=late.account)
    evidence.check(
        driver.category(after_order) == "returned" and len(after) == len(before),
        f"a settled event redelivered after trade {late_trade.id} was returned moved the order "
        f"to {after_order.get('status')!r} and its postings from {len(before)} to {len(after)}.",
        fix="apply status changes by precedence (returned is final); never move back to "
        "settled or post again",
        observes="late_event_ignored",
        order_ref=late.order_ref,
        transact_id=late_trade.id,
        event_id=event.id,
    )
