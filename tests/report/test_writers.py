"""Each writer's output: junit, summary.md, report.html, secrets.sarif; re-render is identical."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from report_runs import png, result, rich_evidence, run

from conformance.catalogue import SCENARIOS
from conformance.report import REPORT_FILES, rerender, write_report
from conformance.results import SkipKind, Status, Waiver
from conformance.sarif import TOOL_NAME, merge, sarif_log


def _blocked_run(out: Path):  # type: ignore[no-untyped-def]
    ev = rich_evidence(out)
    return run(
        [
            result("expiry.backend_transact", Status.FAIL, reason="accepted 0.4 s after expiry",
                   fix="check expiresAt on the server", evidence=ev),
            result("expiry.ui_disabled", Status.ERROR, reason="chromium did not start"),
            result("duplicates.double_click_ui", Status.SKIPPED, skip_kind=SkipKind.DESELECTED,
                   reason="deselected by --skip"),
            result("secrets.bundle_scan", Status.FAIL, reason="canary secret in app.js"),
            result("ops.stuck_reserved_alert", Status.FAIL, reason="no alert raised"),
        ],
        waivers=[Waiver(target="RQ5", reason="support console in phase 2")],
    )


def test_every_report_file_is_written(tmp_path: Path) -> None:
    write_report(run(), tmp_path)
    for name in REPORT_FILES:
        assert (tmp_path / name).is_file(), name


def test_junit_has_one_testcase_per_scenario(tmp_path: Path) -> None:
    write_report(_blocked_run(tmp_path), tmp_path)
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [s.id for s in SCENARIOS]
    assert {c.get("classname") for c in cases} == {s.group for s in SCENARIOS}
    by_name = {c.get("name"): c for c in cases}
    failure = by_name["expiry.backend_transact"].find("failure")
    assert failure is not None and failure.get("message") == "accepted 0.4 s after expiry"
    assert "check expiresAt on the server" in (failure.text or "")
    error = by_name["expiry.ui_disabled"].find("error")
    assert error is not None and error.get("message") == "chromium did not start"
    skipped = by_name["duplicates.double_click_ui"].find("skipped")
    assert skipped is not None and "deselected" in (skipped.get("message") or "")
    assert by_name["expiry.boundary"].find("failure") is None
    assert suite.get("tests") == str(len(SCENARIOS))
    assert suite.get("failures") == "3" and suite.get("errors") == "1"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "blocked" and props["RQ1"] == "yes"


def test_summary_has_the_verdict_questions_and_failing_reasons(tmp_path: Path) -> None:
    write_report(_blocked_run(tmp_path), tmp_path)
    text = (tmp_path / "summary.md").read_text()
    assert "BLOCKED" in text.splitlines()[0]
    for qid in ("RQ1", "RQ2", "RQ3", "RQ4", "RQ5", "RQ6"):
        assert f"| {qid} |" in text
    assert "accepted 0.4 s after expiry" in text
    assert "canary secret in app.js" in text
    assert "waived: support console in phase 2" in text
    assert len(text.splitlines()) <= 60


def test_summary_stays_short_when_everything_fails(tmp_path: Path) -> None:
    everything = run([result(s.id, Status.FAIL, reason="x" * 400) for s in SCENARIOS])
    write_report(everything, tmp_path)
    assert len((tmp_path / "summary.md").read_text().splitlines()) <= 60


def test_summary_of_a_ready_run(tmp_path: Path) -> None:
    write_report(run(), tmp_path)
    assert "READY" in (tmp_path / "summary.md").read_text().splitlines()[0]


def test_html_puts_the_verdict_first_then_questions_then_fixes_then_evidence(
    tmp_path: Path,
) -> None:
    write_report(_blocked_run(tmp_path), tmp_path)
    html = (tmp_path / "report.html").read_text()
    body = html.split("<body>", 1)[1]
    positions = [body.index(marker) for marker in (
        'class="banner blocked"', 'id="questions"', 'id="fix"', 'id="evidence"',
        "How the verdict is decided")]
    assert positions == sorted(positions)
    assert body.index("BLOCKED") < body.index('id="questions"')
    for fix in ("accepted 0.4 s after expiry", "check expiresAt on the server",
                "User accepts stale price."):
        assert fix in html
    for some_id in ("pq_test_4b1c9e", "txn_test_77aa01", "req_d4e5f6", "order-ord_81-accept"):
        assert some_id in html


def test_html_is_self_contained_with_embedded_screenshots(tmp_path: Path) -> None:
    write_report(_blocked_run(tmp_path), tmp_path)
    html = (tmp_path / "report.html").read_text()
    embedded = base64.b64encode(png()).decode()
    assert f"data:image/png;base64,{embedded}" in html
    assert "<link" not in html and "<script" not in html and 'src="http' not in html


def test_html_says_when_a_screenshot_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(_blocked_run(tmp_path / "elsewhere"), out)
    assert "Screenshot not available" in (out / "report.html").read_text()


def test_rerender_from_report_json_is_identical(tmp_path: Path) -> None:
    write_report(_blocked_run(tmp_path), tmp_path)
    before = {n: (tmp_path / n).read_bytes() for n in ("report.html", "summary.md")}
    for name in before:
        (tmp_path / name).unlink()
    files, manifest_updated = rerender(tmp_path)
    assert {p.name for p in files} == set(before)
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    assert not manifest_updated  # two files were missing, so the manifest is left alone


def test_rerender_follows_an_edited_report_json(tmp_path: Path) -> None:
    write_report(run(), tmp_path)
    doc = json.loads((tmp_path / "report.json").read_text())
    doc["partner_name"] = "renamed-partner"
    (tmp_path / "report.json").write_text(json.dumps(doc))
    rerender(tmp_path)
    assert "renamed-partner" in (tmp_path / "report.html").read_text()


def test_sarif_is_an_empty_valid_run_without_findings(tmp_path: Path) -> None:
    write_report(run(), tmp_path)
    log = json.loads((tmp_path / "secrets.sarif").read_text())
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1 and log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["name"] == TOOL_NAME


def test_sarif_carries_the_secrets_findings(tmp_path: Path) -> None:
    write_report(_blocked_run(tmp_path), tmp_path)
    results = json.loads((tmp_path / "secrets.sarif").read_text())["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["secrets.bundle_scan"]
    assert "canary secret in app.js" in results[0]["message"]["text"]


def test_sarif_prefers_the_scanners_log(tmp_path: Path) -> None:
    scanner = sarif_log([{"ruleId": "canary", "message": {"text": "in app.js"}}], version="9")
    write_report(run(), tmp_path, scanner_logs=[scanner])
    log = json.loads((tmp_path / "secrets.sarif").read_text())
    assert log["runs"][0]["results"][0]["ruleId"] == "canary"
    assert merge([], version="1")["runs"][0]["results"] == []
