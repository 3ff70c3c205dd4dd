"""Each benchmark script runs end to end with --quick and its correctness checks hold.

Speed is measured by the benchmarks themselves, never asserted here: these tests only keep
the scripts from rotting (they run, write their JSON, and what they check is still true).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
PRISM = ROOT / ".cache" / "prism" / "node_modules" / ".bin" / "prism"


def run_quick(name: str, results: Path, *extra: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--quick", *extra], cwd=ROOT,
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "ZP_BENCH_RESULTS": str(results), "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, f"{name} exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "|" in proc.stdout, "no result table printed"
    data: dict[str, Any] = json.loads((results / f"{name}.json").read_text())
    assert data["benchmark"] == name and data["ok"] is True
    assert data["machine"]["nproc"] >= 1
    # Which CPython build ran it (its build decides a large share of the numbers).
    assert data["machine"]["interpreter"].startswith(f"CPython {platform.python_version()} (")
    assert ("libpython linked in" in data["machine"]["interpreter"]
            or "libpython shared" in data["machine"]["interpreter"])
    return data


def test_sim_throughput(tmp_path: Path) -> None:
    extra = () if PRISM.exists() else ("--no-prism",)  # never install from npm in a test
    data = run_quick("sim_throughput", tmp_path, *extra)
    checks = data["checks"]
    assert checks["simulator_failures"] == [] and checks["simulator_bugs"] == []
    assert checks["one_trade_per_quote"] and checks["cycles_measured_simulator"] > 0
    assert not any(k.startswith(("quote 5", "transact 5", "poll 5"))
                   for k in checks["non_200_statuses"])
    assert all("sim-before" in entry and "sim-after" in entry and "sim-after/sim-before"
               in entry for entry in data["summary"])
    if PRISM.exists():
        assert all("prism" in entry and "sim-after/prism" in entry for entry in data["summary"])
    assert data["settings"]["load_generator"].startswith("raw sockets")  # the default


def test_sim_throughput_aiohttp_load(tmp_path: Path) -> None:
    """The original load generator still runs and checks every cycle."""
    data = run_quick("sim_throughput", tmp_path, "--no-prism", "--load", "aiohttp",
                     "--targets", "sim-after")
    checks = data["checks"]
    assert checks["simulator_failures"] == [] and checks["simulator_bugs"] == []
    assert checks["one_trade_per_quote"] and checks["cycles_measured_simulator"] > 0
    assert data["settings"]["load_generator"].startswith("aiohttp")


def test_concurrent_transact(tmp_path: Path) -> None:
    data = run_quick("concurrent_transact", tmp_path)
    assert {(c["size"], c["mode"]) for c in data["cases"]} == {
        (20, "same_key"), (20, "different_keys"), (50, "same_key"), (50, "different_keys")}
    for case in data["cases"]:
        assert case["trades"] == 1, case
        assert all(case["checks"].values()), case
        assert sum(case["statuses"].values()) == case["size"]
        assert not any(k.startswith("5") for k in case["statuses"])


def test_journal_memory(tmp_path: Path) -> None:
    data = run_quick("journal_memory", tmp_path)
    before, after = data["modes"]["before"], data["modes"]["after"]
    for mode in (before, after):
        assert mode["points"][-1]["requests"] >= 600
        assert mode["checks"]["all_entries_readable"]
    sizes = [p["journal_bytes"] for p in before["points"]]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    # bounded: the quick run keeps 100 entries in memory (plus one spill batch at most)
    assert after["points"][-1]["in_memory"] < before["points"][-1]["in_memory"]


def test_scanner(tmp_path: Path) -> None:
    data = run_quick("scanner", tmp_path)
    assert data["checks"]["ours_no_false_positives_on_corpus"]
    recall = data["recall"]
    assert recall["ours_full_recall"] and recall["ours_found"] == recall["planted"] > 20
    assert recall["ours_finds_every_case_ds_misses"]
    assert data["corpus"]["bytes"] >= 1_000_000 and data["corpus"]["ds_files"] > 0


def test_recon_scale(tmp_path: Path) -> None:
    data = run_quick("recon_scale", tmp_path)
    assert [p["trades"] for p in data["points"]] == [100, 1000]
    for point in data["points"]:
        assert point["drift_matches_planted"] and point["planted"] == point["reported"]
    assert len(data["points"][-1]["planted"]) == 5  # every kind of planted mistake reported


def test_profile_sim(tmp_path: Path) -> None:
    data = run_quick("profile_sim", tmp_path)
    assert (tmp_path / "profile_sim.txt").read_text().count("App.respond") >= 1
    assert data["failures"] == []


@pytest.mark.timeout(300)
def test_certify_time(tmp_path: Path) -> None:
    data = run_quick("certify_time", tmp_path)
    run = data["runs"][0]
    assert run["report"] and run["scenarios"]["trace.order_record"]["status"] == "pass"


def test_sim_hotpath(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "sim_hotpath.py"), "--cycles", "80"], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ZP_BENCH_RESULTS": str(tmp_path), "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((tmp_path / "sim_hotpath.json").read_text())
    assert data["cycles"] == 80 and 0 < data["cpu_us_per_cycle_min"] <= data[
        "cpu_us_per_cycle_median"]
