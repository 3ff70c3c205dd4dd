"""Quote pages of other shapes, driven through the manifest's [web] section alone.

A page that needs a sign-in form, a required customer field, a pool select and a terms
checkbox before get-quote is driven by ``[web].login`` and ``[web].steps``; without them
``QuotePage`` says which step the page needs (CannotArrange), never "0 firm quotes".
A page opened as an account already signed in gets ``[web].cookies`` and
``[web].local_storage`` (rendered with what the API login yields) before its first script.
The page app (tests/harness/partners/page_shapes.py) quotes at a real simulator; the
browser is Debian's chromium, as in the browser scenarios.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.checks.page_requests import BrowserLog
from conformance.checks.provider import Provider
from conformance.checks.quote_page import QuotePage
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.web_context import WebContext
from conformance.driver.actions import HttpActions
from conformance.driver.browser import origin_of, storage_script
from conformance.driver.manifest import Manifest, manifest_from_data, parse_text
from conformance.errors import CannotArrange
from conformance.redact import Redactor
from conformance.simulator import PartnerSpec, Simulator, SimulatorSettings

from .partners.page_shapes import PageServer, make_app

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference_partner" / "manifest.toml"
SELECTORS = {
    "amount": "#amount", "network": "#network", "address": "#dest-address",
    "get_quote": "#get-quote", "accept": "#accept", "status": "#status",
}
SIGN_IN = [
    {"action": "wait_for", "selector": "#login-form"},
    {"action": "fill", "selector": "#user", "value": "{account}"},
    {"action": "fill", "selector": "#password", "value": "pw-{account}"},
    {"action": "click", "selector": "#sign-in"},
    {"action": "wait_for", "selector": "#quote-form"},
]
EXTRA_FIELDS = [
    {"action": "fill", "selector": "#customer-name", "value": "Test {account}"},
    {"action": "select", "selector": "#pool", "value": "Euro to Tether"},  # by label
    {"action": "check", "selector": "#terms"},
    {"action": "check", "selector": "#terms"},  # idempotent: still checked
]
LOGIN_ACTION = {
    "method": "POST", "path": "/api/login",
    "body": {"account": "{account}", "password": "pw-{account}"},
    "yields": {"token": "/token"},
}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorSettings()) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def creds(sim: Simulator) -> Any:
    return sim.control.provision_partner(PartnerSpec(name="osprey-pages"))


@pytest.fixture(scope="module")
def server(sim: Simulator, creds: Any) -> Iterator[PageServer]:
    with PageServer(make_app(sim.api_url, creds.secret_key)) as running:
        yield running


def manifest(web: dict[str, Any], *, login: bool = False) -> Manifest:
    """The reference manifest with this page's [web] (and an API login); short timings."""
    data = copy.deepcopy(parse_text(REFERENCE.read_text()))
    data["provider"]["timeout_seconds"] = 0.5  # a short page bound: failures come quickly
    data["web"] = web
    if login:
        data["actions"]["login"] = LOGIN_ACTION
    return manifest_from_data(data, path=REFERENCE)


def context(
    m: Manifest, sim: Simulator, creds: Any, server: PageServer, tmp_path: Path
) -> WebContext:
    evidence = ScenarioRecorder("page_shapes", redactor=Redactor([creds.secret_key]))
    return WebContext(
        manifest=m,
        base_url=server.url,
        provider_url=sim.base_url,
        provider=Provider(sim.control, creds.partner_id, evidence),
        evidence=evidence,
        log=BrowserLog(),
        screenshot_dir=tmp_path / "screenshots",
        in_report_dir=False,
        report_dir=None,
        secrets={"secret_key": creds.secret_key, "webhook_secret": creds.webhook_secret},
        http=HttpActions(m, server.url, timeout_s=5.0),
    )


def shapes(*, login: list[dict[str, Any]], steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"quote_page": "/shapes", "selectors": SELECTORS, "login": login, "steps": steps}


async def test_login_and_steps_get_a_firm_quote(sim, creds, server, tmp_path) -> None:
    ctx = context(manifest(shapes(login=SIGN_IN, steps=EXTRA_FIELDS)), sim, creds, server,
                  tmp_path)
    async with QuotePage.open(ctx) as page:
        quote = await page.get_quote()
        assert await page.accept_state() == "enabled"
        assert await page.page.input_value("#customer-name") == f"Test {page.account}"
        assert await page.page.input_value("#pool") == "EUR-USDT"
        assert await page.page.input_value("#network") == "tron"  # by value
        assert await page.page.is_checked("#terms")
    assert sim.control.quote(quote.quote_id).partner_id == creds.partner_id
    steps = [f"{s.action} {s.detail}" for s in ctx.evidence.evidence().steps]
    assert any("[web].login[1] (fill '#user') '{account}'" in s for s in steps), steps
    assert any("[web].steps[1] (select '#pool')" in s and "by label" in s for s in steps), steps
    assert not any("sign the page's account in through the API" in s for s in steps)
    assert not any(f"pw-{page.account}" in s for s in steps), "filled values stay out"


