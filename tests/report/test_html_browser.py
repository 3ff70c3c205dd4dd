"""report.html as a reviewer sees it: opened offline in headless chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from report_runs import result, rich_evidence, run

from conformance.report import write_report
from conformance.results import Status

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium")


async def test_the_report_reads_verdict_first_offline_with_its_screenshots(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    out = tmp_path / "out"
    ev = rich_evidence(out)
    write_report(run([result("expiry.ui_disabled", Status.FAIL, reason="accept still enabled",
                             evidence=ev)]), out)
    requests: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("request", lambda request: requests.append(request.url))
            await page.goto((out / "report.html").resolve().as_uri())
            banner = page.locator("header.banner")
            assert await banner.is_visible()
            box = await banner.bounding_box()
            assert box is not None and box["y"] < 100
            assert "BLOCKED" in await banner.inner_text()
            # The failing scenario is open, and its screenshot decoded as an image.
            details = page.locator("#s-expiry-ui-disabled")
            assert await details.get_attribute("open") is not None
            width = await details.locator("img").first.evaluate("img => img.naturalWidth")
            assert width == 40
            # A passing scenario is collapsed.
            assert await page.locator("#s-expiry-boundary").get_attribute("open") is None
        finally:
            await browser.close()
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
