"""Shared browser steps: open the partner's quote page with a fresh quote, click, log requests.

Every browser scenario drives the page through :class:`QuotePage` (one headless chromium per
scenario, from :mod:`conformance.driver.browser`), and every request the page makes is kept
in the session's :class:`BrowserLog`, which ``secrets.browser_no_provider_calls`` judges.
The page is read only through the manifest's ``[web]`` selectors; the money is judged on
the provider's journal.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.checks.provider import Provider
from conformance.checks.steps import AMOUNT, CannotArrange
from conformance.driver.browser import BrowserSession
from conformance.driver.driver import dest_address, new_account
from conformance.driver.manifest import Manifest, WebSpec
from conformance.driver.recorder import EvidenceRecorder, PartnerFindings
from conformance.errors import PartnerUnreachable
from conformance.findings import Severity
from conformance.redact import Redactor

# Methods that do not change anything: a page may send these freely.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
QUOTE_BOUND_S = 10.0
TABLE_LIMIT = 100
_SHOT_COUNTER = itertools.count(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PageRequest:
    """One request a page made in a browser scenario, redacted, with the secrets it carried."""

    scenario_id: str
    seq: int
    at_s: float
    method: str
    url: str
    resource_type: str
    # Labels of the run's server secrets found in its URL, headers or body ("secret_key").
    carries: tuple[str, ...] = ()

    @property
    def is_action(self) -> bool:
        """A request that can change state (an accept, a transact), not a read."""
        return self.method.upper() not in SAFE_METHODS

    def row(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario_id, "at_s": self.at_s, "method": self.method,
            "url": self.url, "type": self.resource_type, "carries": ", ".join(self.carries),
        }


class BrowserLog:
    """Every request every browser scenario of the session made (one per pytest session)."""

    def __init__(self) -> None:
        self._requests: list[PageRequest] = []

    def extend(self, requests: tuple[PageRequest, ...]) -> None:
        self._requests.extend(requests)

    @property
    def requests(self) -> tuple[PageRequest, ...]:
        return tuple(self._requests)

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.scenario_id for r in self._requests))


@dataclass(frozen=True, slots=True, kw_only=True)
class WebContext:
    """What a browser scenario needs: the page spec, the partner, the provider, where to write."""

    manifest: Manifest
    base_url: str
    provider_url: str
    provider: Provider
    evidence: EvidenceRecorder
    log: BrowserLog
    screenshot_dir: Path
    # True when screenshots are written inside the report directory (paths stay relative).
    in_report_dir: bool
    report_dir: Path | None
    # The run's server secrets by label; never printed, only searched for.
    secrets: Mapping[str, str]

    @property
    def web(self) -> WebSpec:
        if self.manifest.web is None:
            raise CannotArrange("the manifest declares no [web] section")
        return self.manifest.web

    def touches_provider(self, url: str) -> bool:
        """A URL on the simulated provider's host and port."""
        target, provider = urlsplit(url), urlsplit(self.provider_url)
        if target.netloc == provider.netloc:
            return True
        return (
            target.port == provider.port
            and (target.hostname or "") in LOOPBACK
            and (provider.hostname or "") in LOOPBACK
        )


def web_context(request: Any, *, need_web: bool = True) -> WebContext:
    """Build the context from the session's fixtures; skip (not applicable) without [web].

    Called from the plugin's ``web`` fixture: the skip comes before the partner is started.
    """
    import pytest

    manifest: Manifest = request.getfixturevalue("conformance_manifest")
    if need_web and manifest.web is None:
        pytest.skip("browser scenario: the manifest declares no [web] pages")
    if manifest.web is None and manifest.artefacts is None:
        pytest.skip("the manifest declares neither [web] pages nor [artefacts] to scan")
    partner = request.getfixturevalue("partner")
    dead = partner.process.exit_reason()
    if dead:
        raise PartnerUnreachable(
            f"the partner is not running ({dead}); log tail:\n" + partner.process.log_tail(20)
        )
    simulator = request.getfixturevalue("simulator")
    report_dir: Path | None = request.getfixturevalue("conformance_out_dir")
    if report_dir is not None:
        screenshot_dir, inside = report_dir / "screenshots", True
    else:
        screenshot_dir = request.getfixturevalue("tmp_path") / "screenshots"
        inside = False
    issued = simulator.control.partner(partner.partner_id)
    return WebContext(
        manifest=manifest,
        base_url=partner.process.base_url,
        provider_url=simulator.base_url,
        provider=request.getfixturevalue("provider"),
        evidence=request.getfixturevalue("evidence"),
        log=request.getfixturevalue("browser_log"),
        screenshot_dir=screenshot_dir,
        in_report_dir=inside,
        report_dir=report_dir,
        secrets={"secret_key": issued.secret_key, "webhook_secret": issued.webhook_secret},
    )


async def until(predicate: Callable[[], bool], *, bound_s: float, interval_s: float = 0.1) -> bool:
    """Poll an observable condition without blocking the browser's event loop."""
    deadline = time.monotonic() + bound_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class PageQuote:
    """The firm quote the page obtained, as the provider issued it."""

    quote_id: str
    expires_at: datetime


