"""The partner's own log reaches each scenario's evidence, redacted in every encoding (issue 18).

A partner that writes one line per request shows those lines in the evidence of the scenario
that made the requests, also when the scenario fails or errors; a partner that prints its
secret key (raw, base64, hex) shows only the redaction marker, in the evidence and in every
report file.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conformance.driver.partner import PartnerProcess, ProviderAccess
from conformance.redact import REDACTED, Redactor
from conformance.report import write_report
from conformance.runner import run_catalogue

from .degenerate_manifest import degenerate_manifest

CHOSEN = ("guards.amount_limit", "trace.order_record")
KEY = "sk_test_" + "k" * 32


def test_each_scenario_carries_its_slice_of_the_partner_log(tmp_path: Path) -> None:
    manifest = degenerate_manifest(
        tmp_path, "yes_man", extra_env={"DEGENERATE_LEAK_SECRET": "1"}
    )
    redactor = Redactor()
    run = run_catalogue(manifest=manifest, only=CHOSEN, redactor=redactor)
    results = {r.scenario_id: r for r in run.scenarios if r.scenario_id in CHOSEN}
    for scenario_id, result in results.items():
        log = result.evidence.partner_log
        # yes_man fails or errors these scenarios: the log is kept whatever the outcome.
        assert "request " in log and "POST /api/quotes" in log, (scenario_id, log[:300])
        assert REDACTED in log, scenario_id
        # Its own requests, and only those: one log line per create_quote it made.
        made = sum(1 for step in result.evidence.steps if step.action == "create_quote")
        assert log.count("POST /api/quotes") == made > 0, (scenario_id, made, log)
    # No encoding of the run's secret key anywhere in the report.
    out = tmp_path / "report"
    write_report(run, out, redactor=redactor)
    secrets = [s for s in redactor.secrets if s.startswith("sk_test_")]
    assert secrets, "the run's secret key was registered for redaction"
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for secret in secrets:
                key = secret.encode()
                for needle in (secret, base64.b64encode(key).decode().rstrip("="), key.hex()):
                    assert needle not in text, (path.name, "leaked")
    document = json.loads((out / "report.json").read_text())
    logs = [s["evidence"]["partner_log"] for s in document["scenarios"] if s["id"] in CHOSEN]
    assert all(REDACTED in log for log in logs)


def test_partner_start_up_output_is_redacted_by_value(tmp_path: Path) -> None:
    manifest = degenerate_manifest(
        tmp_path, "yes_man", extra_env={"DEGENERATE_LEAK_SECRET": "1"}
    )
    from conformance.driver.manifest import load_manifest

    process = PartnerProcess(load_manifest(manifest), redactor=Redactor())
    access = ProviderAccess(
        api_url="http://127.0.0.1:9/v1", secret_key=KEY,
        publishable_key="pk_test_" + "p" * 32, webhook_secret="whsec_" + "w" * 32,
    )
    with process:
        process.start(access)
        log = process.log()
    assert "degenerate partner (yes_man)" in log
    raw = KEY.encode()
    for needle in (KEY, base64.b64encode(raw).decode().rstrip("="), raw.hex()):
        assert needle not in log
    assert log.count(REDACTED) >= 3
