"""CLI: exit codes of verify, report and certify, selection, progress lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report_runs import SECRET_KEY, result, run

from conformance.catalogue import SCENARIOS, scenarios_for
from conformance.cli import main
from conformance.commands import certify
from conformance.redact import Redactor
from conformance.report import write_report
from conformance.results import ScenarioResult, Status


def test_verify_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_report(run(), tmp_path)
    assert main(["verify", str(tmp_path)]) == 0
    assert "ok: 5 files" in capsys.readouterr().out
    with (tmp_path / "summary.md").open("a") as handle:
        handle.write("edited\n")
    assert main(["verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "changed: summary.md" in out and "FAILED" in out
    (tmp_path / "junit.xml").unlink()
    assert main(["verify", str(tmp_path)]) == 1
    assert "missing: junit.xml" in capsys.readouterr().out


def test_verify_without_a_manifest_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(tmp_path / "nowhere")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_report_rerenders_and_keeps_the_manifest_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_report(run([result("expiry.boundary", Status.FAIL, reason="late")]), tmp_path)
    html = (tmp_path / "report.html").read_bytes()
    (tmp_path / "report.html").write_text("stale")
    (tmp_path / "summary.md").write_text("stale")
    # The manifest no longer matches, so report re-renders but leaves the manifest alone...
    assert main(["report", str(tmp_path)]) == 0
    assert "left as it was" in capsys.readouterr().err
    assert (tmp_path / "report.html").read_bytes() == html
    # ...and the re-rendered files match it again.
    assert main(["verify", str(tmp_path)]) == 0
    assert main(["report", str(tmp_path)]) == 0
    assert "updated" in capsys.readouterr().out


def test_report_on_a_broken_report_json_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_report(run(), tmp_path)
    doc = json.loads((tmp_path / "report.json").read_text())
    del doc["questions"]
    (tmp_path / "report.json").write_text(json.dumps(doc))
    assert main(["report", str(tmp_path)]) == 2
    assert "questions" in capsys.readouterr().err


# -- certify -------------------------------------------------------------------------


def test_selection_expands_ids_questions_and_groups() -> None:
    assert certify.expand("expiry.boundary") == ("expiry.boundary",)
    assert certify.expand("rq3") == tuple(s.id for s in scenarios_for("RQ3"))
    expiry = tuple(s.id for s in SCENARIOS if s.group == "expiry")
    assert certify.expand("expiry") == certify.expand("expiry.*") == expiry
    only, skip = certify.select(["expiry,RQ2", "guards.amount_limit"], ["expiry.boundary"])
    assert only is not None and "secrets.bundle_scan" in only and "guards.amount_limit" in only
    assert skip == ("expiry.boundary",)
    assert certify.select([], []) == (None, ())


@pytest.mark.parametrize("argv", [["--only", "nope"], ["--skip", "RQ9"],
                                  ["--only", "RQ1", "--skip", "expiry"]])
def test_a_bad_selection_is_exit_2(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certify", "--out", str(tmp_path), *argv]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_missing_manifest_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certify", "--partner", str(tmp_path / "none.toml"), "--out", str(tmp_path)]) == 2
    assert "none.toml" in capsys.readouterr().err


def test_progress_line_shows_status_duration_and_reason() -> None:
    progress = certify.Progress(3, Redactor())
    line = progress.line(ScenarioResult(scenario_id="ledger.webhook_replay", status=Status.FAIL,
                                        reason="posted twice", duration_s=2.5))
    assert line.startswith("[1/3] FAIL") and "ledger.webhook_replay" in line
    assert "2.50 s" in line and line.endswith("posted twice")


def test_a_harness_bug_is_exit_2_not_blocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_runner(**kwargs: Any) -> None:
        kwargs["redactor"].add(SECRET_KEY)
        raise RuntimeError(f"boom {SECRET_KEY}")

    monkeypatch.setattr(certify, "run_catalogue", broken_runner)
    assert main(["certify", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "the harness failed: RuntimeError" in err
    assert "Traceback" in err and SECRET_KEY not in err


def test_report_with_a_malformed_manifest_still_rerenders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_report(run(), tmp_path)
    (tmp_path / "manifest.sha256").write_text("garbage\n")
    assert main(["report", str(tmp_path)]) == 0
    assert "left as it was" in capsys.readouterr().err
    assert (tmp_path / "manifest.sha256").read_text() == "garbage\n"
    capsys.readouterr()
    # A malformed manifest is a changed file like any other: exit 1, named, with the line.
    assert main(["verify", str(tmp_path)]) == 1
    assert "changed: manifest.sha256 (line 1" in capsys.readouterr().out
