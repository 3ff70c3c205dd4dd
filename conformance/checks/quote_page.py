"""The partner's quote page in one headless browser: open it as an account, quote, click Accept.

Every browser scenario drives the page through :class:`QuotePage` (one headless chromium per
scenario, from :mod:`conformance.driver.browser`); the requests it makes are kept as
:class:`~conformance.checks.page_requests.PageRequest` records. The page is read only through
the manifest's ``[web]`` section: its selectors, the cookies and localStorage that open it as
the page's account, its ``login`` steps (run once the page has loaded) and ``steps`` (run
after amount, network and address, before get-quote). Every wait on the partner is a
:class:`~conformance.driver.timings.Timings` bound; the money is judged on the provider's
journal.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance.checks.page_requests import SAFE_METHODS, PageRequest
from conformance.checks.waits import until
from conformance.checks.web_context import WebContext
from conformance.driver.actions import render
from conformance.driver.browser import BrowserSession, fill_field, invalid_fields, perform
from conformance.driver.driver import new_account, template_variables
from conformance.driver.manifest import PageStep, placeholders_in
from conformance.errors import CannotArrange, ManifestError, PageActionFailed
from conformance.redact import Redactor

# A forced click on a control that is on the page happens at once or not at all: the harness's
# own bound, not a wait on the partner.
FORCED_CLICK_MS = 2000
# What a page that cannot be driven past a step should declare.
PAGE_HINT = (
    "a page that needs a sign-in or more than amount, network and address before quoting "
    "declares it in [web].login, [web].cookies / local_storage or [web].steps"
)
_SHOT_COUNTER = itertools.count(1)


def step_label(part: str, index: int, step: PageStep) -> str:
    """How a manifest page step is named in evidence and errors: ``[web].steps[2] (check '#t')``."""
    return f"[web].{part}[{index}] ({step.action} {step.selector!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class PageQuote:
    """The firm quote the page obtained, as the provider issued it."""

    quote_id: str
    expires_at: datetime


class QuotePage:
    """The partner's quote page in one headless browser: get a quote, read and click Accept.

    The page belongs to one fresh account (``account``); ``variables`` fill the manifest's
    ``[web]`` templates for it, login yields included once it is signed in.
    """

    def __init__(
        self, ctx: WebContext, session: BrowserSession, *, account: str | None = None
    ) -> None:
        self.ctx = ctx
        self.session = session
        self.page: Any = session.page
        self.timings = ctx.timings
        self.account = account or new_account("web")
        self.variables = template_variables(
            ctx.manifest, account=self.account, amount=ctx.provider.ordinary_amount()
        )
        self._api_cookies: dict[str, str] = {}
        self._seeded = False
        self._loads = 0
        self._requests: list[PageRequest] = []
        self._in_flight: set[Any] = set()
        self._last_action = 0.0
        self._started = time.monotonic()
        self._finders = {label: Redactor([value]) for label, value in ctx.secrets.items()}
        self._redactor = ctx.evidence.redactor

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        ctx: WebContext,
        *,
        clock: bool = False,
        keep_bodies: bool = False,
        account: str | None = None,
    ) -> AsyncIterator[QuotePage]:
        """Launch chromium, load the quote page as a fresh account (or ``account``), signed in.

        Playwright's clock is installed first if asked.
        """
        session = BrowserSession(
            redactor=ctx.evidence.redactor, screenshot_dir=ctx.screenshot_dir,
            keep_bodies=keep_bodies, timeout_ms=ctx.timings.page_s * 1000,
        )
        async with session:
            page = cls(ctx, session, account=account)
            page.page.on("request", page._on_request)
            page.page.on("requestfinished", page._on_done)
            page.page.on("requestfailed", page._on_done)
            try:
                if clock:
                    await page.page.clock.install()
                await page.goto()
                yield page
            finally:
                ctx.log.extend(page.requests)

    # -- requests ---------------------------------------------------------------------------
    def _on_request(self, request: Any) -> None:
        headers = " ".join(f"{k}: {v}" for k, v in request.headers.items())
        text = f"{request.url} {headers} {request.post_data or ''}"
        carries = tuple(label for label, f in self._finders.items() if f.contains_secret(text))
        record = PageRequest(
            scenario_id=self.ctx.evidence.scenario_id,
            seq=len(self._requests),
            at_s=round(time.monotonic() - self._started, 3),
            method=request.method,
            url=self._redactor.text(request.url)[:500],
            resource_type=request.resource_type,
            carries=carries,
        )
        self._requests.append(record)
        self._in_flight.add(request)
        if record.is_action:
            self._last_action = time.monotonic()

    def _on_done(self, request: Any) -> None:
        self._in_flight.discard(request)
        if request.method.upper() not in SAFE_METHODS:
            self._last_action = time.monotonic()

    @property
    def requests(self) -> tuple[PageRequest, ...]:
        return tuple(self._requests)

    def mark(self) -> int:
        """The position in this page's request list now; later reads see what came after."""
        return len(self._requests)

    def actions_since(self, mark: int) -> tuple[PageRequest, ...]:
        return tuple(r for r in self._requests[mark:] if r.is_action)

    def actions_to_partner(self, mark: int) -> tuple[PageRequest, ...]:
        """State-changing requests since ``mark`` to the partner's backend (not the provider)."""
        return tuple(r for r in self.actions_since(mark) if not self.ctx.touches_provider(r.url))

    async def settle(self, *, bound_s: float | None = None, quiet_s: float | None = None) -> bool:
        """Wait until no state-changing request is in flight and none started for ``quiet_s``.

        By default quiet means the partner's declared quiet time, within one page bound.
        """
        quiet_for = self.timings.quiet_s if quiet_s is None else quiet_s
        bound = self.timings.page_s + quiet_for if bound_s is None else bound_s

        def quiet() -> bool:
            busy = any(r.method.upper() not in SAFE_METHODS for r in self._in_flight)
            return not busy and time.monotonic() - self._last_action >= quiet_for

        return await until(quiet, bound_s=bound, interval_s=self.timings.read_interval_s)

    # -- the page ---------------------------------------------------------------------------
    @property
    def _timeout_ms(self) -> float:
        """A page step that waits on the partner's backend (options, a quote, a sign-in)."""
        return self.timings.page_s * 1000

    def _selector(self, name: str) -> str:
        selector = self.ctx.web.selectors.get(name)
        if selector is None:
            raise CannotArrange(f"the manifest's [web.selectors] has no {name!r}")
        return selector

    def locator(self, name: str) -> Any:
        return self.page.locator(self._selector(name))

    def _render(self, template: str, where: str, *, quote: bool = False) -> str:
        try:
            return render(template, self.variables, quote_values=quote)
        except ManifestError as exc:
            raise ManifestError(str(exc), field=where) from None

    def _needs_api_login(self) -> bool:
        """Sign in through the API when [web] templates use its yields, or no page login runs."""
        manifest, web = self.ctx.manifest, self.ctx.web
        if self.ctx.http is None or manifest.action("login") is None:
            return False
        used = (
            placeholders_in(web.quote_page)
            | placeholders_in(dict(web.cookies))
            | placeholders_in(dict(web.local_storage))
            | placeholders_in([s.value or "" for s in (*web.login, *web.steps)])
        )
        return bool(used & manifest.login_yields) or not web.login

    async def sign_in_through_api(self) -> None:
        """Sign the page's account in through [actions.login] (once): its yields, its cookies."""
        http = self.ctx.http
        if http is None or not self._needs_api_login():
            return
        account = self.account

        def sign_in() -> tuple[dict[str, str], dict[str, str]]:
            return http.session_values(account), http.session_cookies(account)

        values, cookies = await asyncio.to_thread(sign_in)
        self.variables.update(values)
        # A page that signs in itself ([web].login) starts signed out: no API cookies for it.
        self._api_cookies = {} if self.ctx.web.login else cookies
        self.ctx.evidence.step(
            "browser: sign the page's account in through the API",
            f"{account}: yields {', '.join(sorted(values)) or 'nothing'}; "
            f"cookies {', '.join(sorted(cookies)) or 'none'}",
        )

    async def seed_origin(self) -> None:
        """Set [web].cookies and [web].local_storage on the partner's origin before it loads."""
        if self._seeded:
            return
        self._seeded = True
        web, base_url = self.ctx.web, self.ctx.base_url
        cookies = dict(self._api_cookies)
        cookies.update({k: self._render(v, f"/web/cookies/{k}") for k, v in web.cookies.items()})
        storage = {
            k: self._render(v, f"/web/local_storage/{k}") for k, v in web.local_storage.items()
        }
        try:
            await self.session.add_cookies(base_url, cookies)
        except Exception as exc:  # Playwright's own error types
            raise CannotArrange(
                f"[web].cookies ({', '.join(sorted(cookies))}) could not be set for {base_url}: "
                f"{_first_line(exc)}"
            ) from None
        await self.session.add_local_storage(base_url, storage)
        if cookies:
            self.ctx.evidence.step(
                "browser: set cookies before the page loads", ", ".join(sorted(cookies))
            )
        if storage:
            self.ctx.evidence.step(
                "browser: set localStorage before the page's scripts run",
                ", ".join(sorted(storage)),
            )

    async def goto(self) -> None:
        """Open the quote page as the page's account, then run the [web].login steps."""
        await self.sign_in_through_api()
        await self.seed_origin()
        path = self._render(self.ctx.web.quote_page, "/web/quote_page", quote=True)
        url = self.ctx.base_url.rstrip("/") + "/" + path.lstrip("/")
        try:
            response = await self.page.goto(url, wait_until="load", timeout=self._timeout_ms)
        except Exception as exc:  # Playwright's own error types
            raise CannotArrange(f"the quote page {path} did not load: {exc}") from None
        if response is not None and response.status >= 400:
            raise CannotArrange(f"the quote page {path} answered HTTP {response.status}")
        self.ctx.evidence.step("browser: open the quote page", f"{path} as {self.account}")
        if await self._signed_out():
            await self.run_steps("login", self.ctx.web.login)
        self._loads += 1

    async def _signed_out(self) -> bool:
        """Whether [web].login must run: on the first load; later, if the page asks again.

        A reload in the same browser keeps the session the page made itself, so a later load
        runs the login steps only when the page, once its start-up requests are done, shows
        their first element rather than the amount field.
        """
        login = self.ctx.web.login
        if not login or self._loads == 0:
            return bool(login)
        first, amount = self.page.locator(login[0].selector), self.locator("amount")
        try:
            shown = first.or_(amount).filter(visible=True).first
            await shown.wait_for(state="visible", timeout=self._timeout_ms)
            if await amount.first.is_visible():
                return False
            # A page may show its sign-in form while it restores its session: let it finish.
            await self.page.wait_for_load_state("networkidle", timeout=self._timeout_ms)
        except Exception:  # neither shows, or never idle: decide on what shows now
            pass
        return not await amount.first.is_visible()

    async def run_steps(self, part: str, steps: tuple[PageStep, ...]) -> None:
        """Run manifest page steps in order; one that cannot be done names itself."""
        for index, step in enumerate(steps):
            label = step_label(part, index, step)
            value = None
            if step.value is not None:
                value = self._render(step.value, f"/web/{part}/{index}/value")
            try:
                how = await perform(
                    self.page, step.action, step.selector, value, timeout_ms=self._timeout_ms
                )
            except PageActionFailed as exc:
                raise CannotArrange(f"{label}: {exc}") from None
            # The template, not the value: a filled password or token stays out of the evidence.
            shown = f"{step.value!r}" if step.value is not None else ""
            self.ctx.evidence.step(f"browser: {label}", " ".join(filter(None, (shown, how))))

    async def _fill(self, name: str, value: str) -> None:
        selector = self._selector(name)
        try:
            await fill_field(self.page, selector, value, timeout_ms=self._timeout_ms)
        except PageActionFailed as exc:
            raise CannotArrange(
                f"could not fill the quote form's {name} field {selector!r}: {exc}; {PAGE_HINT}"
            ) from None

    async def blocked_hint(self) -> str:
        """What the page shows that may explain a quote that did not happen."""
        parts = []
        invalid = await invalid_fields(self.page)
        if invalid:
            parts.append(f"the page reports invalid fields: {', '.join(invalid)}")
        status = await self.status_text() if "status" in self.ctx.web.selectors else ""
        if status:
            parts.append(f"status shows {status!r}")
        parts.append(PAGE_HINT)
        return "; ".join(parts)

    async def fill_form(self) -> None:
        """What a user does before asking for a quote: amount, network, address, [web].steps."""
        await self._fill("amount", self.variables["amount"])
        if "network" in self.ctx.web.selectors:
            await self._fill("network", self.variables["network"])
        if "address" in self.ctx.web.selectors:
            await self._fill("address", self.variables["dest_address"])
        await self.run_steps("steps", self.ctx.web.steps)

    async def click_get_quote(self, detail: str = "one click on get-quote") -> None:
        """Click get-quote once, as a user does (no waiting for what it leads to)."""
        get_quote = self._selector("get_quote")
        try:
            await perform(self.page, "click", get_quote, None, timeout_ms=self._timeout_ms)
        except PageActionFailed as exc:
            raise CannotArrange(
                f"could not click the get-quote control {get_quote!r}: {exc}; "
                + await self.blocked_hint()
            ) from None
        self.ctx.evidence.step("browser: ask for a quote", detail)

    async def idle(self) -> bool:
        """Wait (one page bound) until the page's own requests are done, reads included."""
        try:
            await self.page.wait_for_load_state("networkidle", timeout=self._timeout_ms)
        except Exception:  # never idle within the bound: the caller decides on what shows
            return False
        return True

    async def options(self, name: str) -> tuple[str, ...] | None:
        """The values a ``<select>`` control offers (enabled, non-empty); None if not a select."""
        control = self.locator(name).first
        tag = await control.evaluate("e => e.tagName", timeout=self._timeout_ms)
        if str(tag).upper() != "SELECT":
            return None
        values: list[str] = await control.evaluate(
            "e => Array.from(e.options).filter(o => !o.disabled && o.value.trim() !== '')"
            ".map(o => o.value.trim())"
        )
        return tuple(values)

    async def page_text(self) -> str:
        """Everything the page shows as text (redacted), for checks on its wording."""
        text: str = await self.page.locator("body").inner_text()
        return self._redactor.text(" ".join(text.split()))

    async def get_quote(self, *, ttl_s: float | None = None) -> PageQuote:
        """Fill the quote form, run [web].steps, ask for a quote, wait for an enabled Accept."""
        provider = self.ctx.provider
        amount, network = self.variables["amount"], self.variables["network"]
        await self.fill_form()
        if ttl_s is not None:
            provider.short_ttl(ttl_s)
        known = {q.id for q in provider.quotes()}
        await self.click_get_quote(f"amount {amount} on {network}")
        bound = self.timings.page_s
        shown = await until(
            lambda: bool({q.id for q in provider.quotes()} - known),
            bound_s=bound,
            interval_s=self.timings.read_interval_s,
        )
        created = [q for q in provider.quotes() if q.id not in known]
        if not shown or len(created) != 1:
            raise CannotArrange(
                f"the page's get-quote made {len(created)} firm quotes at the provider "
                f"(expected 1) within {bound:g} s; " + await self.blocked_hint()
            )
        quote = created[0]
        deadline = time.monotonic() + bound
        while await self.accept_state() != "enabled":
            if time.monotonic() >= deadline:
                raise CannotArrange(
                    f"the Accept control never became enabled for quote {quote.id} within "
                    f"{bound:g} s (status shows {await self.status_text()!r})"
                )
            await asyncio.sleep(self.timings.read_interval_s)
        self.ctx.evidence.ids(quote_id=quote.id)
        self.ctx.evidence.step(
            "browser: quote shown", f"{quote.id}, expires {quote.expires_at.isoformat()}"
        )
        return PageQuote(quote_id=quote.id, expires_at=quote.expires_at)

    async def accept_state(self) -> str:
        """``enabled``, ``disabled`` (disabled or aria-disabled) or ``gone`` (absent, hidden)."""
        return await self.control_state("accept")

    async def control_state(self, name: str) -> str:
        """The state of the ``[web.selectors]`` control ``name``: enabled, disabled or gone."""
        control = self.locator(name)
        if await control.count() == 0:
            return "gone"
        first = control.first
        if not await first.is_visible():
            return "gone"
        if await first.is_disabled() or await first.get_attribute("aria-disabled") == "true":
            return "disabled"
        return "enabled"

    async def status_text(self) -> str:
        status = self.locator("status")
        if await status.count() == 0:
            return ""
        text: str = await status.first.inner_text()
        return self._redactor.text(" ".join(text.split()))[:200]

    async def run_clock_past(self, instant: datetime, *, margin_s: float = 1.0) -> float:
        """Run the page's timers (Playwright's clock) until just past ``instant``; no waiting."""
        page_now_ms = float(await self.page.evaluate("Date.now()"))
        delta_ms = max(0.0, instant.timestamp() * 1000 + margin_s * 1000 - page_now_ms)
        await self.page.clock.run_for(int(delta_ms))
        self.ctx.evidence.step(
            "browser: page clock run past expiresAt", f"+{delta_ms / 1000:.1f} s of page time"
        )
        return delta_ms

    async def click_accept(self) -> None:
        await self.locator("accept").first.click(timeout=self._timeout_ms)
        self.ctx.evidence.step("browser: click Accept")

    async def force_click_accept(self) -> list[str]:
        """Click Accept however it looks (force) and dispatch a click event; say what happened."""
        done: list[str] = []
        accept = self.locator("accept")
        if await accept.count() == 0:
            self.ctx.evidence.step("browser: forced click", "no Accept control on the page")
            return done
        for how in ("forced click", "dispatched click event"):
            try:
                if how == "forced click":
                    await accept.first.click(force=True, timeout=FORCED_CLICK_MS)
                else:
                    await accept.first.dispatch_event("click", timeout=FORCED_CLICK_MS)
                done.append(how)
            except Exception as exc:  # detached or without a box: nothing a user could click
                self.ctx.evidence.step(f"browser: {how} not possible", str(exc).splitlines()[0])
        self.ctx.evidence.step("browser: forced clicks on Accept", ", ".join(done) or "none")
        return done

    async def double_click_accept(self) -> None:
        await self.locator("accept").first.dblclick(timeout=self._timeout_ms)
        self.ctx.evidence.step("browser: double click Accept")

    async def burst_click_accept(self, clicks: int) -> int:
        """Rapid mouse clicks on where Accept is, as an impatient user would; returns the count."""
        box = await self.locator("accept").first.bounding_box()
        if box is None:
            raise CannotArrange("the Accept control has no box on the page to click")
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for _ in range(clicks):
            await self.page.mouse.click(x, y)
        self.ctx.evidence.step("browser: rapid clicks on Accept", f"{clicks} clicks")
        return clicks

    async def screenshot(self, name: str, caption: str) -> None:
        """A full-page screenshot into the evidence (a relative path inside the report dir)."""
        label = f"{self.ctx.evidence.scenario_id}-{next(_SHOT_COUNTER):03d}-{name}"
        shot = await self.session.screenshot(label, caption)
        if not self.ctx.in_report_dir:
            absolute = (self.ctx.screenshot_dir / Path(shot.path).name).resolve()
            shot = replace(shot, path=str(absolute))
        self.ctx.evidence.screenshot(shot)
        self.ctx.evidence.step(f"browser: screenshot {name}", caption)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
