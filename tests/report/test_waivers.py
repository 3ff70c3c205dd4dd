"""Waivers with an owner and an expiry: expired ones are ignored, needless ones are stale."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from report_runs import result, run

from conformance.cli import main
from conformance.driver.manifest import manifest_from_data, parse_text
from conformance.errors import ManifestError
from conformance.report import write_report
from conformance.report.verdict import Decision, WaiverState, decide
from conformance.results import Status, Waiver

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "fixtures" / "reference_partner" / "manifest.toml"
REASON = "alerts live in our pager, outside this service"

# report_runs starts its runs on 2026-11-22.
EXPIRED = Waiver(
    target="expiry.boundary", reason=REASON, owner="ops@acme", expires=date(2026, 11, 21)
)
LAST_DAY = Waiver(
    target="expiry.boundary", reason=REASON, owner="ops@acme", expires=date(2026, 11, 22)
)


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        pytest.param('expires = 2026-12-31', date(2026, 12, 31), id="toml-date"),
        pytest.param('expires = "2026-12-31"', date(2026, 12, 31), id="toml-string"),
        pytest.param("", None, id="no-expiry"),
    ],
)
def test_the_manifest_reads_owner_and_expiry(snippet: str, expected: date | None) -> None:
    text = REFERENCE.read_text() + (
        f'\n[[waivers]]\ntarget = "ops.stuck_reserved_alert"\nreason = "{REASON}"\n'
        f'owner = "ops@acme"\n{snippet}\n'
    )
    manifest = manifest_from_data(parse_text(text), path=REFERENCE)
    (waiver,) = manifest.waivers
    assert waiver.owner == "ops@acme" and waiver.expires == expected


def test_yaml_dates_are_read_too() -> None:
    data = parse_text(REFERENCE.read_text())
    data["waivers"] = [{"target": "RQ2", "reason": REASON, "expires": date(2027, 1, 31)}]
    manifest = manifest_from_data(data, path=REFERENCE)
    assert manifest.waivers[0].expires == date(2027, 1, 31)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        pytest.param('"2026-02-30"', "/waivers/0/expires", id="no-such-day"),
        pytest.param('"next year"', "/waivers/0/expires", id="not-a-date"),
        pytest.param('"2026-12-31"\ncolour = "red"', "/waivers/0/colour", id="unknown-field"),
    ],
)
def test_a_bad_expiry_is_named(value: str, field: str) -> None:
    text = REFERENCE.read_text() + (
        f'\n[[waivers]]\ntarget = "RQ2"\nreason = "{REASON}"\nexpires = {value}\n'
    )
    with pytest.raises(ManifestError) as caught:
        manifest_from_data(parse_text(text), path=REFERENCE)
    assert field in str(caught.value)


def test_an_expired_waiver_is_ignored_and_reported() -> None:
    verdict = decide(run([result("expiry.boundary", Status.FAIL)], waivers=[EXPIRED]))
    assert verdict.decision is Decision.BLOCKED
    assert verdict.scenario("expiry.boundary").status is Status.FAIL  # type: ignore[union-attr]
    assert any("expired on 2026-11-21" in w and "ops@acme" in w for w in verdict.warnings)
    assert verdict.waivers[0].state is WaiverState.EXPIRED


def test_a_waiver_holds_through_its_last_day() -> None:
    verdict = decide(run([result("expiry.boundary", Status.FAIL)], waivers=[LAST_DAY]))
    assert verdict.waivers[0].state is WaiverState.IN_FORCE
    assert verdict.scenario("expiry.boundary").status is Status.WAIVED  # type: ignore[union-attr]
    assert verdict.waivers[0].observed == "fail"


def test_a_waiver_whose_scenario_passes_is_stale() -> None:
    verdict = decide(run([result("expiry.boundary", Status.PASS)], waivers=[LAST_DAY]))
    assert verdict.waivers[0].state is WaiverState.STALE
    assert any("stale" in w and "expiry.boundary" in w for w in verdict.warnings)


def test_a_question_waiver_is_stale_when_the_answer_is_good_anyway() -> None:
    waiver = Waiver(target="RQ5", reason="support console comes in phase 2")
    verdict = decide(run(waivers=[waiver]))
    assert verdict.waivers[0].state is WaiverState.STALE
    blocked = decide(run([result("trace.order_record", Status.FAIL)], waivers=[waiver]))
    assert blocked.waivers[0].state is WaiverState.IN_FORCE and blocked.ready


def test_the_report_shows_owner_expiry_state_and_what_was_observed(tmp_path: Path) -> None:
    write_report(run([result("expiry.boundary", Status.FAIL)], waivers=[LAST_DAY]), tmp_path)
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["waivers"] == [{
        "target": "expiry.boundary", "reason": REASON, "kind": "scenario", "owner": "ops@acme",
        "expires": "2026-11-22", "state": "in_force", "observed": "fail",
    }]
    entry = next(s for s in document["scenarios"] if s["id"] == "expiry.boundary")
    assert entry["status"] == "waived" and entry["reported_status"] == "fail"
    html = (tmp_path / "report.html").read_text()
    assert "ops@acme" in html and "2026-11-22" in html and "(observed: fail)" in html


@pytest.mark.timeout(240)
def test_certify_runs_a_waived_scenario_and_reports_its_waiver_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "manifest.toml"
    text = REFERENCE.read_text().replace('cwd = ".."', f'cwd = "{REFERENCE.parent.parent}"')
    manifest.write_text(text + (
        f'\n[[waivers]]\ntarget = "guards.amount_limit"\nreason = "{REASON}"\n'
        'owner = "risk@lumen"\nexpires = 2999-12-31\n'
        f'\n[[waivers]]\ntarget = "guards.unsupported_network"\nreason = "{REASON}"\n'
        'owner = "risk@lumen"\nexpires = 2000-01-01\n'
    ))
    out = tmp_path / "out"
    main(["certify", "--partner", str(manifest), "--out", str(out), "--no-preflight",
          "--only", "guards.amount_limit,guards.unsupported_network"])
    terminal = capsys.readouterr().out
    assert "stale" in terminal and "expired on 2000-01-01" in terminal
    document = json.loads((out / "report.json").read_text())
    by_id = {s["id"]: s for s in document["scenarios"]}
    assert by_id["guards.amount_limit"]["status"] == "waived"
    assert by_id["guards.amount_limit"]["reported_status"] == "pass"
    # The expired waiver is ignored: its scenario is judged like any other.
    assert by_id["guards.unsupported_network"]["status"] == "pass"
    states = {w["target"]: w["state"] for w in document["waivers"]}
    assert states == {"guards.amount_limit": "stale", "guards.unsupported_network": "expired"}
