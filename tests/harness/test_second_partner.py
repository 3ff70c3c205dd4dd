"""A partner that is not the reference one, certified from its manifest alone: ready.

Kestrel Pay (fixtures/second_partner) is stdlib http.server + sqlite3 with other routes,
field names, state names, key scheme and ledger representation: the harness must not be
tuned to the reference partner's shapes. It ships no client, so the browser scenarios and
the bundle scan do not apply, and its manifest waives RQ2 with a written reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.catalogue import SCENARIOS
from conformance.cli import main

MANIFEST = Path(__file__).resolve().parents[2] / "fixtures" / "second_partner" / "manifest.toml"
NO_CLIENT = {s.id for s in SCENARIOS if s.browser} | {"secrets.bundle_scan"}


def test_second_partner_certifies_ready_from_its_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certify", "--partner", str(MANIFEST), "--out", str(tmp_path)]) == 0
    assert "verdict: READY" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["partner_name"].startswith("Kestrel Pay")
    statuses = {s["id"]: s["status"] for s in report["scenarios"]}
    assert {sid for sid, status in statuses.items() if status == "skipped"} == NO_CLIENT
    assert all(status == "pass" for sid, status in statuses.items() if sid not in NO_CLIENT)
    # Each scenario that ran carries its slice of the partner's own log.
    ran = [s for s in report["scenarios"] if s["id"] not in NO_CLIENT and s["status"] == "pass"]
    assert all(s["evidence"]["partner_log"] for s in ran), [
        s["id"] for s in ran if not s["evidence"]["partner_log"]
    ]
    rq2 = next(q for q in report["questions"] if q["id"] == "RQ2")
    assert rq2["answer"] == "unanswered" and rq2["waiver"] and not rq2["blocks"]
    assert "Server-to-server integration" in (tmp_path / "summary.md").read_text()