class QuotePage:
    """The partner's quote page in one headless browser: get a quote, read and click Accept."""

    def __init__(self, ctx: WebContext, session: BrowserSession) -> None:
        self.ctx = ctx
        self.session = session
        self.page: Any = session.page
        self._requests: list[PageRequest] = []
        self._in_flight: set[Any] = set()
        self._last_action = 0.0
        self._started = time.monotonic()
        self._finders = {label: Redactor([value]) for label, value in ctx.secrets.items()}
        self._redactor = ctx.evidence.redactor

    @classmethod
    @asynccontextmanager
    async def open(
        cls, ctx: WebContext, *, clock: bool = False, keep_bodies: bool = False
    ) -> AsyncIterator[QuotePage]:
        """Launch chromium, load the quote page (with Playwright's clock installed if asked)."""
        session = BrowserSession(
            redactor=ctx.evidence.redactor, screenshot_dir=ctx.screenshot_dir,
            keep_bodies=keep_bodies,
        )
        async with session:
            page = cls(ctx, session)
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

    async def settle(self, *, bound_s: float = 5.0, quiet_s: float = 1.0) -> bool:
        """Wait until no state-changing request is in flight and none started for ``quiet_s``."""

        def quiet() -> bool:
            busy = any(r.method.upper() not in SAFE_METHODS for r in self._in_flight)
            return not busy and time.monotonic() - self._last_action >= quiet_s

        return await until(quiet, bound_s=bound_s)

    # -- the page ---------------------------------------------------------------------------
    def locator(self, name: str) -> Any:
        selector = self.ctx.web.selectors.get(name)
        if selector is None:
            raise CannotArrange(f"the manifest's [web.selectors] has no {name!r}")
        return self.page.locator(selector)

    async def goto(self) -> None:
        path = self.ctx.web.quote_page.replace("{account}", new_account("web"))
        url = self.ctx.base_url.rstrip("/") + "/" + path.lstrip("/")
        try:
            response = await self.page.goto(url, wait_until="load")
        except Exception as exc:  # Playwright's own error types
            raise CannotArrange(f"the quote page {path} did not load: {exc}") from None
        if response is not None and response.status >= 400:
            raise CannotArrange(f"the quote page {path} answered HTTP {response.status}")
        self.ctx.evidence.step("browser: open the quote page", path)

    async def get_quote(self, *, ttl_s: float | None = None) -> PageQuote:
        """Fill the quote form, ask for a quote, and wait for an enabled Accept control."""
        selectors = self.ctx.web.selectors
        provider = self.ctx.provider
        network = self.ctx.manifest.provider.network
        try:
            await self.locator("amount").fill(AMOUNT)
            if "network" in selectors:
                field = self.locator("network")
                if (await field.evaluate("e => e.tagName")).upper() == "SELECT":
                    await field.select_option(network, timeout=5000)
                else:
                    await field.fill(network)
            if "address" in selectors:
                await self.locator("address").fill(dest_address(network))
        except CannotArrange:
            raise
        except Exception as exc:
            raise CannotArrange(f"could not fill the quote form: {exc}") from None
        if ttl_s is not None:
            provider.short_ttl(ttl_s)
        known = {q.id for q in provider.quotes()}
        try:
            await self.locator("get_quote").click(timeout=5000)
        except Exception as exc:
            raise CannotArrange(f"could not click the get-quote control: {exc}") from None
        self.ctx.evidence.step("browser: ask for a quote", f"amount {AMOUNT} on {network}")
        shown = await until(
            lambda: bool({q.id for q in provider.quotes()} - known), bound_s=QUOTE_BOUND_S
        )
        created = [q for q in provider.quotes() if q.id not in known]
        if not shown or len(created) != 1:
            raise CannotArrange(
                f"the page's get-quote made {len(created)} firm quotes at the provider "
                f"(expected 1) within {QUOTE_BOUND_S:g} s"
            )
        quote = created[0]
        deadline = time.monotonic() + QUOTE_BOUND_S
        while await self.accept_state() != "enabled":
            if time.monotonic() >= deadline:
                raise CannotArrange(
                    f"the Accept control never became enabled for quote {quote.id} "
                    f"(status shows {await self.status_text()!r})"
                )
            await asyncio.sleep(0.1)
        self.ctx.evidence.ids(quote_id=quote.id)
        self.ctx.evidence.step(
            "browser: quote shown", f"{quote.id}, expires {quote.expires_at.isoformat()}"
        )
        return PageQuote(quote_id=quote.id, expires_at=quote.expires_at)

    async def accept_state(self) -> str:
        """``enabled``, ``disabled`` (disabled or aria-disabled) or ``gone`` (absent, hidden)."""
        accept = self.locator("accept")
        if await accept.count() == 0:
            return "gone"
        first = accept.first
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
        await self.locator("accept").first.click(timeout=5000)
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
                    await accept.first.click(force=True, timeout=2000)
                else:
                    await accept.first.dispatch_event("click", timeout=2000)
                done.append(how)
            except Exception as exc:  # detached or without a box: nothing a user could click
                self.ctx.evidence.step(f"browser: {how} not possible", str(exc).splitlines()[0])
        self.ctx.evidence.step("browser: forced clicks on Accept", ", ".join(done) or "none")
        return done

    async def double_click_accept(self) -> None:
        await self.locator("accept").first.dblclick(timeout=5000)
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


def record_requests(
    evidence: EvidenceRecorder, name: str, requests: tuple[PageRequest, ...]
) -> None:
    """Keep a (bounded) table of page requests in the evidence."""
    evidence.table(name, [r.row() for r in requests[:TABLE_LIMIT]])


def decide_blocking(evidence: EvidenceRecorder) -> None:
    """Fail only on blocking findings; advisory ones stay in a passing scenario's evidence."""
    findings = evidence.findings
    if any(f.severity is Severity.BLOCKER for f in findings):
        raise PartnerFindings(findings)
