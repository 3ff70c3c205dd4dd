"""Screens: firm quotes only on intent, honest execution screens, screens built from discovery.

All are the seed's developer checklist and guardrails about what a page does and shows
(advisory, browser). No money moves differently when they fail (the server-side rows judge
that), so they are reported and never block (see conformance/catalogue.py).
"""

from __future__ import annotations

import pytest

from conformance.checks.quote_page import QuotePage
from conformance.checks.screens import (
    firm_quote_requests,
    internal_wording,
    pool_unavailable,
    says_unavailable,
    unsupported_offers,
)
from conformance.checks.waits import until
from conformance.checks.web_context import WebContext
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange


@pytest.mark.threat(
    "screens.firm_on_intent", observes=("no_firm_quote_before_intent", "one_firm_quote_per_ask")
)
async def test_firm_quote_only_when_the_user_asks(web: WebContext) -> None:
    evidence, provider = web.evidence, web.provider
    timings = Timings.of(web.manifest)
    known = {q.id for q in provider.quotes()}

    def created() -> list[str]:
        return [q.id for q in provider.quotes() if q.id not in known]

    async with QuotePage.open(web) as page:
        await page.fill_form()
        evidence.step("browser: page loaded, form filled", "nothing asked for yet")
        # The page's own start-up requests finish; a quote they asked for has reached the
        # provider within one dispatch window after that.
        settled = await page.settle()
        await until(lambda: bool(created()), bound_s=timings.dispatch_s,
                    interval_s=timings.read_interval_s)
        early = created()
        await page.screenshot("before-asking", f"{len(early)} firm quote(s) before get-quote")
        evidence.ids(quote_id=early)
        if early or settled:
            evidence.check(
                not early,
                f"loading the quote page and filling its form made {len(early)} firm quote(s) "
                f"({', '.join(early)}) before the user asked for one.",
                fix="ask for a firm quote only when the user asks (get-quote); show an "
                "indicative price, or none, before that",
                observes="no_firm_quote_before_intent",
            )
        known.update(early)
        await page.click_get_quote()
        await until(lambda: bool(created()), bound_s=timings.page_s,
                    interval_s=timings.read_interval_s)
        await page.settle()
        await until(lambda: len(created()) > 1, bound_s=timings.dispatch_s,
                    interval_s=timings.read_interval_s)
        made = created()
        await page.screenshot("after-asking", f"{len(made)} firm quote(s) for one get-quote")
    evidence.ids(quote_id=made)
    evidence.check(
        len(made) == 1,
        f"one click on get-quote made {len(made)} firm quotes at the provider.",
        fix="make exactly one firm quote per request of the user",
        observes="one_firm_quote_per_ask",
    )


@pytest.mark.threat("screens.honest_status", observes=("execution_screen_read",))
async def test_execution_screen_shows_no_provider_internals(web: WebContext) -> None:
    evidence, provider = web.evidence, web.provider
    timings = Timings.of(web.manifest)
    # The trade stays reserved, the provider's most internal state, while the screen is read.
    provider.script_next("reserved")
    seen: dict[str, str] = {}
    trade = None
    try:
        async with QuotePage.open(web) as page:
            quote = await page.get_quote()
            await page.click_accept()
            await until(lambda: provider.trade_for_quote(quote.quote_id) is not None,
                        bound_s=timings.dispatch_s + timings.call_s,
                        interval_s=timings.read_interval_s)
            trade = provider.trade_for_quote(quote.quote_id)
            if trade is not None:
                evidence.ids(transact_id=trade.id)
            await page.settle()

            async def read() -> None:
                for text in (await page.status_text(), await page.page_text()):
                    for leak in internal_wording(text):
                        seen.setdefault(leak.what, leak.excerpt)

            # Watch the execution screen while the page follows the order (its polls).
            deadline_reads = max(1, round(timings.page_s / timings.quiet_s))
            for _ in range(deadline_reads):
                await read()
                await until(lambda: False, bound_s=timings.quiet_s,
                            interval_s=timings.read_interval_s)
            await read()
            await page.screenshot("execution-screen",
                                  f"after Accept, trade reserved: {await page.status_text()!r}")
            evidence.step("browser: execution screen read",
                          f"status {await page.status_text()!r}")
    finally:
        if trade is not None:
            provider.move(trade.id, "settled")
    evidence.observed("execution_screen_read")
    for what, excerpt in seen.items():
        evidence.check(
            False,
            f"the execution screen shows {what}: …{excerpt}….",
            fix="show the order in your own words (processing, complete, cancelled); keep the "
            "provider's states, reserve, route, treasury and bps internals off the screen",
        )


