"""Server-side gates: limits, networks, ownership, funding, unavailability, provider refusals."""

from __future__ import annotations

import time
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from conformance.checks import named
from conformance.checks.observe import GOING, Observation, Snapshot, observe
from conformance.checks.provider import Provider
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import (
    Order,
    accept_and_observe,
    fresh_order,
    wait_for_state,
)
from conformance.checks.waits import eventually
from conformance.driver.actions import Answer
from conformance.driver.driver import Driver, new_account
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange
from conformance.money import format_money

UNAVAILABLE_REASONS = ("pool_dry", "engine_unavailable", "rate_unavailable")
LIMIT_FACTOR = Decimal(10)  # a tenth of the minimum, ten times the maximum: nothing near a limit


def _order_state(driver: Driver, account: str, answer: Answer) -> Observation | None:
    """For a 2xx answer whose own state is unreadable: the order's state, read once."""
    ref = answer.get("order_ref")
    if not answer.ok or driver.category(answer) is not None or not ref:
        return None
    order = driver.actions.call("get_order", driver.variables(order_ref=str(ref), account=account))
    category = driver.category(order) if order.ok else None
    snap = Snapshot(order=order, category=category, transacts=(), trade=None, at_s=0.0)
    return Observation(last=snap, held=True, watched_s=0.0, min_s=0.0)


def _refused_before_quote(
    driver: Driver,
    provider: Provider,
    evidence: ScenarioRecorder,
    cases: list[tuple[str, str, str | None]],
    *,
    fix: str,
) -> None:
    """Each (what, amount, network) is refused, and no quote request reaches the provider."""
    # Positive control: an ordinary order quotes in the same conditions.
    fresh_order(driver, provider)
    evidence.observed("quotes_ordinary")
    timings = Timings.of(driver.manifest)
    mark = provider.mark()
    for what, amount, network in cases:
        account = new_account()
        answer = driver.create_quote(account=account, amount=amount, network=network)
        named.no_server_error(evidence, answer, what=what)
        named.refused(evidence, driver, answer, _order_state(driver, account, answer),
                      what=what, fix=fix)
    # Watch the whole window: a quote sent late counts too.
    eventually(lambda: bool(provider.quote_requests(since=mark)), bound_s=timings.dispatch_s,
               interval_s=timings.read_interval_s)
    named.nothing_reached_provider(
        evidence, provider.quote_requests(since=mark), watched=True,
        what="quote requests for invalid orders", fix=fix,
    )


