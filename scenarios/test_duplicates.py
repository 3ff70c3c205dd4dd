"""RQ3 — can two clicks create two trades? One accepted quote, one trade, one idempotency key."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from conformance.checks.browser import (
    QuotePage,
    WebContext,
    decide_blocking,
    record_requests,
    until,
)
from conformance.checks.provider import Provider, body_quote_id
from conformance.checks.steps import (
    CannotArrange,
    Order,
    accepted,
    eventually,
    fresh_order,
    wait_for_trade,
)
from conformance.driver.driver import Driver
from conformance.driver.recorder import EvidenceRecorder
from conformance.findings import Severity


async def _concurrent_accepts(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder, order: Order, clicks: int
) -> None:
    before = {t.id for t in provider.trades()}
    mark = provider.mark()
    async with driver.actions.async_client() as client:
        answers = await asyncio.gather(
            *(
                driver.accept_async(order.order_ref, account=order.account, client=client)
                for _ in range(clicks)
            )
        )
    eventually(lambda: bool({t.id for t in provider.trades()} - before), bound_s=3.0)
    new = [t for t in provider.trades() if t.id not in before]
    provider.record_journal(provider.transacts(since=mark))
    evidence.ids(transact_id=[t.id for t in new])
    evidence.check(
        len(new) == 1,
        f"{clicks} concurrent accepts of order {order.order_ref} made {len(new)} trades "
        f"({', '.join(t.id for t in new) or 'none'}).",
        fix="execute the stored quote once per order (a lock or a unique constraint) with a "
        "stable Idempotency-Key; never re-quote on accept",
        order_ref=order.order_ref,
        quote_id=order.quote_id,
    )
    trade_id = new[0].id if len(new) == 1 else None
    for answer in answers:
        named = answer.get("transact_id")
        ok = answer.ok and (
            (named is not None and named == trade_id)
            or (named is None and driver.category(answer) in ("pending", "done"))
        )
        evidence.check(
            ok,
            f"a concurrent accept of {order.order_ref} answered HTTP {answer.status_code} "
            f"(status {answer.get('status')!r}, trade {named!r}) instead of the one trade "
            "or a pending state.",
            fix="answer a repeated accept with the stored execution (same trade id) or a "
            "pending state, not an error",
            order_ref=order.order_ref,
        )


@pytest.mark.threat("duplicates.double_submit_api", question="RQ3")
async def test_concurrent_accepts_make_one_trade(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    for clicks in (2, 8):
        order = fresh_order(driver, provider)
        evidence.step(f"{clicks} concurrent accepts", order.order_ref)
        await _concurrent_accepts(driver, provider, evidence, order, clicks)
    evidence.decide()


def _retry_after_reset(driver: Driver, provider: Provider, evidence: EvidenceRecorder) -> None:
    order = fresh_order(driver, provider)
    before = {t.id for t in provider.trades()}
    provider.fault("reset_after_commit")
    mark = provider.mark()
    answer = driver.accept(order.order_ref, account=order.account)
    trade = wait_for_trade(provider, order.quote_id)
    if trade is None:
        raise CannotArrange(f"accept of {order.order_ref} sent no transact to the provider")
    evidence.ids(transact_id=trade.id)
    final = driver.wait_for(
        order.order_ref,
        account=order.account,
        categories=("pending", "done"),
        also=lambda a: a.get("transact_id") in (None, trade.id),
    )
    sent = provider.transacts(since=mark, quote_id=order.quote_id)
    provider.record_journal(sent)
    evidence.ids(idempotency_key=[e.idempotency_key for e in sent])
    new = [t for t in provider.trades() if t.id not in before]
    keys = {e.idempotency_key for e in sent}
    bodies = {e.body_digest for e in sent}
    evidence.check(
        len(keys) == 1 and len(bodies) == 1,
        f"after the connection was reset, order {order.order_ref}'s transacts used "
        f"{len(keys)} idempotency key(s) and {len(bodies)} body(ies).",
        fix="retry a lost transact with the same Idempotency-Key and the same body "
        "(derive the key from the quote, e.g. pool-execution:<quoteId>)",
        order_ref=order.order_ref,
        quote_id=order.quote_id,
    )
    evidence.check(
        len(new) == 1,
        f"the lost transact answer led to {len(new)} trades for order {order.order_ref}.",
        fix="retry with the same key, or read GET /pools/transactions/{quoteId}, never re-quote",
        order_ref=order.order_ref,
    )
    category = driver.category(final)
    named = final.get("transact_id")
    evidence.check(
        category in ("pending", "done")
        and named in (None, trade.id)
        and ("transact_id" not in driver.manifest.actions["get_order"].expect or named == trade.id),
        f"after a lost transact answer, order {order.order_ref} ended {final.get('status')!r} "
        f"with trade {named!r}, not on trade {trade.id} (accept answered HTTP "
        f"{answer.status_code}).",
        fix="treat a timeout or reset as an unknown outcome: retry with the same key or read "
        "the status by quote id, and store the trade id; never mark it failed",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )


@pytest.mark.threat("duplicates.timeout_retry", question="RQ3")
def test_lost_answer_is_retried_with_same_key(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    _retry_after_reset(driver, provider, evidence)
    evidence.decide()


@pytest.mark.threat("duplicates.key_stability", question="RQ3")
def test_one_key_and_body_per_quote(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    # Drive the cases where keys drift: a plain accept, a repeated accept, a lost answer.
    order = fresh_order(driver, provider)
    driver.accept(order.order_ref, account=order.account)
    driver.accept(order.order_ref, account=order.account)
    _retry_after_reset(
        driver, provider, EvidenceRecorder(evidence.scenario_id, redactor=evidence.redactor)
    )
    by_quote: dict[str, list[object]] = defaultdict(list)
    for entry in provider.transacts(since=0):
        quote_id = body_quote_id(entry)
        if quote_id is not None:
            by_quote[quote_id].append(entry)
    evidence.step(
        "journal",
        f"{sum(map(len, by_quote.values()))} transacts over {len(by_quote)} quotes in this run",
    )
    for quote_id, entries in sorted(by_quote.items()):
        keys = {e.idempotency_key for e in entries}  # type: ignore[attr-defined]
        bodies = {e.body_digest for e in entries}  # type: ignore[attr-defined]
        if len(keys) > 1 or len(bodies) > 1:
            provider.record_journal(entries)
            evidence.ids(quote_id=quote_id)
        evidence.check(
            len(keys) == 1 and len(bodies) == 1,
            f"quote {quote_id} was sent with {len(keys)} idempotency keys and "
            f"{len(bodies)} bodies over {len(entries)} transacts.",
            fix="use one stable Idempotency-Key and one body per accepted quote, for every retry",
            quote_id=quote_id,
        )
    evidence.decide()


@pytest.mark.threat("duplicates.conflict_handled", question="RQ3")
def test_conflict_is_not_success(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    order = fresh_order(driver, provider)
    provider.fault(
        "error",
        status=409,
        code="idempotency_key_reused",
        message="this Idempotency-Key was used with another request body",
    )
    mark = provider.mark()
    answer = driver.accept(order.order_ref, account=order.account)
    provider.record_journal(provider.transacts(since=mark, quote_id=order.quote_id))
    trade = provider.trade_for_quote(order.quote_id)
    evidence.check(
        not answer.server_error,
        f"a provider 409 idempotency_key_reused made the partner answer HTTP {answer.status_code}.",
        fix="handle 409 on transact as a conflict answer to the customer, not a server error",
        order_ref=order.order_ref,
    )
    if trade is None:
        evidence.check(
            not accepted(driver, answer),
            f"order {order.order_ref} was reported as {answer.get('status')!r} (HTTP "
            f"{answer.status_code}) although the provider refused the execution with 409 and "
            "no trade exists.",
            fix="on 409 idempotency_key_reused check GET /pools/transactions/{quoteId}; if no "
            "trade exists, show a conflict and start a new quote flow",
            order_ref=order.order_ref,
            quote_id=order.quote_id,
        )
        final = driver.order(order.order_ref, account=order.account)
        evidence.check(
            driver.category(final) != "done",
            f"order {order.order_ref} shows {final.get('status')!r} with no trade at the provider.",
            fix="never mark an order done without a trade",
            order_ref=order.order_ref,
        )
    evidence.decide()


# -- the page: a real double click and a burst of rapid clicks on Accept -------------------------
RAPID_CLICKS = 6
FIX_UI_CLICKS = (
    "make the accept action idempotent on the server (one execution per stored quote, a stable "
    "Idempotency-Key, never a re-quote on accept)"
)


async def _clicks_make_one_trade(page: QuotePage, how: str) -> None:
    provider, evidence = page.ctx.provider, page.ctx.evidence
    quote = await page.get_quote()
    before = {t.id for t in provider.trades()}
    journal_mark, page_mark = provider.mark(), page.mark()
    if how == "double click":
        await page.double_click_accept()
    else:
        await page.burst_click_accept(RAPID_CLICKS)
    await until(lambda: any(t.id not in before for t in provider.trades()), bound_s=5.0)
    await page.settle(bound_s=8.0, quiet_s=1.0)
    trades = [t for t in provider.trades() if t.id not in before]
    accepts = page.actions_to_partner(page_mark)
    status = await page.status_text()
    await page.screenshot(how.replace(" ", "-"), f"after the {how}: status {status!r}")
    provider.record_journal(provider.transacts(since=journal_mark))
    record_requests(evidence, f"page requests after the {how}", page.actions_since(page_mark))
    evidence.ids(transact_id=[t.id for t in trades])
    if not trades:
        raise CannotArrange(
            f"the {how} on Accept for quote {quote.quote_id} made no trade at the provider "
            f"(status shows {status!r})"
        )
    evidence.check(
        len(trades) == 1,
        f"a {how} on Accept for quote {quote.quote_id} made {len(trades)} trades "
        f"({', '.join(t.id for t in trades)}).",
        fix=FIX_UI_CLICKS,
        quote_id=quote.quote_id,
    )
    if len(trades) == 1 and len(accepts) > 1:
        evidence.finding(
            f"a {how} on Accept made the page send {len(accepts)} accept requests to the "
            "backend for one quote (the backend made one trade).",
            fix="disable the accept control while an acceptance is in flight, so the page "
            "sends one request per click sequence",
            severity=Severity.ADVISORY,
            quote_id=quote.quote_id,
        )


@pytest.mark.threat("duplicates.double_click_ui", question="RQ3")
async def test_double_click_in_browser_makes_one_trade(web: WebContext) -> None:
    async with QuotePage.open(web) as page:
        await _clicks_make_one_trade(page, "double click")
        await page.goto()
        await _clicks_make_one_trade(page, "rapid clicks")
    decide_blocking(web.evidence)
