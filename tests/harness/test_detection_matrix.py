"""The detection matrix: each flaw (DESIGN §5 and extensions) fails exactly its scenario(s).

The reference partner is started with ``REFERENCE_PARTNER_FLAWS=<flaw>`` through the
manifest's extra environment (the test sets it; the harness never reads flaw switches),
and only that flaw's scenarios run, to keep CI time bounded.
"""

from __future__ import annotations

import pytest

from conformance.catalogue import SCENARIOS
from conformance.results import Status
from conformance.runner import run_catalogue

CAUGHT_BY: dict[str, tuple[str, ...]] = {
    "no_backend_expiry_check": ("expiry.backend_transact",),
    "requote_on_accept": ("duplicates.double_submit_api",),
    "new_key_per_attempt": ("duplicates.timeout_retry", "duplicates.key_stability"),
    "no_retry_on_timeout": ("duplicates.timeout_retry",),
    "ignores_conflict": ("duplicates.conflict_handled",),
    "credit_on_reserved": ("ledger.no_credit_on_reserved",),
    "no_event_dedupe": ("ledger.webhook_replay",),
    "dedupe_not_atomic": ("ledger.webhook_replay",),
    "no_signature_check": ("ledger.webhook_forged",),
    "no_timestamp_tolerance": ("ledger.webhook_forged",),
    "status_regression": ("ledger.out_of_order",),
    "drops_early_webhook": ("ledger.out_of_order",),
    "secret_in_order_record": ("trace.order_record",),
    "no_trade_id_in_record": ("trace.order_record",),
    "float_amounts": ("recon.daily_close",),
    "no_owner_check": ("guards.account_ownership",),
    "ignores_returned": ("ledger.returned_reversal",),
    "webhook_only": ("settlement.partner_polls",),
    "no_limit_check": ("guards.amount_limit",),
    "no_network_check": ("guards.unsupported_network",),
    "no_balance_check": ("guards.prefunded_balance",),
    "crash_on_unavailable": ("guards.quote_unavailable",),
    "crash_on_bad_input": ("robustness.bad_input",),
    # Extension flaws (not in DESIGN §5): every scenario has a flaw that proves it can fail.
    "overcautious_expiry": ("expiry.boundary",),
    "retry_storm_on_429": ("guards.provider_refusals",),
    "alerts_miss_stuck_reserved": ("ops.stuck_reserved_alert",),
    # The seed's checklist (issue 12): logs support can use, with no secrets.
    "secret_in_logs": ("logs.no_secrets",),
    "logs_without_ids": ("logs.traceable",),
    "secret_in_mobile_config": ("secrets.bundle_scan",),
}
# Scenarios of this area (HTTP level): every catalogue row but the browser ones and the scan.
HTTP_SCENARIOS = tuple(s.id for s in SCENARIOS if not s.browser and s.id != "secrets.bundle_scan")


@pytest.mark.parametrize(
    ("flaw", "expected"),
    [pytest.param(flaw, expected, id=flaw) for flaw, expected in CAUGHT_BY.items()],
)
def test_flaw_fails_its_scenarios(flaw: str, expected: tuple[str, ...]) -> None:
    run = run_catalogue(manifest=None, only=expected, partner_env={"REFERENCE_PARTNER_FLAWS": flaw})
    by_id = {r.scenario_id: r for r in run.scenarios}
    for scenario_id in expected:
        result = by_id[scenario_id]
        assert result.status is Status.FAIL, (scenario_id, result.status, result.reason)
        assert result.findings, scenario_id
        assert result.reason, scenario_id
    assert all(r.status is Status.SKIPPED for r in run.scenarios if r.scenario_id not in expected)


def test_flawless_partner_passes_every_http_scenario() -> None:
    seen: list[str] = []
    run = run_catalogue(
        manifest=None, only=HTTP_SCENARIOS, progress=lambda r: seen.append(r.scenario_id)
    )
    failed = {
        r.scenario_id: (r.status.value, r.reason)
        for r in run.scenarios
        if r.scenario_id in HTTP_SCENARIOS and r.status is not Status.PASS
    }
    assert not failed
    assert sorted(seen) == sorted(HTTP_SCENARIOS)
    # Each scenario carries its slice of the partner's own log (issue 18).
    quiet = [r.scenario_id for r in run.scenarios
             if r.scenario_id in HTTP_SCENARIOS and not r.evidence.partner_log]
    assert not quiet
    assert run.duration_s < 120