@pytest.mark.threat(
    "guards.amount_limit",
    observes=("quotes_ordinary", "refused", "nothing_reached_provider"),
)
def test_amounts_far_outside_limits(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    partner = provider.partner()
    low = format_money(Decimal(partner.min_order_usdt) / LIMIT_FACTOR)
    cases: list[tuple[str, str, str | None]] = [
        (f"amount {low} (minimum {partner.min_order_usdt} USDT)", low, None)
    ]
    if partner.max_order_usdt is not None:
        high = format_money(Decimal(partner.max_order_usdt) * LIMIT_FACTOR)
        cases.append((f"amount {high} (maximum {partner.max_order_usdt} USDT)", high, None))
    _refused_before_quote(
        driver, provider, evidence, cases,
        fix="check the amount against the pool's minOrderUsdt/maxOrderUsdt from capabilities "
        "before requesting a quote",
    )


@pytest.mark.threat(
    "guards.unsupported_network",
    observes=("quotes_ordinary", "refused", "nothing_reached_provider"),
)
def test_unsupported_network(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    networks = provider.unsupported_networks(driver.manifest.provider.pool_id)
    if not networks:
        pytest.skip("the pool supports every documented network")
    amount = provider.ordinary_amount()
    _refused_before_quote(
        driver, provider, evidence,
        [(f"network {n!r} (not in the pool's supportedNetworks)", amount, n) for n in networks],
        fix="validate the network against capabilities.supportedNetworks before quoting",
    )


@pytest.mark.threat(
    "guards.account_ownership",
    observes=("refused", "nothing_reached_provider", "executed"),
)
def test_other_account_cannot_accept(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    order = fresh_order(driver, provider)
    intruder = new_account("intruder")
    done = accept_and_observe(driver, provider, order, expect="refusal", account=intruder)
    what = f"account {intruder} accepting account {order.account}'s order {order.order_ref}"
    fix = "load the order for the signed-in account only; refuse (403/404) before any provider call"
    named.refused(evidence, driver, done.answer, None, what=what, fix=fix,
                  order_ref=order.order_ref)
    named.nothing_reached_provider(
        evidence, done.seen.transacts, watched=done.seen.complete, what=what, fix=fix,
        order_ref=order.order_ref, quote_id=order.quote_id,
    )
    # Positive control: the owner can accept, so the refusal was about ownership.
    own = accept_and_observe(driver, provider, order, expect="execution")
    named.executed(
        evidence, driver, own.answer, own.seen, what=f"the owner accepting {order.order_ref}",
        fix="execute an order for its owner", order_ref=order.order_ref,
    )


@pytest.mark.threat("guards.prefunded_balance", observes=("refused", "no_trade"))
def test_balance_below_quote_total(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    fresh_order(driver, provider)  # positive control: an ordinary order quotes
    partner = provider.partner()
    balance = provider.balance()
    amount = format_money(Decimal(int(balance)) + Decimal(500))
    fix = (
        "check the prefunded balance before acceptance, or surface the provider's 402 as a "
        "refusal"
    )
    # Raise the order limit so only the balance stands in the way.
    provider.update(max_order_usdt=None, velocity_cap=None)
    try:
        account = new_account()
        before = {t.id for t in provider.trades()}
        known = {q.id for q in provider.quotes()}
        mark = provider.mark()
        answer = driver.create_quote(account=account, amount=amount)
        evidence.step("balance", f"prefunded {balance}, order {amount}")
        what = f"an order of {amount} above the prefunded balance {balance}"
        named.no_server_error(evidence, answer, what=what)
        created = [q for q in provider.quotes() if q.id not in known]
        ref = answer.get("order_ref")
        if named.said_no(driver, answer) or not created:
            named.refused(evidence, driver, answer, _order_state(driver, account, answer),
                          what=what, fix=fix)
        elif not ref:
            evidence.unreadable(
                f"create_quote answered {answer.status_code} without an order_ref: "
                f"{answer.text[:160]!r}"
            )
        else:
            order = Order(account=account, order_ref=str(ref), quote_id=created[0].id,
                          expires_at=created[0].expires_at, answer=answer)
            done = accept_and_observe(driver, provider, order, expect="refusal")
            named.refused(evidence, driver, done.answer, done.seen, what=f"accepting {what}",
                          fix=fix, order_ref=order.order_ref)
        eventually(lambda: bool(set(t.id for t in provider.trades()) - before),
                   bound_s=timings.dispatch_s, interval_s=timings.read_interval_s)
        new = [t for t in provider.trades() if t.id not in before]
        evidence.journal(provider.transacts(since=mark))
        evidence.check(
            not new,
            f"{len(new)} trade(s) were made above the balance.",
            fix="never execute an order the prefunded balance cannot cover",
            observes="no_trade",
        )
    finally:
        provider.update(max_order_usdt=partner.max_order_usdt, velocity_cap=partner.velocity_cap)


@pytest.mark.threat(
    "guards.quote_unavailable",
    observes=("quotes_ordinary", "unavailable_answer", "nothing_reached_provider"),
)
def test_unavailable_quote_is_normal(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    fresh_order(driver, provider)  # positive control: a normal quote works
    evidence.observed("quotes_ordinary")
    mark = provider.mark()
    for reason in UNAVAILABLE_REASONS:
        account = new_account()
        provider.unavailable_next(reason)
        answer = driver.create_quote(account=account, amount=provider.ordinary_amount())
        what = f"a fail-soft quote ({reason})"
        named.no_server_error(
            evidence, answer, what=what,
            fix="treat available: false as a normal 'no price right now' answer, not an error",
        )
        state = _order_state(driver, account, answer)
        category = driver.category(answer) if answer.ok else None
        category = category or (state.category if state is not None else None)
        if answer.ok and category is None:
            evidence.unreadable(
                f"{what}: create_quote answered {answer.status_code} with no declared state: "
                f"{answer.text[:160]!r}"
            )
        evidence.check(
            answer.refused or category in ("unavailable", "refused"),
            f"{what} was answered HTTP {answer.status_code} with state {category!r}.",
            fix="treat available: false as a normal 'no price right now' answer, not an error",
            observes="unavailable_answer",
        )
        ref = answer.get("order_ref")
        if answer.ok and ref:
            accept = driver.accept(str(ref), account=account)
            named.no_server_error(
                evidence, accept, what=f"accepting an order with no price ({reason})",
                fix="refuse accepting an order with no firm quote with a 4xx",
            )
    eventually(lambda: bool(provider.transacts(since=mark)), bound_s=timings.dispatch_s,
               interval_s=timings.read_interval_s)
    named.nothing_reached_provider(
        evidence, provider.transacts(since=mark), watched=True,
        what="transacts after unavailable quotes", fix="never execute without a firm quote id",
    )


RETRY_AFTER = 1  # seconds the injected 429 asks the partner to wait (a fault parameter)
# (case id, where, fault options, states that are also a clear answer). Faults answer once
# unless told otherwise; a velocity limit keeps answering 429 for a while.
REFUSALS: tuple[tuple[str, str, dict[str, Any], tuple[str, ...]], ...] = (
    ("quote-403-kyc", "quote", {"status": 403, "code": "kyc_not_approved"}, ()),
    # A retried 5xx may still give a quote: that is clear too.
    ("quote-503", "quote", {"status": 503, "code": "api_error"}, ("open",)),
    ("transact-403-suspended", "transact", {"status": 403, "code": "pool_access_suspended"}, ()),
    (
        "transact-429",
        "transact",
        {"status": 429, "code": "velocity_cap_exceeded", "retry_after": RETRY_AFTER,
         "times": named.STORM_PER_SECOND + 2},
        GOING,
    ),
    ("transact-501", "transact", {"status": 501, "code": "off_ramp_not_enabled"}, ()),
    ("transact-503", "transact", {"status": 503, "code": "api_error"}, GOING),
    (
        "transact-409-in-progress",
        "transact",
        {"status": 409, "code": "idempotency_request_in_progress"},
        GOING,
    ),
)
def _case_over(answered: bool, snapshot: Snapshot) -> bool:
    """The case is over: its answer said no, or the order is no longer open or pending."""
    return answered or snapshot.category not in ("open", "pending")


def status_also(options: dict[str, Any]) -> tuple[int, ...]:
    """A 501 passed on for the provider's own 501 (off-ramp not enabled) is clear too."""
    return (501,) if options.get("status") == 501 else ()


FIX_CLEAR = (
    "answer a provider refusal with a clear 4xx or refused state, or 502/503 saying the "
    "provider failed; never a 500, a dropped connection, or a quote or order that does not exist"
)


@pytest.mark.threat("guards.provider_refusals", observes=("clear_answer", "no_retry_storm"))
def test_provider_refusals_get_clear_answers(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    timings = Timings.of(driver.manifest)
    fresh_order(driver, provider)  # positive control: without a refusal, the partner quotes
    cases: list[tuple[str, Order, int, dict[str, Any], Answer, tuple[str, ...], float]] = []
    for case, where, options, also in REFUSALS:
        evidence.step("case", case)
        if where == "quote":
            provider.fault("error", path="/v1/pools/*/quote", **options)
            account = new_account()
            answer = driver.create_quote(account=account, amount=provider.ordinary_amount())
            named.clear_answer(evidence, driver, answer, _order_state(driver, account, answer),
                               what=case, fix=FIX_CLEAR, also_clear=also)
            provider.reset()
            continue
        # Each case's fault is armed for its own quote, so the cases cannot take each
        # other's faults and their retries can be watched over one shared window.
        order = fresh_order(driver, provider)
        provider.fault("error", quote_id=order.quote_id, **options)
        mark = provider.mark()
        answer = driver.accept(order.order_ref, account=order.account)
        cases.append((case, order, mark, options, answer, also, time.monotonic()))
    unmet: list[str] = []
    for case, order, mark, options, answer, also, accepted_at in cases:
        # Until the order leaves pending (a queued accept meets the refusal in its worker)
        # and its retries went quiet.
        answered = not answer.ok  # the answer itself is the partner's word on the case
        seen = observe(
            driver, provider, account=order.account, order_ref=order.order_ref,
            quote_id=order.quote_id, since=mark,
            until=partial(_case_over, answered),
            # Each case's window began at its accept; the cases overlap in time.
            min_s=max(0.0, timings.dispatch_s - (time.monotonic() - accepted_at)),
        )
        if not seen.transacts:
            # The refusal was never met (no transact reached the provider): whatever the
            # partner answered says nothing about how it handles one.
            unmet.append(f"{case} (its accept answered HTTP {answer.status_code})")
            continue
        named.clear_answer(evidence, driver, answer, None if answered else seen, what=case,
                           fix=FIX_CLEAR, also_clear=also, also_status=status_also(options),
                           order_ref=order.order_ref)
        named.no_retry_storm(
            evidence, seen.transacts, retry_after_s=options.get("retry_after"), what=case,
            fix="back off between retries and honour Retry-After", order_ref=order.order_ref,
        )
        keys = {e.idempotency_key for e in seen.transacts}
        evidence.check(
            len(keys) <= 1,
            f"{case}: retries used {len(keys)} different idempotency keys.",
            fix="retry 5xx and in-progress answers with the same Idempotency-Key",
            order_ref=order.order_ref,
        )
        trade = provider.trade_for_quote(order.quote_id)
        if trade is not None:
            final = wait_for_state(driver, provider, order, GOING)
            evidence.check(
                final.category in GOING,
                f"{case}: trade {trade.id} exists but order {order.order_ref} shows "
                f"{final.category!r}.",
                fix="never mark an order conflicted or failed while a trade exists; read "
                "GET /pools/transactions/{quoteId} after a 409 in progress",
                order_ref=order.order_ref,
                transact_id=trade.id,
            )
    provider.reset()
    if unmet:
        raise CannotArrange(
            f"no transact reached the provider for {len(unmet)} refusal case(s): "
            f"{', '.join(unmet)}; an ordinary accept must call the provider's transact"
        )
