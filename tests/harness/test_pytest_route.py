"""The pytest suite itself produces the readiness report (issue 17).

``pytest scenarios --partner M`` writes the same report set as ``certify`` through the
same path (``runner.assemble`` → ``write_report``), prints the verdict, and exits with it;
a run that selected part of the catalogue says so on the report's face and blocks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main

ROOT = Path(__file__).resolve().parents[2]
SECOND = ROOT / "fixtures" / "second_partner" / "manifest.toml"


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "-p", "no:cacheprovider",
         "--partner", str(SECOND), *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )


def _report(directory: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((directory / "report.json").read_text())
    return loaded


def test_pytest_route_writes_the_report_certify_writes(tmp_path: Path) -> None:
    out = tmp_path / "pytest-route"
    done = _pytest(f"--conformance-out={out}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0Pools readiness" in done.stdout and "verdict: READY (exit 0)" in done.stdout
    assert main(["verify", str(out)]) == 0
    certified = tmp_path / "certify"
    assert main(["certify", "--partner", str(SECOND), "--out", str(certified)]) == 0
    mine, theirs = _report(out), _report(certified)
    assert mine["verdict"] == theirs["verdict"] == "ready"
    assert [(q["id"], q["answer"]) for q in mine["questions"]] == [  # type: ignore[attr-defined,index]
        (q["id"], q["answer"]) for q in theirs["questions"]  # type: ignore[attr-defined,index]
    ]
    assert {s["id"]: s["status"] for s in mine["scenarios"]} == {  # type: ignore[attr-defined,index]
        s["id"]: s["status"] for s in theirs["scenarios"]  # type: ignore[attr-defined,index]
    }
    for name in ("report.html", "junit.xml", "summary.md", "secrets.sarif", "manifest.sha256"):
        assert (out / name).is_file(), name


def test_a_k_run_is_partial_and_blocks(tmp_path: Path) -> None:
    done = _pytest("-k", "RQ5", cwd=tmp_path)  # default out: reports/pytest-<timestamp>
    # Every selected test passes, yet the session fails: the verdict sets the exit status.
    assert "passed" in done.stdout and "failed" not in done.stdout.splitlines()[-1]
    assert done.returncode == 1, done.stdout[-3000:]
    assert "PARTIAL RUN — not a certification" in done.stdout
    (out,) = (tmp_path / "reports").glob("pytest-*")
    report = _report(out)
    assert report["verdict"] == "blocked" and report["run"]["partial"] is True  # type: ignore[index]
    assert any("partial run" in r for r in report["verdict_reasons"])  # type: ignore[attr-defined]
    unanswered = [q["id"] for q in report["questions"] if q["answer"] == "unanswered"]  # type: ignore[attr-defined,index]
    assert "RQ1" in unanswered and "RQ5" not in unanswered
    assert "Partial run — not a certification" in (out / "summary.md").read_text()
    assert main(["verify", str(out)]) == 0


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param(ROOT / "fixtures" / "reference_partner" / "manifest.toml", id="reference"),
        pytest.param(ROOT / "fixtures" / "third_partner" / "manifest.toml", id="third"),
    ],
)
def test_pytest_route_certifies_each_bundled_partner_ready(
    tmp_path: Path, manifest: Path
) -> None:
    """The same verdict as certify gives these partners (their certify runs are tested ready
    in test_certify_run.py and test_third_partner.py), through the same path."""
    out = tmp_path / "pytest-route"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "-p", "no:cacheprovider",
         "--partner", str(manifest), f"--conformance-out={out}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    report = _report(out)
    assert report["verdict"] == "ready" and report["run"]["partial"] is False  # type: ignore[index]
    assert {s["status"] for s in report["scenarios"]} == {"pass"}  # type: ignore[attr-defined]
    assert main(["verify", str(out)]) == 0
