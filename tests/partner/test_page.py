"""The order page in a real headless browser: countdown, double clicks, no provider calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from conformance.simulator import OutcomePlan

from .conftest import Partner

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                      args=ARGS)
        yield chromium
        chromium.close()


def _open(browser: Browser, p: Partner, account: str) -> tuple[Page, list[str]]:
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.clock.install()
    page.goto(f"{p.url}/?account={account}")
    page.wait_for_function("document.querySelectorAll('#network option').length > 1")
    page.click("#get-quote")
    page.wait_for_selector("#accept:not([disabled])")
    return page, requests


def _trades(p: Partner) -> list[Any]:
    return p.trades()


def test_countdown_disables_accept_and_page_stays_on_its_origin(browser, clean) -> None:
    page, requests = _open(browser, clean, "web_clean")
    page.clock.run_for(20_000)  # past the 15 s quote
    assert page.is_disabled("#accept")
    assert page.text_content("#status") == "expired"
    assert all(url.startswith(clean.url) for url in requests)
    page.close()


def test_double_click_makes_one_trade(browser, start) -> None:
    p = start()
    page, requests = _open(browser, p, "web_dbl")
    page.dblclick("#accept")
    page.click("#accept", force=True)
    # The page shows the order's state in its own words (web/src/status.js).
    p.wait_for(lambda: page.text_content("#status") in ("Processing your order", "Complete"))
    assert len(_trades(p)) == 1
    page.close()


def test_raw_states_on_screen_shows_the_provider_trade_status(browser, start) -> None:
    p = start("raw_states_on_screen")
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="reserved")])
    page, _ = _open(browser, p, "web_raw")
    page.click("#accept")
    p.wait_for(lambda: "trade reserved" in (page.text_content("#status") or ""))
    page.close()


def test_firm_quote_on_load_quotes_before_the_customer_asks(browser, start) -> None:
    p = start("firm_quote_on_load")
    page = browser.new_page()
    page.goto(f"{p.url}/?account=web_load")
    p.wait_for(lambda: len(p.sim.control.quotes(p.pid)) >= 1)
    page.close()


def test_ui_accept_after_expiry_leaves_accept_enabled(browser, start) -> None:
    p = start("ui_accept_after_expiry")
    page, _ = _open(browser, p, "web_ui")
    page.clock.run_for(20_000)
    assert not page.is_disabled("#accept")
    page.close()


def test_requote_on_accept_double_click_makes_two_trades(browser, start) -> None:
    p = start("requote_on_accept")
    page, _ = _open(browser, p, "web_rq")
    page.dblclick("#accept")
    p.wait_for(lambda: len(_trades(p)) >= 2)
    page.close()


def test_browser_executes_calls_the_provider(browser, start) -> None:
    p = start("browser_executes")
    page, _ = _open(browser, p, "web_be")
    # The sync API delivers request events only inside Playwright calls: wait in one.
    with page.expect_request(
        lambda r: "/transact" in r.url and r.url.startswith(p.sim.base_url), timeout=8_000
    ):
        page.click("#accept")
    page.close()
