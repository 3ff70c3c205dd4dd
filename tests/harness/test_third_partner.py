"""A third partner of another shape, certified from its manifest alone: ready; its flaws caught.

Osprey Exchange (fixtures/third_partner) is Node 20 with built-in modules only: its accept
queues the work (202, no trade id) for a worker that transacts later, it keeps one finance
ledger for every customer, its API and its page need its own login (a bearer token, a
cookie), and its quote page needs more fields than the quote (a name, a pool select, a
terms checkbox). No scenario may mistake that shape for a flaw, and the flaws typical of it
(a worker that does not re-check expiry, a worker that retries with a new key) must be
caught by the scenarios that own them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.results import Status
from conformance.runner import run_catalogue

MANIFEST = Path(__file__).resolve().parents[2] / "fixtures" / "third_partner" / "manifest.toml"
CAUGHT_BY: dict[str, tuple[str, ...]] = {
    "worker_skips_expiry_check": ("expiry.backend_transact", "expiry.boundary"),
    "worker_new_key_per_retry": (
        "duplicates.timeout_retry",
        "duplicates.key_stability",
        "guards.provider_refusals",
    ),
}


def test_third_partner_certifies_ready_from_its_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certify", "--partner", str(MANIFEST), "--out", str(tmp_path)]) == 0, (
        capsys.readouterr().out
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["partner_name"].startswith("Osprey Exchange")
    statuses = {s["id"]: (s["status"], s.get("reason")) for s in report["scenarios"]}
    assert all(status == "pass" for status, _ in statuses.values()), statuses
    assert not report.get("waivers")
    # Each scenario carries its slice of the partner's own log (one line per request).
    assert all(s["evidence"]["partner_log"] for s in report["scenarios"]), [
        s["id"] for s in report["scenarios"] if not s["evidence"]["partner_log"]
    ]


@pytest.mark.parametrize(
    ("flaw", "expected"),
    [pytest.param(flaw, expected, id=flaw) for flaw, expected in CAUGHT_BY.items()],
)
def test_third_partner_flaw_fails_its_scenarios(flaw: str, expected: tuple[str, ...]) -> None:
    run = run_catalogue(manifest=MANIFEST, only=expected, partner_env={"OSPREY_FLAWS": flaw})
    by_id = {r.scenario_id: r for r in run.scenarios}
    for scenario_id in expected:
        result = by_id[scenario_id]
        assert result.status is Status.FAIL, (scenario_id, result.status, result.reason)
        assert result.findings and result.reason, scenario_id
