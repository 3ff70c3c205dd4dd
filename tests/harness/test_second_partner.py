"""A partner that is not the reference one, certified from its manifest alone, passes.

Kestrel Pay (fixtures/second_partner) is stdlib http.server + sqlite3 with other routes,
field names, state names, key scheme and ledger representation: the harness must not be
tuned to the reference partner's shapes.
"""

from __future__ import annotations

from pathlib import Path

from conformance.catalogue import SCENARIOS
from conformance.results import SkipKind, Status
from conformance.runner import run_catalogue

MANIFEST = Path(__file__).resolve().parents[2] / "fixtures" / "second_partner" / "manifest.toml"
HTTP_SCENARIOS = tuple(s.id for s in SCENARIOS if not s.browser and s.id != "secrets.bundle_scan")


def test_second_partner_passes_every_http_scenario() -> None:
    run = run_catalogue(manifest=MANIFEST, only=HTTP_SCENARIOS)
    assert run.partner_name.startswith("Kestrel Pay")
    not_passed = {r.scenario_id: (r.status.value, r.reason) for r in run.scenarios
                  if r.scenario_id in HTTP_SCENARIOS and r.status is not Status.PASS}
    assert not not_passed


def test_browser_scenarios_not_applicable_without_web() -> None:
    run = run_catalogue(manifest=MANIFEST, only=("expiry.ui_disabled",))
    (result,) = [r for r in run.scenarios if r.scenario_id == "expiry.ui_disabled"]
    assert result.status is Status.SKIPPED and result.skip_kind is SkipKind.NOT_APPLICABLE
    others = [r for r in run.scenarios if r.scenario_id != "expiry.ui_disabled"]
    assert all(r.skip_kind is SkipKind.DESELECTED for r in others)
