"""RQ4 — can a pending trade credit final balance? Postings follow terminal status, once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from conformance.checks.provider import Provider
from conformance.checks.steps import (
    CannotArrange,
    Order,
    accept_and_settle,
    eventually,
    fresh_order,
    postings_for,
    require_trade,
    settle_amount,
    trade_postings,
)
from conformance.driver.driver import Driver, Posting
from conformance.driver.recorder import EvidenceRecorder

FORGERIES = ("bad_signature", "wrong_secret", "tampered_body", "stale_timestamp", "missing_headers")
SETTLED_EVENT = "pool.transaction.settled"


def _credits(postings: tuple[Posting, ...]) -> list[Posting]:
    return [p for p in postings if not p.reversal]


def _reserved_order(driver: Driver, provider: Provider) -> tuple[Order, Any]:
    """An accepted order whose trade stays reserved until the harness moves it."""
    provider.script_next("reserved")
    order = fresh_order(driver, provider)
    answer = driver.accept(order.order_ref, account=order.account)
    return order, require_trade(driver, provider, order, answer)


@pytest.mark.threat("ledger.no_credit_on_reserved", question="RQ4")
def test_nothing_posted_while_reserved(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    for outcome in ("settled", "released", "failed"):
        order, trade = _reserved_order(driver, provider)
        # Positive evidence the partner saw the trade reserved: it read its status.
        def saw_reserved(o: Order = order) -> bool:
            return bool(provider.polls(o.quote_id)) or driver.category(
                driver.order(o.order_ref, account=o.account)
            ) == "pending"

        seen = eventually(saw_reserved, bound_s=driver.settle_timeout_s)
        if not seen:
            raise CannotArrange(f"order {order.order_ref} never showed the reserved trade")
        early = trade_postings(driver, order, trade.id)
        evidence.check(
            not early,
            f"order {order.order_ref} got {len(early)} ledger posting(s) while trade {trade.id} "
            "was still reserved.",
            fix="post to the customer ledger only when the trade is settled (terminal status)",
            order_ref=order.order_ref,
            transact_id=trade.id,
        )
        provider.move(trade.id, outcome)
        target = ("done",) if outcome == "settled" else ("failed",)
        final = driver.wait_for(order.order_ref, account=order.account, categories=target)
        if driver.category(final) not in target:
            raise CannotArrange(
                f"order {order.order_ref} did not reach {outcome} (status {final.get('status')!r})"
            )
        posted = _credits(trade_postings(driver, order, trade.id))
        if outcome == "settled":
            expected = settle_amount(driver, provider.trade(trade.id))
            evidence.check(
                len(posted) == 1 and posted[0].amount == expected,
                f"settled trade {trade.id} has {len(posted)} posting(s) "
                f"({', '.join(str(p.amount) for p in posted)}); expected one of {expected}.",
                fix="post exactly one credit of the trade's amount when it settles",
                order_ref=order.order_ref,
                transact_id=trade.id,
            )
        else:
            evidence.check(
                not posted,
                f"{outcome} trade {trade.id} has {len(posted)} posting(s); expected none.",
                fix=f"post nothing for a {outcome} trade",
                order_ref=order.order_ref,
                transact_id=trade.id,
            )
    evidence.decide()


@pytest.mark.threat("ledger.returned_reversal", question="RQ4")
def test_returned_trade_is_reversed_once(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    provider.script_next("returned")
    order = fresh_order(driver, provider)
    final, trade = accept_and_settle(driver, provider, order, categories=("done", "returned"))
    if driver.category(final) not in ("done", "returned"):
        raise CannotArrange(f"order {order.order_ref} never settled ({final.get('status')!r})")

    def reversals() -> list[Posting]:
        return [p for p in trade_postings(driver, order, trade.id) if p.reversal]

    bound = driver.settle_timeout_s
    reversed_ = eventually(lambda: bool(reversals()), bound_s=bound / 2, interval_s=0.2)
    if not reversed_:
        driver.reconcile(account=order.account)
        eventually(lambda: bool(reversals()), bound_s=bound / 2, interval_s=0.2)
    # Give a double reversal the same chance to appear before counting.
    eventually(lambda: len(reversals()) > 1, bound_s=2 * driver.poll_interval_s)
    got = reversals()
    status = provider.trade(trade.id).status
    evidence.step("provider trade status", status)
    credits = _credits(trade_postings(driver, order, trade.id))
    evidence.check(
        len(got) == 1,
        f"returned trade {trade.id} has {len(got)} reversal(s) in the partner's ledger "
        f"(provider status {status!r}).",
        fix="keep polling settled trades for a while (GET /pools/transactions/{quoteId}) and "
        "reverse the credit exactly once when it shows returned",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )
    evidence.check(
        len(credits) == 1,
        f"returned trade {trade.id} has {len(credits)} credit(s); expected the one credit.",
        fix="post the settlement credit once; reverse it with a separate entry",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )
    evidence.decide()


def _settled_event(provider: Provider, transact_id: str) -> Any:
    events = [e for e in provider.events(transact_id) if e.type == SETTLED_EVENT]
    if not events:
        raise CannotArrange(f"the provider emitted no settled event for {transact_id}")
    return events[0]


@pytest.mark.threat("ledger.webhook_replay", question="RQ4")
def test_replayed_event_posts_once(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    # Concurrent first deliveries of a fresh event, then sequential replays of a known one.
    provider.hold_webhooks(True)
    order, trade = _reserved_order(driver, provider)
    # Slow status reads of this trade, so the concurrent deliveries are the first news of it.
    provider.fault(
        "delay",
        method="GET",
        path=f"/v1/pools/transactions/{order.quote_id}",
        delay_seconds=driver.manifest.provider.timeout_s + 1,
        times=1000,
    )
    # And every other provider read is slow (but inside the partner's timeout): a receiver
    # that checks, then asks the provider, then inserts keeps all deliveries in that window.
    provider.fault(
        "delay",
        method="GET",
        path="/v1/pools/*",
        delay_seconds=driver.manifest.provider.timeout_s / 2,
        times=1000,
    )
    provider.move(trade.id, "settled")
    event = _settled_event(provider, trade.id)
    evidence.ids(event_id=event.id)
    attempts: list[Any] = []
    threads = [
        threading.Thread(target=lambda: attempts.append(provider.control.redeliver(event.id)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    evidence.step("8 concurrent deliveries", ", ".join(str(a.status_code) for a in attempts))
    provider.control.clear_faults()
    driver.wait_for(order.order_ref, account=order.account, categories=("done",))
    for _ in range(2):
        attempt = provider.control.redeliver(event.id)
        evidence.step("replay", f"{event.id} → {attempt.status_code}")
    provider.hold_webhooks(False)
    posted = _credits(trade_postings(driver, order, trade.id))
    evidence.check(
        len(posted) == 1,
        f"event {event.id} delivered 10 times (8 concurrently) gave {len(posted)} postings "
        f"for trade {trade.id}.",
        fix="insert the event id once, atomically with the posting (a unique key in the same "
        "transaction), and answer duplicates 2xx without posting",
        order_ref=order.order_ref,
        transact_id=trade.id,
        event_id=event.id,
    )
    evidence.decide()


@pytest.mark.threat("ledger.webhook_forged", question="RQ4")
def test_forged_events_are_refused(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    provider.hold_webhooks(True)
    order, trade = _reserved_order(driver, provider)
    provider.move(trade.id, "settled")
    event = _settled_event(provider, trade.id)
    evidence.ids(event_id=event.id)
    driver.wait_for(order.order_ref, account=order.account, categories=("done",))
    before = postings_for(driver, order.account)
    for kind in FORGERIES:
        attempt = provider.control.forge(event.id, kind)
        evidence.step(f"forged delivery: {kind}", f"HTTP {attempt.status_code}")
        evidence.check(
            attempt.status_code is not None and not 200 <= attempt.status_code < 300,
            f"a forged webhook ({kind}) was answered HTTP {attempt.status_code}.",
            fix="verify the signature over the raw body with the webhook secret and the "
            "timestamp tolerance before anything else; answer 4xx when it fails",
            event_id=event.id,
        )
    after = postings_for(driver, order.account)
    evidence.check(
        len(after) == len(before),
        f"forged webhooks changed the ledger from {len(before)} to {len(after)} entries.",
        fix="post nothing for an event whose signature does not verify",
        event_id=event.id,
    )
    valid = provider.control.redeliver(event.id)
    evidence.step("valid delivery afterwards", f"HTTP {valid.status_code}")
    evidence.check(
        valid.ok,
        f"a correctly signed event after the forgeries was answered HTTP {valid.status_code}.",
        fix="accept (2xx) a valid signed event, even one already processed",
        event_id=event.id,
    )
    provider.hold_webhooks(False)
    evidence.decide()


@pytest.mark.threat("ledger.out_of_order", question="RQ4")
def test_early_and_late_events(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    # 1. The settled event arrives before the transact answer (trade id not yet stored).
    order = fresh_order(driver, provider)
    provider.fault("webhook_before_response")
    driver.accept(order.order_ref, account=order.account)
    trade = require_trade(driver, provider, order)
    final = driver.wait_for(order.order_ref, account=order.account, categories=("done",))
    early = [
        d for d in provider.deliveries() if d.event_id in {e.id for e in provider.events(trade.id)}
    ]
    evidence.step("early event deliveries", ", ".join(f"{d.kind}:{d.status_code}" for d in early))
    posted = _credits(trade_postings(driver, order, trade.id))
    evidence.check(
        driver.category(final) == "done" and len(posted) == 1,
        f"the settled event for {trade.id} that arrived before the transact answer was lost: "
        f"order is {final.get('status')!r} with {len(posted)} posting(s).",
        fix="for an event about a trade you do not know yet, answer non-2xx so it is retried, "
        "or keep it and apply it once the trade id is stored",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )
    # 2. A settled redelivery after the trade was returned changes nothing.
    provider.script_next("returned")
    late = fresh_order(driver, provider)
    final, late_trade = accept_and_settle(driver, provider, late, categories=("returned",))
    if driver.category(final) != "returned":
        driver.reconcile(account=late.account)
        final = driver.wait_for(late.order_ref, account=late.account, categories=("returned",))
    if driver.category(final) != "returned":
        raise CannotArrange(
            f"order {late.order_ref} did not show returned "
            f"({final.get('status')!r}); see ledger.returned_reversal"
        )
    event = _settled_event(provider, late_trade.id)
    before = postings_for(driver, late.account)
    attempt = provider.control.redeliver(event.id)
    evidence.step("late settled redelivery", f"{event.id} → {attempt.status_code}")
    after_order = driver.order(late.order_ref, account=late.account)
    after = postings_for(driver, late.account)
    evidence.check(
        driver.category(after_order) == "returned" and len(after) == len(before),
        f"a settled event redelivered after trade {late_trade.id} was returned moved the order "
        f"to {after_order.get('status')!r} and the ledger from {len(before)} to {len(after)} "
        "entries.",
        fix="apply status changes by precedence (returned is final); never move back to "
        "settled or post again",
        order_ref=late.order_ref,
        transact_id=late_trade.id,
        event_id=event.id,
    )
    evidence.decide()
