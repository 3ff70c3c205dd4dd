"""RQ2 — can the browser see a secret key? Nothing a client downloads or sends may hold one."""

from __future__ import annotations

from collections import Counter

import pytest

from conformance.checks.client_scan import collect_and_scan, write_sarif
from conformance.checks.page_requests import record_requests
from conformance.checks.quote_page import QuotePage
from conformance.checks.waits import until
from conformance.checks.web_context import WebContext
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange, ConformanceError

# Findings beyond this many are in the table and the SARIF log, not one by one.
MAX_FINDINGS = 25
FIX_PROVIDER_CALL = (
    "call the provider only from your backend with the secret key kept server-side; the page "
    "talks to your own API, which executes the stored quote"
)


# Runs before the browser-only scenario below, so its own page load is judged there too.
@pytest.mark.threat("secrets.bundle_scan", question="RQ2", observes=("client_scanned",))
async def test_no_secret_in_client_artefacts(client_side: WebContext) -> None:
    ctx = client_side
    evidence = ctx.evidence
    scan = await collect_and_scan(ctx)
    if ctx.report_dir is not None:
        path = write_sarif(scan, ctx.report_dir, evidence.redactor)
        evidence.step("scanner SARIF log written", path.name)
    kinds = Counter(str(a.resolved_kind) for a in scan.artefacts)
    evidence.step(
        "scanned for the run's secret key and webhook secret (every encoding) and key patterns",
        f"{len(scan.artefacts)} artefacts: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())),
    )
    evidence.table(
        "artefacts scanned",
        [
            {"location": a.location, "kind": str(a.resolved_kind), "bytes": len(a.body),
             "origin": a.origin}
            for a in scan.artefacts[:100]
        ],
    )
    for note in scan.notes[:20]:
        evidence.step("crawl note", note)
    for note in scan.incomplete:
        evidence.step("not fully scanned", note, ok=False)
    if scan.findings:
        evidence.table(
            "secret findings",
            [{k: v for k, v in f.as_dict().items() if k != "fix"} for f in scan.findings],
        )
    for finding in scan.findings[:MAX_FINDINGS]:
        web = finding.location.startswith(("http://", "https://"))
        evidence.finding(
            finding.message,
            fix=finding.rule.fix,
            url=finding.location if web else None,
            file=None if web else finding.location,
            offset=str(finding.offset),
            rule=finding.rule_id,
        )
    if len(scan.findings) > MAX_FINDINGS:
        evidence.step("more findings", f"{len(scan.findings) - MAX_FINDINGS} more in the table")
    if not scan.findings and scan.incomplete:
        raise ConformanceError(
            "the client scan is incomplete, so it cannot be called clean: " + scan.incomplete[0]
        )
    if scan.artefacts:
        evidence.observed("client_scanned")


@pytest.mark.threat(
    "secrets.browser_no_provider_calls", question="RQ2", observes=("browser_requests_judged",)
)
async def test_browser_never_calls_the_provider(web: WebContext) -> None:
    evidence = web.evidence
    timings = Timings.of(web.manifest)
    # Drive the whole flow here too, so the verdict never rests on other scenarios alone.
    async with QuotePage.open(web) as page:
        await page.get_quote()
        mark = page.mark()
        await page.click_accept()
        await until(lambda: bool(page.actions_since(mark)), bound_s=timings.page_s)
        await page.settle(bound_s=timings.page_s, quiet_s=timings.dispatch_s)
        await page.screenshot("after-accept", f"status {await page.status_text()!r}")
        own = page.requests
        accepted = page.actions_since(mark)
    if not accepted:
        raise CannotArrange(
            "clicking Accept made the page send no request, so its accept path was not observed"
        )
    judged = web.log.requests
    evidence.observed("browser_requests_judged")
    evidence.step(
        "judged every browser request of the run",
        f"{len(judged)} requests from {', '.join(web.log.scenarios)} "
        f"({len(own)} from this scenario's own quote and accept)",
    )
    to_provider = [r for r in judged if web.touches_provider(r.url)]
    carrying = [r for r in judged if r.carries and r not in to_provider]
    record_requests(evidence, "browser requests to the provider or carrying a secret",
                    (*to_provider, *carrying))
    record_requests(evidence, "browser requests of this scenario", own)
    for r in to_provider[:10]:
        secret = f", carrying the run's {' and '.join(r.carries)}" if r.carries else ""
        evidence.finding(
            f"the browser called the provider directly: {r.method} {r.url} "
            f"(during {r.scenario_id}{secret}).",
            fix=FIX_PROVIDER_CALL,
            url=r.url,
        )
    for r in carrying[:10]:
        evidence.finding(
            f"a browser request carried the run's {' and '.join(r.carries)}: {r.method} {r.url} "
            f"(during {r.scenario_id}).",
            fix="never give the browser the secret key or the webhook secret; keep them on the "
            "server and rotate any that reached a client",
            url=r.url,
        )
