"""RQ3 — can two clicks create two trades? One accepted quote, one trade, one idempotency key."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from conformance.checks import named
from conformance.checks.concurrently import run_concurrently
from conformance.checks.observe import GOING, NO, Snapshot, observe
from conformance.checks.page_requests import record_requests
from conformance.checks.provider import Provider, body_quote_id
from conformance.checks.quote_page import QuotePage
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import Order, fresh_order, require_trade
from conformance.checks.waits import until
from conformance.checks.web_context import WebContext
from conformance.driver.driver import Driver
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange
from conformance.findings import Severity

FIX_ONE_EXECUTION = (
    "execute the stored quote once per order (a lock or a unique constraint) with a stable "
    "Idempotency-Key; never re-quote on accept"
)
FIX_SAME_KEY = (
    "retry a lost transact with the same Idempotency-Key and the same body (derive the key "
    "from the quote, e.g. pool-execution:<quoteId>)"
)


def _new_trades(provider: Provider, before: set[str]) -> list[Any]:
    return [t for t in provider.trades() if t.id not in before]


def _concurrent_accepts(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder, order: Order, clicks: int
) -> None:
    timings = Timings.of(driver.manifest)
    before = {t.id for t in provider.trades()}
    mark = provider.mark()
    answers = run_concurrently(
        [lambda: driver.accept(order.order_ref, account=order.account)] * clicks,
        bound_s=driver.actions.timeout_s + timings.call_s,
    )
    # Watch the whole window: a queued accept's second execution may come late.
    observe(
        driver, provider, account=order.account, order_ref=order.order_ref,
        quote_id=order.quote_id, since=mark,
        until=lambda s: bool(_new_trades(provider, before)), min_s=timings.dispatch_s,
    )
    new = _new_trades(provider, before)
    provider.record_journal(provider.transacts(since=mark))
    if not new:
        raise CannotArrange(
            f"{clicks} concurrent accepts of {order.order_ref} made no trade at the provider "
            f"(answers: {', '.join(str(a.status_code) for a in answers)})"
        )
    named.exactly_one_trade(
        evidence, new, what=f"{clicks} concurrent accepts of order {order.order_ref}",
        fix=FIX_ONE_EXECUTION, order_ref=order.order_ref, quote_id=order.quote_id,
    )
    trade_id = new[0].id if len(new) == 1 else None
    for answer in answers:
        mapped = answer.get("transact_id")
        ok = answer.ok and (
            (mapped is not None and mapped == trade_id)
            or (mapped is None and driver.category(answer) in GOING)
        )
        evidence.check(
            ok,
            f"a concurrent accept of {order.order_ref} answered HTTP {answer.status_code} "
            f"(status {answer.get('status')!r}, trade {mapped!r}) instead of the one trade "
            "or a pending state.",
            fix="answer a repeated accept with the stored execution (same trade id) or a "
            "pending state, not an error",
            observes="accept_answers",
            order_ref=order.order_ref,
        )


@pytest.mark.threat(
    "duplicates.double_submit_api",
    question="RQ3",
    observes=("exactly_one_trade", "accept_answers"),
)
def test_concurrent_accepts_make_one_trade(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    for clicks in (2, 8):
        order = fresh_order(driver, provider)
        evidence.step(f"{clicks} concurrent accepts", order.order_ref)
        _concurrent_accepts(driver, provider, evidence, order, clicks)


def _retry_after_reset(driver: Driver, provider: Provider, evidence: ScenarioRecorder) -> None:
    timings = Timings.of(driver.manifest)
    order = fresh_order(driver, provider)
    before = {t.id for t in provider.trades()}
    provider.fault("reset_after_commit", quote_id=order.quote_id)
    mark = provider.mark()
    answer = driver.accept(order.order_ref, account=order.account)
    trade = require_trade(driver, provider, order, answer)
    maps_trade = "transact_id" in driver.manifest.actions["get_order"].expect

    def on_trade(s: Snapshot) -> bool:
        if s.category in NO:
            return True  # decisively not on the trade
        return s.category == "done" and (not maps_trade or s.transact_id == trade.id)

    # Observe until the order settles on the trade (or fails), and retries have gone quiet.
    seen = observe(
        driver, provider, account=order.account, order_ref=order.order_ref,
        quote_id=order.quote_id, since=mark, until=on_trade, min_s=timings.dispatch_s,
        reconcile=True,
    )
    named.one_key_per_quote(
        evidence, seen.transacts, quote_id=order.quote_id, fix=FIX_SAME_KEY,
        order_ref=order.order_ref,
    )
    named.exactly_one_trade(
        evidence, _new_trades(provider, before),
        what=f"a lost transact answer for order {order.order_ref}",
        fix="retry with the same key, or read GET /pools/transactions/{quoteId}, never re-quote",
        order_ref=order.order_ref,
    )
    evidence.check(
        seen.held and seen.category not in NO,
        f"after a lost transact answer, order {order.order_ref} ended {seen.category!r} "
        f"with trade {seen.last.transact_id!r}, not settled on trade {trade.id} (accept "
        f"answered HTTP {answer.status_code}).",
        fix="treat a timeout or reset as an unknown outcome: retry with the same key or read "
        "the status by quote id, and store the trade id; never mark it failed",
        observes="order_on_trade",
        order_ref=order.order_ref,
        transact_id=trade.id,
    )


@pytest.mark.threat(
    "duplicates.timeout_retry",
    question="RQ3",
    observes=("one_key_per_quote", "exactly_one_trade", "order_on_trade"),
)
def test_lost_answer_is_retried_with_same_key(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    _retry_after_reset(driver, provider, evidence)


@pytest.mark.threat("duplicates.key_stability", question="RQ3", observes=("one_key_per_quote",))
def test_one_key_and_body_per_quote(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    # Drive the cases where keys drift: a plain accept, a repeated accept, a lost answer.
    order = fresh_order(driver, provider)
    driver.accept(order.order_ref, account=order.account)
    driver.accept(order.order_ref, account=order.account)
    require_trade(driver, provider, order)
    _retry_after_reset(
        driver, provider, ScenarioRecorder(evidence.scenario_id, redactor=evidence.redactor)
    )
    by_quote: dict[str, list[Any]] = defaultdict(list)
    for entry in provider.transacts(since=0):
        quote_id = body_quote_id(entry)
        if quote_id is not None:
            by_quote[quote_id].append(entry)
    evidence.step(
        "journal",
        f"{sum(map(len, by_quote.values()))} transacts over {len(by_quote)} quotes in this run",
    )
    for quote_id, entries in sorted(by_quote.items()):
        named.one_key_per_quote(
            evidence, entries, quote_id=quote_id,
            fix="use one stable Idempotency-Key and one body per accepted quote, for every retry",
        )


@pytest.mark.threat(
    "duplicates.conflict_handled",
    question="RQ3",
    observes=("no_server_error", "not_reported_done"),
)
def test_conflict_is_not_success(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    order = fresh_order(driver, provider)
    provider.fault(
        "error",
        status=409,
        code="idempotency_key_reused",
        message="this Idempotency-Key was used with another request body",
        quote_id=order.quote_id,
    )
    mark = provider.mark()
    answer = driver.accept(order.order_ref, account=order.account)
    # Until the order shows an outcome: a queued accept meets the 409 in its worker.
    seen = observe(
        driver, provider, account=order.account, order_ref=order.order_ref,
        quote_id=order.quote_id, since=mark,
        until=lambda s: s.category in NO or s.category == "done",
        min_s=Timings.of(driver.manifest).dispatch_s,
    )
    provider.record_journal(seen.transacts)
    named.no_server_error(
        evidence, answer,
        what="a provider 409 idempotency_key_reused on transact",
        fix="handle 409 on transact as a conflict answer to the customer, not a server error",
        order_ref=order.order_ref,
    )
    if not seen.transacts:
        raise CannotArrange(
            f"accept of {order.order_ref} sent no transact, so the provider's 409 was never seen"
        )
    trade = provider.trade_for_quote(order.quote_id)
    told = named.said_no(driver, answer) or seen.category in NO
    success = "done" in (driver.category(answer) if answer.ok else None, seen.category)
    evidence.check(
        trade is not None or (told and not success),
        f"order {order.order_ref} was answered {answer.get('status')!r} (HTTP "
        f"{answer.status_code}) and then showed {seen.category!r} although the provider "
        "refused the execution with 409 and no trade exists.",
        fix="on 409 idempotency_key_reused check GET /pools/transactions/{quoteId}; if no "
        "trade exists, show a conflict (a refused state) and start a new quote flow; never "
        "show it done or leave it pending",
        observes="not_reported_done",
        order_ref=order.order_ref,
        quote_id=order.quote_id,
    )


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
    timings = Timings.of(page.ctx.manifest)
    await until(lambda: any(t.id not in before for t in provider.trades()), bound_s=timings.page_s)
    await page.settle(bound_s=timings.page_s, quiet_s=timings.dispatch_s)
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
    named.exactly_one_trade(
        evidence, trades, what=f"a {how} on Accept for quote {quote.quote_id}",
        fix=FIX_UI_CLICKS, quote_id=quote.quote_id,
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


@pytest.mark.threat("duplicates.double_click_ui", question="RQ3", observes=("exactly_one_trade",))
async def test_double_click_in_browser_makes_one_trade(web: WebContext) -> None:
    async with QuotePage.open(web) as page:
        await _clicks_make_one_trade(page, "double click")
        await page.goto()
        await _clicks_make_one_trade(page, "rapid clicks")
