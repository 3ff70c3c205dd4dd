"""bench/load_capacity.py runs end to end with --quick and what it checks holds (no timing).

A short spike of the load command against the reference partner (local runner), then Locust
hammering the trivial target with a master and 2 workers: well under 30 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_load_capacity_quick(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load_capacity.py"), "--quick"], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ZP_BENCH_RESULTS": str(tmp_path), "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "|" in proc.stdout, "no result table printed"
    data = json.loads((tmp_path / "load_capacity.json").read_text())
    assert data["benchmark"] == "load_capacity" and data["ok"] is True
    [spike] = data["spike"]
    assert spike["orders"] > 0 and spike["harness_errors"] == []
    assert spike["guarantees"] and all(held is not False for held in spike["guarantees"].values())
    for key in ("harness", "locust", "partner"):
        assert spike["whole_run_cpu_s"][key] > 0, key
    [level] = data["capacity"]
    assert level["workers"] == 2 and level["requests"] > 0 and level["locust_alive_throughout"]
