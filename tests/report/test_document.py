"""report.json: validated by the shipped schema for many kinds of run; errors name the field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from report_runs import SECRET_KEY, result, rich_evidence, run

from conformance.errors import ReportError
from conformance.evidence import Evidence, Screenshot
from conformance.redact import Redactor
from conformance.report import write_report
from conformance.report.document import load, schema, validate
from conformance.results import RunResult, SkipKind, Status, Waiver


def _runs(tmp_path: Path) -> dict[str, RunResult]:
    ev = rich_evidence(tmp_path)
    return {
        "all-pass": run(),
        "failures": run([result("expiry.backend_transact", Status.FAIL, reason="late", evidence=ev),
                         result("recon.daily_close", Status.FAIL, reason="drift")]),
        "errors-and-skips": run([
            result("expiry.ui_disabled", Status.ERROR, reason="no browser"),
            result("duplicates.double_click_ui", Status.SKIPPED, skip_kind=SkipKind.DESELECTED),
            result("secrets.browser_no_provider_calls", Status.SKIPPED,
                   skip_kind=SkipKind.NOT_APPLICABLE),
        ]),
        "waivers": run([result("trace.order_record", Status.FAIL)],
                       waivers=[Waiver(target="RQ5", reason="phase 2"),
                                Waiver(target="guards.amount_limit", reason="n/a")]),
        "harness-error": run(harness_errors=["simulator died"]),
        "unknown-id": run([result("custom.extra", Status.PASS)]),
        "empty": RunResult(harness_version="0.1.0", catalogue_version="x", partner_name="",
                           started_at="", finished_at="", duration_s=0.0, scenarios=()),
    }


@pytest.mark.parametrize(
    "name",
    ["all-pass", "failures", "errors-and-skips", "waivers", "harness-error", "unknown-id", "empty"],
)
def test_report_json_validates_for_every_kind_of_run(tmp_path: Path, name: str) -> None:
    written = write_report(_runs(tmp_path)[name], tmp_path / "out")
    on_disk = load(tmp_path / "out" / "report.json")  # validates
    assert on_disk == written.document
    assert on_disk["verdict"] == written.verdict.decision.value
    assert [q["id"] for q in on_disk["questions"]] == ["RQ1", "RQ2", "RQ3", "RQ4", "RQ5", "RQ6"]


def test_report_json_holds_what_the_issue_asks_for(tmp_path: Path) -> None:
    ev = rich_evidence(tmp_path / "out")
    doc = write_report(
        run([result("expiry.backend_transact", Status.FAIL, reason="accepted late", evidence=ev)],
            waivers=[Waiver(target="RQ6", reason="finance export in Q3")]),
        tmp_path / "out",
    ).document
    assert {"harness_version", "catalogue_version", "partner_name", "run", "verdict"} <= set(doc)
    rq1 = doc["questions"][0]
    assert rq1["answer"] == "yes" and "expiry.backend_transact" in rq1["scenarios"]
    scenario = next(s for s in doc["scenarios"] if s["id"] == "expiry.backend_transact")
    assert scenario["status"] == "fail" and scenario["reason"] == "accepted late"
    assert scenario["duration_s"] == 1.25
    evidence = scenario["evidence"]
    assert evidence["ids"]["quote_id"] == ["pq_test_4b1c9e"]
    assert evidence["steps"][0]["action"] == "create_quote"
    assert evidence["journal"][1]["status"] == 409
    assert evidence["screenshots"][0]["path"] == "screenshots/expiry-after.png"
    # RQ6 is answered yes in this run anyway, so its waiver is reported as stale.
    assert doc["waivers"] == [{"target": "RQ6", "reason": "finance export in Q3",
                               "kind": "question", "owner": None, "expires": None,
                               "state": "stale", "observed": None}]
    assert doc["questions"][5]["waiver"] == "finance export in Q3"


def test_money_in_evidence_stays_a_decimal_string(tmp_path: Path) -> None:
    ev = Evidence(tables=(("drift", ({"expected": Decimal("10.20"), "posted": Decimal("10.2")},)),))
    doc = write_report(run([result("recon.daily_close", Status.FAIL, evidence=ev)]),
                       tmp_path).document
    rows = next(s for s in doc["scenarios"] if s["id"] == "recon.daily_close")["evidence"]["tables"]
    assert rows == [{"name": "drift", "rows": [{"expected": "10.20", "posted": "10.2"}]}]


def test_a_screenshot_outside_the_report_dir_is_copied_in(tmp_path: Path) -> None:
    elsewhere = tmp_path / "browser" / "shot.png"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"\x89PNG fake")
    ev = Evidence(screenshots=(Screenshot(name="after", path=str(elsewhere)),))
    out = tmp_path / "out"
    doc = write_report(run([result("expiry.ui_disabled", Status.PASS, evidence=ev)]), out).document
    shot = next(s for s in doc["scenarios"] if s["id"] == "expiry.ui_disabled")
    path = shot["evidence"]["screenshots"][0]["path"]
    assert not Path(path).is_absolute() and path.startswith("screenshots/")
    assert (out / path).read_bytes() == b"\x89PNG fake"


def test_the_schema_rejects_a_broken_report_naming_the_field(tmp_path: Path) -> None:
    doc = write_report(run(), tmp_path).document
    doc["questions"][2]["answer"] = "maybe"
    with pytest.raises(ReportError, match="/questions/2/answer"):
        validate(doc)


def test_the_schema_rejects_a_ready_verdict_with_reasons(tmp_path: Path) -> None:
    doc = write_report(run(), tmp_path).document
    doc["verdict_reasons"] = ["something"]
    with pytest.raises(ReportError):
        validate(doc)


def test_the_schema_rejects_a_screenshot_path_that_escapes(tmp_path: Path) -> None:
    doc = write_report(run(), tmp_path).document
    doc["scenarios"][0]["evidence"]["screenshots"] = [
        {"name": "x", "path": "../../etc/passwd", "caption": ""}
    ]
    with pytest.raises(ReportError, match="screenshots"):
        validate(doc)


def test_load_names_a_file_that_is_not_json(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{nope")
    with pytest.raises(ReportError, match="is not JSON"):
        load(tmp_path / "report.json")


def test_the_schema_ships_in_the_package() -> None:
    assert schema()["$id"].endswith("report.schema.json")
    assert json.dumps(schema())


def test_redaction_reaches_the_document(tmp_path: Path) -> None:
    ev = rich_evidence(tmp_path, with_secrets=True)
    doc = write_report(run([result("trace.order_record", Status.FAIL, evidence=ev)]),
                       tmp_path, redactor=Redactor([SECRET_KEY])).document
    assert SECRET_KEY not in json.dumps(doc)
