"""Server-side gates: limits, networks, ownership, funding, unavailability, provider refusals."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from conformance.checks.provider import Provider
from conformance.checks.steps import (
    AMOUNT,
    Order,
    accepted,
    eventually,
    fresh_order,
    refused,
)
from conformance.driver.driver import Driver, new_account
from conformance.driver.recorder import EvidenceRecorder
from conformance.money import format_money

UNAVAILABLE_REASONS = ("pool_dry", "engine_unavailable", "rate_unavailable")
# Documented network names that the simulator's pools do not support.
UNSUPPORTED_NETWORKS = ("bsc", "solana")


def _blocked_before_quote(
    driver: Driver,
    provider: Provider,
    evidence: EvidenceRecorder,
    *,
    amount: str,
    network: str | None,
    what: str,
    fix: str,
) -> None:
    account = new_account()
    mark = provider.mark()
    answer = driver.create_quote(account=account, amount=amount, network=network)
    sent = provider.quote_requests(since=mark)
    provider.record_journal(sent)
    evidence.check(
        not answer.server_error,
        f"{what}: the partner answered HTTP {answer.status_code}.",
        fix="answer invalid orders with a 4xx that says what is wrong, never a 5xx",
    )
    evidence.check(
        refused(driver, answer),
        f"{what}: the partner did not refuse (HTTP {answer.status_code}, status "
        f"{answer.get('status')!r}).",
        fix=fix,
    )
    evidence.check(
        not sent,
        f"{what}: {len(sent)} quote request(s) reached the provider.",
        fix=fix,
    )


@pytest.mark.threat("guards.amount_limit")
def test_amounts_far_outside_limits(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    partner = provider.control.partner(provider.partner_id)
    low = format_money(Decimal(partner.min_order_usdt) / 10)
    high = format_money(Decimal(partner.max_order_usdt or Decimal("50000")) * 10)
    for amount in (low, high):
        _blocked_before_quote(
            driver,
            provider,
            evidence,
            amount=amount,
            network=None,
            what=f"amount {amount} (limits {partner.min_order_usdt}–{partner.max_order_usdt} USDT)",
            fix="check the amount against the pool's minOrderUsdt/maxOrderUsdt from "
            "capabilities before requesting a quote",
        )
    evidence.decide()


@pytest.mark.threat("guards.unsupported_network")
def test_unsupported_network(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    for network in UNSUPPORTED_NETWORKS:
        _blocked_before_quote(
            driver,
            provider,
            evidence,
            amount=AMOUNT,
            network=network,
            what=f"network {network!r} (not in the pool's supportedNetworks)",
            fix="validate the network against capabilities.supportedNetworks before quoting",
        )
    evidence.decide()


@pytest.mark.threat("guards.account_ownership")
def test_other_account_cannot_accept(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    order = fresh_order(driver, provider)
    intruder = new_account("intruder")
    mark = provider.mark()
    answer = driver.accept(order.order_ref, account=intruder)
    sent = provider.transacts(since=mark, quote_id=order.quote_id)
    provider.record_journal(sent)
    evidence.check(
        refused(driver, answer) and not sent,
        f"account {intruder} accepted account {order.account}'s order {order.order_ref} "
        f"(HTTP {answer.status_code}, {len(sent)} transact(s) sent).",
        fix="load the order for the signed-in account only; refuse (403/404) before any "
        "provider call",
        order_ref=order.order_ref,
        quote_id=order.quote_id,
    )
    if not sent:
        # Control: the owner can accept, so the refusal was about ownership.
        own = driver.accept(order.order_ref, account=order.account)
        evidence.step("owner accepts", f"HTTP {own.status_code}")
        if not accepted(driver, own):
            from conformance.checks.steps import CannotArrange

            raise CannotArrange(
                f"the owner could not accept {order.order_ref} either (HTTP {own.status_code})"
            )
    evidence.decide()


@pytest.mark.threat("guards.prefunded_balance")
def test_balance_below_quote_total(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    partner = provider.control.partner(provider.partner_id)
    balance = provider.control.balance(provider.partner_id)
    amount = format_money(Decimal(int(balance)) + Decimal(500))
    # Raise the order limit so only the balance stands in the way.
    provider.update(max_order_usdt=None, velocity_cap=None)
    try:
        account = new_account()
        before = {t.id for t in provider.trades()}
        answer = driver.create_quote(account=account, amount=amount)
        evidence.step("balance", f"prefunded {balance}, order {amount}")
        if refused(driver, answer):
            evidence.step("blocked before acceptance", f"HTTP {answer.status_code}")
        else:
            evidence.check(
                not answer.server_error,
                f"quoting above the balance answered HTTP {answer.status_code}.",
                fix="answer a 4xx (insufficient balance) instead of a 5xx",
            )
            ref = answer.get("order_ref")
            if answer.ok and ref:
                accept = driver.accept(str(ref), account=account)
                evidence.check(
                    refused(driver, accept),
                    f"accepting order {ref} above the prefunded balance {balance} was answered "
                    f"HTTP {accept.status_code} with status {accept.get('status')!r}; the "
                    "provider's 402 was not surfaced.",
                    fix="check the prefunded balance before acceptance, or surface the "
                    "provider's 402 as a refusal",
                    order_ref=str(ref),
                )
        new = [t for t in provider.trades() if t.id not in before]
        evidence.check(
            not new,
            f"{len(new)} trade(s) were made above the balance.",
            fix="never execute an order the prefunded balance cannot cover",
        )
    finally:
        provider.update(max_order_usdt=partner.max_order_usdt, velocity_cap=partner.velocity_cap)
    evidence.decide()


@pytest.mark.threat("guards.quote_unavailable")
def test_unavailable_quote_is_normal(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    for reason in UNAVAILABLE_REASONS:
        account = new_account()
        provider.unavailable_next(reason)
        mark = provider.mark()
        answer = driver.create_quote(account=account, amount=AMOUNT)
        evidence.check(
            not answer.server_error
            and (answer.refused or driver.category(answer) in ("unavailable", "refused")),
            f"a fail-soft quote ({reason}) was answered HTTP {answer.status_code} with status "
            f"{answer.get('status')!r}.",
            fix="treat available: false as a normal 'no price right now' answer, not an error",
        )
        ref = answer.get("order_ref")
        if answer.ok and ref:
            accept = driver.accept(str(ref), account=account)
            evidence.check(
                not accept.server_error,
                f"accepting an unavailable order answered HTTP {accept.status_code}.",
                fix="refuse accepting an order with no firm quote with a 4xx",
            )
        sent = provider.transacts(since=mark)
        evidence.check(
            not sent,
            f"{len(sent)} transact(s) followed an unavailable quote.",
            fix="never execute without a firm quote id",
        )
    evidence.decide()


STORM = 6  # more transacts than this for one quote within the bound is a retry storm
# (case id, where, fault options). Faults answer once unless told otherwise; a velocity
# limit keeps answering 429 for a while, so one hammering client shows as a storm.
REFUSALS = (
    ("quote-403-kyc", "quote", {"status": 403, "code": "kyc_not_approved"}),
    ("quote-503", "quote", {"status": 503, "code": "api_error"}),
    ("transact-403-suspended", "transact", {"status": 403, "code": "pool_access_suspended"}),
    (
        "transact-429",
        "transact",
        {"status": 429, "code": "velocity_cap_exceeded", "retry_after": 1, "times": STORM + 1},
    ),
    ("transact-501", "transact", {"status": 501, "code": "off_ramp_not_enabled"}),
    ("transact-503", "transact", {"status": 503, "code": "api_error"}),
    (
        "transact-409-in-progress",
        "transact",
        {"status": 409, "code": "idempotency_request_in_progress"},
    ),
)


@pytest.mark.threat("guards.provider_refusals")
def test_provider_refusals_get_clear_answers(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    accepted_cases: list[tuple[str, Order, int, float]] = []
    for case, where, options in REFUSALS:
        evidence.step("case", case)
        if where == "quote":
            provider.fault("error", path="/v1/pools/*/quote", **options)
            answer = driver.create_quote(account=new_account(), amount=AMOUNT)
            evidence.check(
                answer.status_code != 500
                and (
                    answer.refused
                    or answer.status_code in (502, 503, 504)
                    or not answer.ok
                    or driver.category(answer) in ("unavailable", "refused", "failed")
                ),
                f"{case}: the partner answered HTTP {answer.status_code} (status "
                f"{answer.get('status')!r}).",
                fix="answer a provider refusal with a clear 4xx, or 502/503 saying the "
                "provider failed; never a 500 or a quote that does not exist",
            )
            provider.reset()
            continue
        # Each case's fault is armed for its own quote, so the cases cannot take each
        # other's faults and their retries can be watched over one shared window.
        order = fresh_order(driver, provider)
        provider.fault("error", quote_id=order.quote_id, **options)
        mark = provider.mark()
        started = time.monotonic()
        answer = driver.accept(order.order_ref, account=order.account)
        evidence.check(
            answer.status_code != 500,
            f"{case}: accepting answered HTTP 500.",
            fix="map provider errors to clear answers (4xx, or 502/503 for provider failures)",
            order_ref=order.order_ref,
        )
        accepted_cases.append((case, order, mark, started))
    # Let retries (if any, in the request or from a poller) happen, then judge the journal.
    eventually(
        lambda: all(provider.trade_for_quote(o.quote_id) for _, o, _, _ in accepted_cases),
        bound_s=min(4.0, 4 * driver.poll_interval_s + 1),
    )
    for case, order, mark, started in accepted_cases:
        sent = provider.transacts(since=mark, quote_id=order.quote_id)
        provider.record_journal(sent)
        keys = {e.idempotency_key for e in sent}
        evidence.check(
            len(keys) <= 1,
            f"{case}: retries used {len(keys)} different idempotency keys.",
            fix="retry 5xx and in-progress answers with the same Idempotency-Key",
            order_ref=order.order_ref,
        )
        elapsed = max(1.0, time.monotonic() - started)
        evidence.check(
            len(sent) <= STORM,
            f"{case}: {len(sent)} transacts in {elapsed:.1f} s (a retry storm).",
            fix="back off between retries and honour Retry-After",
            order_ref=order.order_ref,
        )
        trade = provider.trade_for_quote(order.quote_id)
        if trade is not None:
            final = driver.wait_for(
                order.order_ref, account=order.account, categories=("pending", "done")
            )
            evidence.check(
                driver.category(final) in ("pending", "done"),
                f"{case}: trade {trade.id} exists but order {order.order_ref} shows "
                f"{final.get('status')!r}.",
                fix="never mark an order conflicted or failed while a trade exists; read "
                "GET /pools/transactions/{quoteId} after a 409 in progress",
                order_ref=order.order_ref,
                transact_id=trade.id,
            )
    provider.reset()
    evidence.decide()
