"""The load command end to end: short, bounded spikes on the bundled reference partner.

Each run is a few seconds with a few users: enough for every order path to happen at least
once (each Locust process takes every threat path first), so every guarantee has observed
cases. The flaw switches reach the partner through ``--partner-env`` (the harness never
reads them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.load.judge import GUARANTEE_IDS
from tests.harness.test_fail_closed import bad_manifest

USERS, DURATION = "5", "5"


def _load(out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["load", "--users", USERS, "--duration", DURATION, "--out", str(out), *extra])
    report = json.loads((out / "report.json").read_text())
    return code, report


def _guarantees(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["id"]: g for g in report["load"]["guarantees"]}


def test_the_reference_partner_is_ready_under_a_short_spike(tmp_path: Path) -> None:
    code, report = _load(tmp_path / "out")
    assert (code, report["verdict"]) == (0, "ready"), report["verdict_reasons"]
    guarantees = _guarantees(report)
    assert tuple(guarantees) == GUARANTEE_IDS
    for gid, guarantee in guarantees.items():
        assert guarantee["held"] is True and guarantee["observed"] > 0, (gid, guarantee)
    assert {s["id"] for s in report["scenarios"]} == set(GUARANTEE_IDS)
    assert report["questions"] == []  # a load run asks none of the six questions
    load = report["load"]
    assert load["accept_latency"]["count"] > 0 and load["accept_latency"]["p95_ms"] is not None
    assert load["timeline"] and load["partner_requests"] > 0
    counts = load["counts"]
    assert counts["double_accepts"] and counts["reset_retries"] and counts["expired_attempts"]
    assert counts["webhook_replays"] and counts["trades"] > 0
    assert (tmp_path / "out" / "load-samples.jsonl").is_file()
    assert main(["verify", str(tmp_path / "out")]) == 0


@pytest.mark.parametrize(
    ("flaw", "broken"),
    [
        pytest.param("requote_on_accept",
                     {"load.one_trade_per_order", "load.double_accept_one_trade"},
                     id="requote-on-accept"),
        pytest.param("dedupe_not_atomic", {"load.no_duplicate_posting"},
                     id="dedupe-not-atomic"),
    ],
)
def test_a_duplicating_partner_is_blocked_on_the_duplicate_guarantees(
    tmp_path: Path, flaw: str, broken: set[str]
) -> None:
    code, report = _load(tmp_path / "out", "--partner-env", f"REFERENCE_PARTNER_FLAWS={flaw}")
    assert (code, report["verdict"]) == (1, "blocked")
    guarantees = _guarantees(report)
    held_false = {gid for gid, g in guarantees.items() if g["held"] is False}
    assert broken <= held_false, guarantees
    failed = {s["id"] for s in report["scenarios"] if s["status"] == "fail"}
    assert broken <= failed


def test_two_locust_workers_give_the_same_verdict(tmp_path: Path) -> None:
    code, report = _load(tmp_path / "out", "--workers", "2")
    assert (code, report["verdict"]) == (0, "ready"), report["verdict_reasons"]
    assert report["load"]["settings"]["workers"] == 2
    assert all(g["held"] is True for g in report["load"]["guarantees"])


def test_a_partner_that_never_comes_up_is_a_harness_error(tmp_path: Path) -> None:
    manifest = bad_manifest(tmp_path, "exit")
    code, report = _load(tmp_path / "out", "--partner", str(manifest))
    assert (code, report["verdict"]) == (2, "blocked")
    assert report["harness_errors"] and "PartnerUnreachable" in report["harness_errors"][0]
    assert {s["status"] for s in report["scenarios"]} == {"error"}


def test_a_partner_answering_garbage_is_never_ready(tmp_path: Path) -> None:
    manifest = bad_manifest(tmp_path, "badjson")
    code, report = _load(tmp_path / "out", "--partner", str(manifest))
    assert code != 0 and report["verdict"] == "blocked"
    assert _guarantees(report)["load.answers_readable"]["held"] is None
