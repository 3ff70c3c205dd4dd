"""CLI: exit codes of verify, report and certify, selection, progress lines."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest
from report_runs import SECRET_KEY, result, run

from conformance.catalogue import SCENARIOS, scenarios_for
from conformance.cli import main
from conformance.commands import certify
from conformance.errors import ManifestError
from conformance.redact import Redactor
from conformance.report import write_report
from conformance.results import RunResult, ScenarioResult, SkipKind, Status


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


def test_no_runner_in_the_build_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(certify, "RUNNER_MODULE", "conformance._no_such_runner")
    assert main(["certify", "--out", str(tmp_path)]) == 2
    assert "runner" in capsys.readouterr().err


class StandInRunner:
    """A stand-in for conformance.runner: replays a RunResult through the progress callback."""

    def __init__(self, outcome: RunResult | Exception) -> None:
        self.outcome = outcome
        self.calls: list[dict[str, Any]] = []

    def run_catalogue(self, *, manifest: Path | None, only: tuple[str, ...] | None,
                      skip: tuple[str, ...], progress: Any, redactor: Redactor) -> RunResult:
        self.calls.append({"manifest": manifest, "only": only, "skip": skip})
        redactor.add(SECRET_KEY)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        for item in self.outcome.scenarios:
            progress(item)
        return self.outcome


def _install(monkeypatch: pytest.MonkeyPatch, runner: StandInRunner) -> None:
    module = types.ModuleType("conformance._stand_in_runner")
    module.run_catalogue = runner.run_catalogue  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "conformance._stand_in_runner", module)
    monkeypatch.setattr(certify, "RUNNER_MODULE", "conformance._stand_in_runner")


def test_certify_ready_is_exit_0_with_a_line_per_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = StandInRunner(run())
    _install(monkeypatch, runner)
    assert main(["certify", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert len(lines) == len(SCENARIOS)
    assert lines[0].startswith(f"[ 1/{len(SCENARIOS)}] PASS") and "1.25 s" in lines[0]
    assert "verdict: READY" in out
    assert runner.calls == [{"manifest": None, "only": None, "skip": ()}]
    assert main(["verify", str(tmp_path / "out")]) == 0


def test_certify_blocked_is_exit_1_and_redacts_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "partner.toml"
    manifest.write_text("name = 'acme'\n")
    skipped = [result(s.id, Status.SKIPPED, skip_kind=SkipKind.DESELECTED)
               for s in SCENARIOS if s.question == "RQ3"]
    failing = result("guards.amount_limit", Status.FAIL, reason=f"leaked {SECRET_KEY} in a 500")
    runner = StandInRunner(run([failing, *skipped]))
    _install(monkeypatch, runner)
    code = main(["certify", "--partner", str(manifest), "--out", str(tmp_path / "out"),
                 "--skip", "RQ3"])
    assert code == 1
    out = capsys.readouterr().out
    assert SECRET_KEY not in out and "[REDACTED]" in out
    assert "FAIL" in out and "verdict: BLOCKED" in out and "RQ3 unanswered" in out
    assert runner.calls[0]["skip"] == tuple(s.id for s in scenarios_for("RQ3"))
    assert runner.calls[0]["manifest"] == manifest
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert SECRET_KEY not in path.read_text(errors="replace")


def test_certify_when_the_harness_cannot_run_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(monkeypatch, StandInRunner(ManifestError("required", field="/partner/url")))
    assert main(["certify", "--out", str(tmp_path / "out")]) == 2
    assert "/partner/url: required" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.json").exists()


def test_progress_line_shows_status_duration_and_reason() -> None:
    progress = certify.Progress(3, Redactor())
    line = progress.line(ScenarioResult(scenario_id="ledger.webhook_replay", status=Status.FAIL,
                                        reason="posted twice", duration_s=2.5))
    assert line.startswith("[1/3] FAIL") and "ledger.webhook_replay" in line
    assert "2.50 s" in line and line.endswith("posted twice")


def test_certify_uses_the_scanners_sarif_and_clears_stale_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "secrets.sarif").write_text("stale from an earlier run")
    (out / "summary.md").write_text("stale")

    class WritesSarif(StandInRunner):
        def run_catalogue(self, **kwargs: Any) -> RunResult:  # type: ignore[override]
            assert not (kwargs["out_dir"] / "secrets.sarif").exists()
            log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scan"}},
                                                 "results": [{"ruleId": "canary-raw"}]}]}
            (kwargs["out_dir"] / "secrets.sarif").write_text(json.dumps(log))
            return super().run_catalogue(manifest=kwargs["manifest"], only=kwargs["only"],
                                         skip=kwargs["skip"], progress=kwargs["progress"],
                                         redactor=kwargs["redactor"])

    _install(monkeypatch, WritesSarif(run()))
    assert main(["certify", "--out", str(out)]) == 0
    sarif = json.loads((out / "secrets.sarif").read_text())
    assert sarif["runs"][0]["results"] == [{"ruleId": "canary-raw"}]
    assert "stale" not in (out / "summary.md").read_text()
    assert main(["verify", str(out)]) == 0


def test_a_harness_bug_is_exit_2_not_blocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(monkeypatch, StandInRunner(RuntimeError(f"boom {SECRET_KEY}")))
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
    assert main(["verify", str(tmp_path)]) == 2
