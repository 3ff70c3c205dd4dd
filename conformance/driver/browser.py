"""A headless Debian chromium page driven by Playwright, recording every request it makes."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from conformance.errors import BrowserUnavailable
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


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserRequest:
    """One request the page made, redacted: the evidence for "the browser never calls X"."""

    at_s: float
    method: str
    url: str
    resource_type: str
    post_data: str
    carries_secret: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserResponse:
    """A response the page received, kept for the client artefact scan."""

    url: str
    status: int
    content_type: str
    body: bytes


class BrowserSession:
    """One browser, one page; every request and response recorded, redacted by value."""

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
        self._started = time.monotonic()
        self._requests: list[BrowserRequest] = []
        self._responses: list[BrowserResponse] = []
        self._screenshots: list[Screenshot] = []
        self._playwright: Any = None
        self._browser: Any = None
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
            context = await self._browser.new_context()
            self.page = await context.new_page()
        except Exception as exc:  # Playwright raises its own Error types
            await self._close()
            raise BrowserUnavailable(f"could not launch headless chromium: {exc}") from exc
        self.page.set_default_timeout(self._timeout_ms)
        self.page.on("request", self._on_request)
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

    def _on_request(self, request: Any) -> None:
        post = request.post_data or ""
        headers = " ".join(f"{k}: {v}" for k, v in request.headers.items())
        carries = self._redactor.contains_secret(f"{request.url} {headers} {post}")
        self._requests.append(
            BrowserRequest(
                at_s=round(time.monotonic() - self._started, 3),
                method=request.method,
                url=self._redactor.text(request.url),
                resource_type=request.resource_type,
                post_data=self._redactor.text(post[:2000]),
                carries_secret=carries,
            )
        )

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

    @property
    def requests(self) -> tuple[BrowserRequest, ...]:
        return tuple(self._requests)

    @property
    def responses(self) -> tuple[BrowserResponse, ...]:
        return tuple(self._responses)

    @property
    def screenshots(self) -> tuple[Screenshot, ...]:
        return tuple(self._screenshots)

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
        self._screenshots.append(shot)
        return shot