@pytest.mark.threat(
    "screens.from_discovery",
    observes=("firm_quote_while_available", "no_firm_quote_while_unavailable"),
)
async def test_screen_is_built_from_discovery(web: WebContext) -> None:
    evidence, provider = web.evidence, web.provider
    timings = web.timings
    pool_id = web.manifest.provider.pool_id
    supported = tuple(provider.pool(pool_id).supported_networks)
    async with QuotePage.open(web) as page:
        # Positive control: with the pool available, this page gets a firm quote, so no quote
        # later means the page read discovery.
        await page.get_quote()
        evidence.observed("firm_quote_while_available")
        await page.idle()
        # (1) The networks the page offers are the pool's capabilities.
        offered = await page.options("network") if "network" in web.web.selectors else None
        if offered is None:
            evidence.step("browser: network field",
                          "not a <select>: it offers nothing to judge (part 2 only)")
        else:
            wrong = unsupported_offers(offered, supported)
            evidence.step("browser: networks offered",
                          f"{', '.join(offered) or 'none'}; {pool_id} supports "
                          f"{', '.join(supported)} (the provider's capabilities)")
            evidence.check(
                not wrong,
                f"the quote page offers network(s) {', '.join(wrong)} that pool {pool_id} does "
                f"not support (its capabilities list {', '.join(supported)}).",
                fix="build the network choice from the pool's capabilities (supportedNetworks, "
                "read at run time), not from a list kept in the page",
                observes="network_offer_read",
            )
        shown = "not a <select>" if offered is None else ", ".join(offered) or "none"
        await page.screenshot("pool-available", f"networks offered: {shown}")

        # (2) The pool becomes unavailable: the page no longer lets the user quote it.
        mark = provider.mark()
        with pool_unavailable(provider, evidence, pool_id):
            await page.goto()
            await page.idle()
            filled = True
            try:
                await page.fill_form()
            except CannotArrange as exc:  # the page no longer takes an order for this pool
                filled = False
                evidence.step("browser: the form cannot be filled while the pool is unavailable",
                              str(exc))
            await page.idle()
            state = await page.control_state("get_quote")
            evidence.step("browser: get-quote while the pool is unavailable", state)
            said, accept = "", ""
            asked = filled and state == "enabled"
            if asked:
                await page.click_get_quote()
                await page.settle()
            # Whatever the page did, no firm quote request for the pool reaches the provider.
            await until(lambda: bool(firm_quote_requests(provider.journal(mark), pool_id)),
                        bound_s=timings.dispatch_s, interval_s=timings.read_interval_s)
            if asked:
                said, accept = await page.page_text(), await page.accept_state()
            window = provider.journal(mark)
            sent = firm_quote_requests(window, pool_id)
            provider.record_journal(window)
            await page.screenshot("pool-unavailable",
                                  f"get-quote {state}; {len(sent)} firm quote request(s)")
    evidence.check(
        not sent,
        f"with pool {pool_id} unavailable at the provider (/pools and its balance say so), "
        f"{len(sent)} firm quote request(s) for it reached the provider from the quote page.",
        fix="read the pool's availability (GET /pools, balance or capabilities) before "
        "quoting, and offer no get-quote while it is unavailable",
        observes="no_firm_quote_while_unavailable",
    )
    if asked:
        evidence.check(
            accept != "enabled" and says_unavailable(said, web.web.unavailable_text),
            f"with pool {pool_id} unavailable, the page kept get-quote enabled and, once "
            f"clicked, does not say that no quote can be had (Accept {accept}; the page "
            f"shows: {said[:160]!r}).",
            fix="read discovery before rendering actions: disable or hide get-quote while the "
            "pool is unavailable, or tell the user that it is (a page that says so in other "
            "words or another language declares them in [web] unavailable_text)",
        )
