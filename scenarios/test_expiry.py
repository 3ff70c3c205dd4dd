"""RQ1 — can a user accept after quote expiry? The backend must refuse a stale firm quote."""

from __future__ import annotations

import pytest

from conformance.checks.browser import QuotePage, WebContext, record_requests, until
from conformance.checks.provider import Provider
from conformance.checks.steps import accepted, fresh_order, refused, wait_past_expiry
from conformance.driver.driver import Driver
from conformance.driver.recorder import EvidenceRecorder

SHORT_TTL_S = 1.0  # short-lived: the real wait just past expiresAt stays ~1.4 s


def _refuses_expired(driver: Driver, provider: Provider, evidence: EvidenceRecorder) -> None:
    order = fresh_order(driver, provider, ttl_s=SHORT_TTL_S)
    wait_past_expiry(provider, order)
    mark = provider.mark()
    evidence.step("quote expired", f"{order.quote_id} expired at {order.expires_at.isoformat()}")
    answer = driver.accept(order.order_ref, account=order.account)
    sent = provider.transacts(since=mark, quote_id=order.quote_id)
    provider.record_journal(sent)
    evidence.check(
        not answer.server_error,
        f"accepting an expired quote answered HTTP {answer.status_code}.",
        fix="answer an expired quote with a normal refusal (4xx or a refused state), not a 5xx",
        order_ref=order.order_ref,
        quote_id=order.quote_id,
    )
    evidence.check(
        refused(driver, answer),
        f"the partner did not refuse accepting expired quote {order.quote_id} "
        f"(HTTP {answer.status_code}, status {answer.get('status')!r}).",
        fix="check the stored quote's expiresAt on the server before executing and refuse",
        order_ref=order.order_ref,
        quote_id=order.quote_id,
    )
    evidence.check(
        not sent,
        f"{len(sent)} transact request(s) for expired quote {order.quote_id} reached the "
        "provider after expiresAt.",
        fix="enforce expiresAt in your backend before calling transact; do not rely on the "
        "provider's 409",
        order_ref=order.order_ref,
        quote_id=order.quote_id,
    )


@pytest.mark.threat("expiry.backend_transact", question="RQ1")
def test_backend_refuses_expired_quote(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    _refuses_expired(driver, provider, evidence)
    evidence.decide()


@pytest.mark.threat("expiry.boundary", question="RQ1")
def test_accept_inside_window_and_refuse_after(
    driver: Driver, provider: Provider, evidence: EvidenceRecorder
) -> None:
    inside = fresh_order(driver, provider, ttl_s=6.0)
    mark = provider.mark()
    answer = driver.accept(inside.order_ref, account=inside.account)
    sent = provider.transacts(since=mark, quote_id=inside.quote_id)
    provider.record_journal(sent)
    evidence.check(
        accepted(driver, answer) and bool(sent),
        f"accepting quote {inside.quote_id} well inside its window was not executed "
        f"(HTTP {answer.status_code}, status {answer.get('status')!r}, {len(sent)} transact(s)).",
        fix="execute a quote that is still active; refuse only once expiresAt has passed",
        order_ref=inside.order_ref,
        quote_id=inside.quote_id,
    )
    _refuses_expired(driver, provider, evidence)
    evidence.decide()


# -- the page: Playwright's clock runs the page past expiresAt, no real waiting ------------------
UI_TTL_S = 2.0
FIX_UI = (
    "disable or remove the accept control when the page's countdown reaches expiresAt, ignore "
    "clicks on it, and still refuse stale quotes on the server"
)


@pytest.mark.threat("expiry.ui_disabled", question="RQ1")
async def test_ui_accept_disabled_after_expiry(web: WebContext) -> None:
    evidence, provider = web.evidence, web.provider
    async with QuotePage.open(web, clock=True) as page:
        quote = await page.get_quote(ttl_s=UI_TTL_S)
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
            quote_id=quote.quote_id,
        )
        journal_mark, page_mark = provider.mark(), page.mark()
        await page.force_click_accept()
        await until(
            lambda: bool(page.actions_since(page_mark) or provider.transacts(since=journal_mark)),
            bound_s=2.0,
        )
        await page.settle(bound_s=5.0, quiet_s=1.0)
        sent = page.actions_since(page_mark)
        transacts = provider.transacts(since=journal_mark)
        await page.screenshot("after-forced-click", f"status {await page.status_text()!r}")
    provider.record_journal(transacts)
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
    evidence.check(
        not transacts,
        f"clicking Accept after quote {quote.quote_id} expired on the page led to "
        f"{len(transacts)} transact request(s) at the provider.",
        fix=FIX_UI,
        quote_id=quote.quote_id,
    )
    evidence.decide()
