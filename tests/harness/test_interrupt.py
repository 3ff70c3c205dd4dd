"""A cancelled run stops what it started and still leaves a report (issue 20).

A real ``certify`` process is interrupted mid-scenario with SIGTERM (a CI cancel) and with
SIGINT (Ctrl-C): the partner process it started is gone, the report is written, verifies,
says it was interrupted, and the exit code says which signal. A second signal ends the
run at once, still without leaving the partner behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.cli import main

from .degenerate_manifest import degenerate_manifest

EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}
# Slow answers keep a scenario busy when the signal arrives.
DELAY_S = 0.5
BOUND_S = 60  # the whole interrupted run, start to exit (a bound of fail-closed behaviour)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped: read its state.
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def _start(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    pid_file = tmp_path / "partner.pid"
    manifest = degenerate_manifest(
        tmp_path, "slow_inside", DELAY_S, extra_env={"DEGENERATE_PID_FILE": str(pid_file)}
    )
    out = tmp_path / "report"
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "certify", "--partner", str(manifest),
         "--out", str(out), "--no-preflight"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return proc, pid_file, out


def _wait_for_partner(proc: subprocess.Popen[str], pid_file: Path) -> int:
    deadline = time.monotonic() + BOUND_S
    while not (pid_file.is_file() and pid_file.read_text().strip()):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the partner never started"
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    # Let a scenario be under way (the partner answers every request DELAY_S late).
    time.sleep(DELAY_S * 4)
    return pid


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupted_certify_stops_its_partner_and_writes_the_report(
    tmp_path: Path, sig: signal.Signals
) -> None:
    proc, pid_file, out = _start(tmp_path)
    partner = _wait_for_partner(proc, pid_file)
    assert _alive(partner)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=BOUND_S)
    assert proc.returncode == EXIT[sig], output[-3000:]
    assert not _alive(partner), "the partner outlived the harness"
    assert f"INTERRUPTED by {sig.name}" in output
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["interrupted"] == sig.name
    assert report["verdict"] == "blocked" and report["exit_code"] == EXIT[sig]
    interrupted = [s for s in report["scenarios"] if "interrupted" in (s.get("reason") or "")]
    assert interrupted, [s.get("reason") for s in report["scenarios"]]
    assert all(s["status"] == "error" for s in interrupted)
    assert "interrupted" in (out / "summary.md").read_text().lower()
    assert main(["verify", str(out)]) == 0


def test_a_second_signal_exits_at_once_without_leaving_the_partner(tmp_path: Path) -> None:
    proc, pid_file, _ = _start(tmp_path)
    partner = _wait_for_partner(proc, pid_file)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=BOUND_S)
    assert proc.returncode == EXIT[signal.SIGTERM], output[-3000:]
    deadline = time.monotonic() + 5
    while _alive(partner) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(partner), "the partner outlived the harness"


def test_interrupted_pytest_route_stops_its_partner_and_writes_the_report(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "partner.pid"
    manifest = degenerate_manifest(
        tmp_path, "slow_inside", DELAY_S, extra_env={"DEGENERATE_PID_FILE": str(pid_file)}
    )
    out = tmp_path / "report"
    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(scenarios), "-p", "no:cacheprovider",
         "--partner", str(manifest), f"--conformance-out={out}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    partner = _wait_for_partner(proc, pid_file)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=BOUND_S)
    assert proc.returncode == EXIT[signal.SIGTERM], output[-3000:]
    assert not _alive(partner), "the partner outlived the harness"
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["interrupted"] == "SIGTERM" and report["verdict"] == "blocked"
    assert main(["verify", str(out)]) == 0
