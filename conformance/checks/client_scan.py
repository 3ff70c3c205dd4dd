"""Everything a client can see, collected and scanned for the run's secrets (secrets.bundle_scan).

Three sources, one scan: the declared pages crawled (HTML, inline and external scripts,
source maps, manifests, service workers, fetched JSON), the page as a real browser loads
it (every response body, so config fetched at run time is seen too), and the declared
file globs (mobile config, built bundles). Archives (an APK, an IPA) are opened wherever they
come from. An incomplete collection is never read as clean.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.checks.quote_page import QuotePage
from conformance.checks.web_context import WebContext
from conformance.errors import CannotArrange, ConformanceError
from conformance.redact import Redactor
from conformance.sarif import SarifWriter
from conformance.scan import Artefact, Canary, SecretFinding, SecretScanner, load_paths
from conformance.scan.archives import expanded
from conformance.scan.artefacts import Collected
from conformance.scan.crawl import crawl

SARIF_NAME = "secrets.sarif"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientScan:
    """What was read, what was found, and what could not be read."""

    artefacts: tuple[Artefact, ...]
    findings: tuple[SecretFinding, ...]
    notes: tuple[str, ...]
    incomplete: tuple[str, ...]


def canaries(ctx: WebContext) -> tuple[Canary, ...]:
    """The secrets issued for this run that must never reach a client."""
    return tuple(Canary(label=label, value=value) for label, value in ctx.secrets.items())


def page_urls(ctx: WebContext) -> tuple[str, ...]:
    """The declared pages to crawl (``[artefacts] pages``, else the ``[web]`` quote page)."""
    manifest = ctx.manifest
    paths: list[str] = list(manifest.artefacts.pages) if manifest.artefacts else []
    if not paths and manifest.web is not None:
        paths.append(manifest.web.quote_page)
    base = ctx.base_url.rstrip("/")
    return tuple(
        base + "/" + p.replace("{account}", "scan").lstrip("/") for p in dict.fromkeys(paths)
    )


def declared_files(ctx: WebContext) -> tuple[str, ...]:
    """The declared file globs, relative to the manifest's directory."""
    artefacts = ctx.manifest.artefacts
    if artefacts is None:
        return ()
    root = ctx.manifest.path.parent
    return tuple(str(root / pattern) for pattern in artefacts.files)


async def browser_capture(ctx: WebContext) -> Collected:
    """The quote page as chromium loads it and asks for a quote: every response body."""
    notes: list[str] = []
    async with QuotePage.open(ctx, keep_bodies=True) as page:
        try:
            await page.get_quote()
        except CannotArrange as exc:
            # The page itself was loaded and read; asking for a quote only exercises it more.
            ctx.evidence.step("browser capture: no quote (page loaded and scanned)", str(exc),
                              ok=False)
            notes.append(f"browser capture: the page gave no quote ({exc})")
        await page.settle()
        responses = page.session.responses
    artefacts = tuple(
        Artefact(location=r.url, body=r.body, content_type=r.content_type, origin="browser capture")
        for r in responses
        if r.body
    )
    return expanded(artefacts, notes=notes)


def _unique(artefacts: Iterable[Artefact]) -> tuple[Artefact, ...]:
    seen: set[tuple[str, str]] = set()
    out: list[Artefact] = []
    for artefact in artefacts:
        key = (artefact.location, hashlib.sha256(artefact.body).hexdigest())
        if key not in seen:
            seen.add(key)
            out.append(artefact)
    return tuple(out)


async def collect_and_scan(ctx: WebContext) -> ClientScan:
    """Crawl, capture and load what the manifest declares, then scan it all once."""
    evidence = ctx.evidence
    parts: list[Collected] = []
    urls = page_urls(ctx)
    if urls:
        crawled = await asyncio.to_thread(crawl, urls)
        evidence.step("crawl declared pages", f"{', '.join(urls)}: "
                      f"{len(crawled.artefacts)} artefacts")
        parts.append(crawled)
    if ctx.manifest.web is not None:
        captured = await browser_capture(ctx)
        evidence.step("browser capture of the quote page",
                      f"{len(captured.artefacts)} response bodies")
        parts.append(captured)
    files = declared_files(ctx)
    if files:
        loaded = load_paths(files)
        evidence.step("declared files", f"{len(loaded.artefacts)} artefacts from {len(files)} "
                      "pattern(s)")
        parts.append(loaded)
    artefacts = _unique(a for part in parts for a in part.artefacts)
    if not artefacts:
        raise ConformanceError("nothing to scan: the declared pages and files gave no artefacts")
    scanner = SecretScanner(canaries(ctx))
    findings = scanner.scan(artefacts)
    return ClientScan(
        artefacts=artefacts,
        findings=findings,
        notes=tuple(n for part in parts for n in part.notes),
        incomplete=tuple(n for part in parts for n in part.incomplete),
    )


def write_sarif(scan: ClientScan, report_dir: Path, redactor: Redactor) -> Path:
    """The scanner's SARIF log as ``secrets.sarif`` in the report directory."""
    report_dir.mkdir(parents=True, exist_ok=True)
    target = report_dir / SARIF_NAME
    writer = SarifWriter(target)
    writer.open()
    for finding in scan.findings:
        writer.record(finding)
    for note in scan.incomplete:
        writer.note(redactor.text(f"incomplete: {note}"), level="error")
    writer.close(complete=not scan.incomplete)
    return target