async def test_a_reload_signs_in_again_only_when_the_page_asks(
    sim, creds, server, tmp_path
) -> None:
    ctx = context(manifest(shapes(login=SIGN_IN, steps=EXTRA_FIELDS)), sim, creds, server,
                  tmp_path)
    async with QuotePage.open(ctx) as page:
        await page.get_quote()
        await page.goto()  # the page kept its session: no login steps
        second = await page.get_quote()
        await page.page.evaluate("sessionStorage.clear()")
        await page.goto()  # signed out: the login form shows, the steps run again
        third = await page.get_quote()
    assert second.quote_id != third.quote_id
    actions = [s.action for s in ctx.evidence.evidence().steps]
    assert actions.count("browser: open the quote page") == 3
    assert actions.count("browser: [web].login[0] (wait_for '#login-form')") == 2, actions


async def test_without_steps_get_quote_is_cannot_arrange_naming_the_fields(
    sim, creds, server, tmp_path
) -> None:
    ctx = context(manifest(shapes(login=SIGN_IN, steps=[])), sim, creds, server, tmp_path)
    known = {q.id for q in sim.control.quotes(creds.partner_id)}
    async with QuotePage.open(ctx) as page:
        with pytest.raises(CannotArrange) as caught:
            await page.get_quote()
    message = str(caught.value)
    assert "get-quote control '#get-quote'" in message and "not enabled" in message, message
    assert "#customer-name" in message and "#terms" in message and "#pool" in message, message
    assert "[web].steps" in message, message
    assert "0 firm quotes" not in message
    assert {q.id for q in sim.control.quotes(creds.partner_id)} == known


async def test_without_login_the_form_is_cannot_arrange_pointing_at_login(
    sim, creds, server, tmp_path
) -> None:
    ctx = context(manifest(shapes(login=[], steps=EXTRA_FIELDS)), sim, creds, server, tmp_path)
    async with QuotePage.open(ctx) as page:
        with pytest.raises(CannotArrange) as caught:
            await page.get_quote()
    message = str(caught.value)
    assert "amount field '#amount'" in message and "not visible" in message, message
    assert "[web].login" in message, message


async def test_a_step_that_cannot_be_done_names_its_index_and_selector(
    sim, creds, server, tmp_path
) -> None:
    steps = [EXTRA_FIELDS[0], {"action": "check", "selector": "#no-such-box"}]
    ctx = context(manifest(shapes(login=SIGN_IN, steps=steps)), sim, creds, server, tmp_path)
    async with QuotePage.open(ctx) as page:
        with pytest.raises(CannotArrange) as caught:
            await page.get_quote()
    message = str(caught.value)
    assert message.startswith("[web].steps[1] (check '#no-such-box'): no element matches"), message


async def test_a_select_without_the_option_lists_the_options(
    sim, creds, server, tmp_path
) -> None:
    steps = [{"action": "select", "selector": "#pool", "value": "Yen to Tether"}]
    ctx = context(manifest(shapes(login=SIGN_IN, steps=steps)), sim, creds, server, tmp_path)
    async with QuotePage.open(ctx) as page:
        with pytest.raises(CannotArrange) as caught:
            await page.get_quote()
    message = str(caught.value)
    assert message.startswith("[web].steps[0] (select '#pool'): no option has"), message
    assert "EUR-USDT (Euro to Tether)" in message, message


async def test_cookies_and_local_storage_are_set_before_the_page_runs(
    sim, creds, server, tmp_path
) -> None:
    web = {
        "quote_page": "/seeded",
        "selectors": SELECTORS,
        "cookies": {"sid": "{token}"},
        "local_storage": {"auth": "{token}", "who": "{account}"},
    }
    ctx = context(manifest(web, login=True), sim, creds, server, tmp_path)
    async with QuotePage.open(ctx) as page:
        token = page.variables["token"]
        seen = await page.page.evaluate("window.SEEN")
        assert seen["auth"] == token  # read by the page's first script
        assert await page.page.evaluate("localStorage.getItem('who')") == page.account
        assert await page.status_text() == f"signed in as {page.account}"
        quote = await page.get_quote()
        assert sim.control.quote(quote.quote_id).partner_id == creds.partner_id
        # Only on the partner's origin: the provider's origin has no such entries.
        await page.page.goto(sim.base_url + "/v1/openapi.json")
        assert await page.page.evaluate("localStorage.getItem('auth')") is None
    # The page's own request carried [web].cookies and the API login's session cookie.
    first = server.app.state.seen_cookies[-1]
    assert first.get("sid") == token and first.get("session") == token, first
    steps = " ".join(f"{s.action} {s.detail}" for s in ctx.evidence.evidence().steps)
    assert "sign the page's account in through the API" in steps
    assert "set cookies before the page loads session, sid" in steps
    assert "set localStorage before the page's scripts run auth, who" in steps
    assert token not in steps, "a session token is not evidence"


async def test_without_the_seed_the_page_is_cannot_arrange(sim, creds, server, tmp_path) -> None:
    web = {"quote_page": "/seeded", "selectors": SELECTORS}
    ctx = context(manifest(web), sim, creds, server, tmp_path)
    with pytest.raises(CannotArrange, match="answered HTTP 401"):
        async with QuotePage.open(ctx):
            pass


def test_storage_script_is_scoped_to_the_origin() -> None:
    assert origin_of("http://127.0.0.1:8000/x?y") == "http://127.0.0.1:8000"
    assert origin_of("HTTPS://Example.COM:443/") == "https://example.com"
    script = storage_script("http://127.0.0.1:8000", {"a": "x\"</script>"})
    assert 'location.origin !== "http://127.0.0.1:8000"' in script
    assert '"a": "x\\"</script>"' in script
