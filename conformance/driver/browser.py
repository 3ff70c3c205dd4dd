"""A headless Debian chromium page driven by Playwright: page actions, responses, screenshots."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from conformance.driver.timings import READ_INTERVAL_S
from conformance.errors import BrowserUnavailable, PageActionFailed
from conformance.evidence import Screenshot
from conformance.redact import Redactor

CHROMIUM = os.environ.get("ZEROPOOLS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """The web origin of ``url`` as ``location.origin`` spells it (no default port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    return f"{scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS.get(scheme) else "")


def storage_script(origin: str, entries: Mapping[str, str]) -> str:
    """An init script that puts ``entries`` into localStorage on ``origin`` only."""
    return (
        "(() => { if (location.origin !== " + json.dumps(origin) + ") return;"
        " const entries = " + json.dumps(dict(entries)) + ";"
        " for (const [k, v] of Object.entries(entries)) window.localStorage.setItem(k, v); })();"
    )


# Which option of a <select> matches: by value first, else by label (what the user reads).
_MATCH_OPTION = """(e, v) => {
  if (e.tagName !== "SELECT") return "not a select";
  const all = Array.from(e.options);
  if (all.some(o => o.value === v)) return "value";
  if (all.some(o => o.label === v)) return "label";
  return "";
}"""
_OPTIONS = """e => Array.from(e.options || [])
  .map(o => o.value === o.label ? o.value : `${o.value} (${o.label})`)"""
# Form fields the browser itself says are invalid (a required field left empty, …).
_INVALID = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter(e => !e.disabled && e.willValidate && !e.checkValidity() && e.getClientRects().length)
  .slice(0, 5)
  .map(e => (e.id ? "#" + e.id
              : e.name ? `${e.tagName.toLowerCase()}[name="${e.name}"]`
              : e.tagName.toLowerCase()) + ` (${e.validationMessage || "invalid"})`)"""



async def perform(
    page: Any, action: str, selector: str, value: str | None, *, timeout_ms: float
) -> str:
    """Do one page action on ``selector``; returns how a select chose ("by value"/"by label").

    ``fill`` types ``value``; ``select`` chooses the option whose value is ``value``, or
    else whose label is; ``check`` checks a checkbox or radio (nothing if already checked);
    ``click`` clicks; ``wait_for`` waits until the element is visible. Each waits up to
    ``timeout_ms`` for the element to be there and actionable.
    """
    locator = page.locator(selector)
    try:
        if action == "fill":
            await locator.fill(value or "", timeout=timeout_ms)
        elif action == "select":
            return await _select(locator, value or "", timeout_ms=timeout_ms)
        elif action == "check":
            await locator.check(timeout=timeout_ms)
        elif action == "click":
            await locator.click(timeout=timeout_ms)
        elif action == "wait_for":
            await locator.wait_for(state="visible", timeout=timeout_ms)
        else:
            raise PageActionFailed(f"unknown page action {action!r}")
    except PageActionFailed:
        raise
    except Exception as exc:  # Playwright's own error types
        raise PageActionFailed(await _why(locator, exc, timeout_ms)) from None
    return ""


async def fill_field(page: Any, selector: str, value: str, *, timeout_ms: float) -> str:
    """Fill an input, or choose in a <select> (by value, else by label); returns how."""
    try:
        tag = await page.locator(selector).evaluate("e => e.tagName", timeout=timeout_ms)
    except Exception as exc:  # Playwright's own error types
        raise PageActionFailed(await _why(page.locator(selector), exc, timeout_ms)) from None
    action = "select" if str(tag).upper() == "SELECT" else "fill"
    return await perform(page, action, selector, value, timeout_ms=timeout_ms)


async def _select(locator: Any, value: str, *, timeout_ms: float) -> str:
    deadline = time.monotonic() + timeout_ms / 1000
    await locator.wait_for(state="attached", timeout=timeout_ms)
    while True:  # options may arrive later (loaded from the backend): wait for a match
        how = await locator.evaluate(_MATCH_OPTION, value, timeout=timeout_ms)
        if how == "not a select":
            raise PageActionFailed("is not a <select>")
        if how in ("value", "label"):
            left_ms = max(0.0, deadline - time.monotonic()) * 1000
            await locator.select_option(**{how: value}, timeout=max(left_ms, READ_INTERVAL_S))
            return f"by {how}"
        if time.monotonic() >= deadline:
            options = await locator.evaluate(_OPTIONS)
            raise PageActionFailed(
                f"no option has the value or label {value!r} within {timeout_ms / 1000:g} s "
                f"(options: {', '.join(map(str, options[:10])) or 'none'})"
            )
        await asyncio.sleep(READ_INTERVAL_S)


async def _why(locator: Any, exc: Exception, timeout_ms: float) -> str:
    """One line: no such element, or what Playwright last saw (not visible, not enabled, …)."""
    try:
        count = await locator.count()
    except Exception:  # the page went away
        count = -1
    if count == 0:
        return f"no element matches it within {timeout_ms / 1000:g} s"
    lines = [line.strip(" -") for line in str(exc).splitlines() if line.strip(" -")]
    head = lines[0] if lines else type(exc).__name__
    seen = [line for line in lines[1:] if line.startswith("element is")]
    return head + (f" ({seen[-1]})" if seen else "")


async def invalid_fields(page: Any) -> list[str]:
    """Visible form fields the browser reports invalid, e.g. ``#name (Please fill out …)``."""
    try:
        found = await page.evaluate(_INVALID)
    except Exception:  # navigating, or the page is gone
        return []
    return [str(item) for item in found]


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserResponse:
    """A response the page received, kept for the client artefact scan."""

    url: str
    status: int
    content_type: str
    body: bytes


class BrowserSession:
    """One browser, one page; responses kept for the client scan (if asked), screenshots."""

    def __init__(
        self,
        *,
        redactor: Redactor,
        screenshot_dir: Path,
        keep_bodies: bool = False,
        timeout_ms: float = 10_000,
    ) -> None:
        self._redactor = redactor
        self._screenshot_dir = screenshot_dir
        self._keep_bodies = keep_bodies
        self._timeout_ms = timeout_ms
        self._responses: list[BrowserResponse] = []
        self._playwright: Any = None
        self._browser: Any = None
        self.context: Any = None
        self.page: Any = None

    async def __aenter__(self) -> BrowserSession:
        if not Path(CHROMIUM).exists():
            raise BrowserUnavailable(
                f"no chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)"
            )
        from playwright.async_api import async_playwright

        try:
            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
            )
            self.context = await self._browser.new_context()
            self.page = await self.context.new_page()
        except Exception as exc:  # Playwright raises its own Error types
            await self._close()
            raise BrowserUnavailable(f"could not launch headless chromium: {exc}") from exc
        self.page.set_default_timeout(self._timeout_ms)
        if self._keep_bodies:
            self.page.on("response", self._on_response)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    async def _on_response(self, response: Any) -> None:
        try:
            body = await response.body()
        except Exception:  # redirects and aborted loads have no body
            return
        self._responses.append(
            BrowserResponse(
                url=response.url,
                status=response.status,
                content_type=response.headers.get("content-type", ""),
                body=body,
            )
        )

    async def add_cookies(self, url: str, cookies: Mapping[str, str]) -> None:
        """Set cookies for ``url``'s site before a page of it loads."""
        if cookies:
            await self.context.add_cookies(
                [{"name": name, "value": value, "url": url} for name, value in cookies.items()]
            )

    async def add_local_storage(self, url: str, entries: Mapping[str, str]) -> None:
        """Put entries into localStorage on ``url``'s origin before any of its scripts run."""
        if entries:
            await self.context.add_init_script(script=storage_script(origin_of(url), entries))

    @property
    def responses(self) -> tuple[BrowserResponse, ...]:
        return tuple(self._responses)

    async def screenshot(self, name: str, caption: str = "") -> Screenshot:
        """Save a full-page PNG under the screenshot dir; the path is relative to its parent."""
        self._screenshot_dir.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        path = self._screenshot_dir / f"{safe}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        shot = Screenshot(
            name=name,
            path=f"{self._screenshot_dir.name}/{path.name}",
            caption=self._redactor.text(caption),
        )
        return shot
