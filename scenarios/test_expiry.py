"""RQ1 — can a user accept after quote expiry? The backend must refuse a stale firm quote."""

from __future__ import annotations

import pytest

from conformance.checks import named
from conformance.checks.page_requests import record_requests
from conformance.checks.provider import Provider
from conformance.checks.quote_page import QuotePage
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import Order, accept_and_observe, fresh_order, wait_past_expiry
from conformance.checks.waits import until
from conformance.checks.web_context import WebContext
from conformance.driver.driver import Driver
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange

FIX_EXPIRED = "check the stored quote's expiresAt on the server before executing and refuse"
FIX_NO_TRANSACT = (
    "enforce expiresAt in your backend (and in any worker, right before it calls transact); "
    "do not rely on the provider's 409"
)


def _executes(
    driver: Driver,
    provider: Provider,
    evidence: ScenarioRecorder,
    order: Order,
    *,
    control: bool = False,
) -> None:
    """Accept an active quote: it must execute (the requirement, or a positive control whose
    failure means the harness cannot judge the refusal that follows)."""
    done = accept_and_observe(driver, provider, order, expect="execution")
    if control:
        if done.seen.trade is None:
            raise CannotArrange(
                f"the partner does not execute an active quote either ({order.order_ref}: "
                f"HTTP {done.answer.status_code}, state {done.seen.category!r}), so a refusal "
                "of an expired one says nothing about expiry"
            )
        evidence.ids(transact_id=done.seen.trade.id)
        evidence.observed("executed")
        return
    named.no_server_error(evidence, done.answer, what=f"accepting active quote {order.quote_id}",
                          order_ref=order.order_ref)
    named.executed(
        evidence, driver, done.answer, done.seen,
        what=f"accepting quote {order.quote_id} well inside its window",
        fix="execute a quote that is still active; refuse only once expiresAt has passed",
        order_ref=order.order_ref, quote_id=order.quote_id,
    )


def _refuses_expired(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder, order: Order
) -> None:
    timings = Timings.of(driver.manifest)
    wait_past_expiry(provider, order, timings=timings)
    evidence.step("quote expired", f"{order.quote_id} expired at {order.expires_at.isoformat()}")
    done = accept_and_observe(driver, provider, order, expect="refusal")
    what = f"accepting expired quote {order.quote_id}"
    named.no_server_error(
        evidence, done.answer, what=what,
        fix="answer an expired quote with a normal refusal (4xx or a refused state), not a 5xx",
        order_ref=order.order_ref,
    )
    named.refused(evidence, driver, done.answer, done.seen, what=what, fix=FIX_EXPIRED,
                  order_ref=order.order_ref, quote_id=order.quote_id)
    named.nothing_reached_provider(
        evidence, done.seen.transacts, watched=done.seen.complete,
        what=f"transact for expired quote {order.quote_id} after expiresAt",
        fix=FIX_NO_TRANSACT, order_ref=order.order_ref, quote_id=order.quote_id,
    )


def _inside_then_after(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder, *, control: bool
) -> None:
    """An active quote executes, then an expired one is refused. The short-lived quote is
    made first, so its wait past expiresAt overlaps the active one's execution."""
    timings = Timings.of(driver.manifest)
    expiring = fresh_order(driver, provider, ttl_s=timings.short_ttl_s)
    active = fresh_order(driver, provider, ttl_s=timings.inside_ttl_s)
    _executes(driver, provider, evidence, active, control=control)
    _refuses_expired(driver, provider, evidence, expiring)


@pytest.mark.threat(
    "expiry.backend_transact",
    question="RQ1",
    observes=("executed", "refused", "nothing_reached_provider"),
)
def test_backend_refuses_expired_quote(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    # The executed active quote is the positive control: a refusal then means expiry.
    _inside_then_after(driver, provider, evidence, control=True)


@pytest.mark.threat(
    "expiry.boundary",
    question="RQ1",
    observes=("executed", "refused", "nothing_reached_provider"),
)
def test_accept_inside_window_and_refuse_after(
    driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    # Here executing the active quote is the requirement itself (overcautious expiry fails).
    _inside_then_after(driver, provider, evidence, control=False)


# -- the page: Playwright's clock runs the page past expiresAt, no real waiting ------------------
FIX_UI = (
    "disable or remove the accept control when the page's countdown reaches expiresAt, ignore "
    "clicks on it, and still refuse stale quotes on the server"
)


@pytest.mark.threat(
    "expiry.ui_disabled", question="RQ1", observes=("accept_disabled", "nothing_reached_provider")
)
async def test_ui_accept_disabled_after_expiry(web: WebContext) -> None:
    evidence, provider = web.evidence, web.provider
    timings = Timings.of(web.manifest)
    async with QuotePage.open(web, clock=True) as page:
        quote = await page.get_quote(ttl_s=timings.page_s)
        await page.screenshot("quote-shown", f"quote {quote.quote_id} with Accept enabled")
        await page.run_clock_past(quote.expires_at)
        state = await page.accept_state()
        status = await page.status_text()
        await page.screenshot(
            "after-expiry", f"page clock past expiresAt: Accept {state}, status {status!r}"
        )
        evidence.check(
            state != "enabled",
            f"the Accept control is still enabled after the page's clock passed quote "
            f"{quote.quote_id}'s expiresAt (status shows {status!r}).",
            fix=FIX_UI,
            observes="accept_disabled",
            quote_id=quote.quote_id,
        )
        journal_mark, page_mark = provider.mark(), page.mark()
        await page.force_click_accept()
        await until(
            lambda: bool(page.actions_since(page_mark) or provider.transacts(since=journal_mark)),
            bound_s=timings.dispatch_s,
        )
        settled = await page.settle(bound_s=timings.page_s, quiet_s=timings.dispatch_s)
        sent = page.actions_since(page_mark)
        transacts = provider.transacts(since=journal_mark)
        await page.screenshot("after-forced-click", f"status {await page.status_text()!r}")
    record_requests(evidence, "page requests after the forced click", sent)
    evidence.ids(transact_id=[t.id for t in provider.trades() if t.quote_id == quote.quote_id])
    evidence.check(
        not sent,
        f"after quote {quote.quote_id} expired on the page, clicking Accept sent "
        f"{len(sent)} request(s) ({sent[0].method} {sent[0].url} first) — the page let the "
        "acceptance through." if sent else "",
        fix=FIX_UI,
        quote_id=quote.quote_id,
    )
    named.nothing_reached_provider(
        evidence, transacts, watched=settled,
        what=f"clicking Accept after quote {quote.quote_id} expired on the page",
        fix=FIX_UI, quote_id=quote.quote_id,
    )
