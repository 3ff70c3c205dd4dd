"""Redaction by value: the run's secrets never appear in any file the report writes."""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

from report_runs import SECRET_KEY, WEBHOOK_SECRET, result, rich_evidence, run

from conformance.evidence import Evidence, Step
from conformance.findings import Finding, Severity
from conformance.redact import REDACTED, Redactor
from conformance.report import rerender, write_report
from conformance.results import ScenarioResult, Status, Waiver

SECRETS = (SECRET_KEY, WEBHOOK_SECRET)


def _encodings(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, base64.b64encode(raw).decode().rstrip("="), raw.hex(),
            urllib.parse.quote(secret, safe="")]


def _leaky_run(out: Path):  # type: ignore[no-untyped-def]
    ev = rich_evidence(out, with_secrets=True)
    encoded = base64.b64encode(SECRET_KEY.encode()).decode()
    leaky = ScenarioResult(
        scenario_id="secrets.bundle_scan",
        status=Status.FAIL,
        reason=f"found {SECRET_KEY} in app.js (base64 {encoded})",
        findings=(
            Finding(
                scenario_id="secrets.bundle_scan", severity=Severity.BLOCKER,
                message=f"canary {WEBHOOK_SECRET} at app.js:120",
                fix=f"remove {SECRET_KEY} from the bundle",
                clause=rich_clause(), ids=(("file", "app.js"), ("offset", "120")),
            ),
        ),
        evidence=Evidence(
            steps=(Step(at_s=0.0, action="fetch", detail=SECRET_KEY.encode().hex()),)
        ),
    )
    return run(
        [leaky, result("expiry.backend_transact", Status.FAIL, reason=f"key {SECRET_KEY}",
                       evidence=ev)],
        waivers=[Waiver(target="RQ6", reason=f"waived, see {WEBHOOK_SECRET}")],
        harness_errors=[f"partner printed {SECRET_KEY}"],
        partner=f"acme {WEBHOOK_SECRET}",
    )


def rich_clause():  # type: ignore[no-untyped-def]
    from conformance.catalogue import scenario

    return scenario("secrets.bundle_scan").clause


def test_no_secret_in_any_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(_leaky_run(out), out, redactor=Redactor(SECRETS))
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 7
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for secret in SECRETS:
            for needle in _encodings(secret):
                assert needle not in text, f"{needle!r} leaked into {path.name}"
    assert REDACTED in (out / "report.json").read_text()
    assert REDACTED in (out / "report.html").read_text()


def test_without_the_redactor_the_secret_would_leak(tmp_path: Path) -> None:
    """The check above can fail: the same run, unredacted, does carry the secret."""
    out = tmp_path / "out"
    write_report(_leaky_run(out), out)
    assert SECRET_KEY in (out / "report.json").read_text()


def test_rerender_keeps_the_redaction(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(_leaky_run(out), out, redactor=Redactor(SECRETS))
    rerender(out)
    for name in ("report.html", "summary.md"):
        assert SECRET_KEY not in (out / name).read_text()
