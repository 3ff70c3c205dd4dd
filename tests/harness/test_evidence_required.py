"""No pass without the case having happened: a scenario whose case was never met is an error.

Each partner here is wrong in a way another scenario judges (a broken accept route, a partner
that never polls); these tests hold that the scenarios below do not pass it for want of
anything to look at.
"""

from __future__ import annotations

from pathlib import Path

from conformance.results import Status
from conformance.runner import run_catalogue

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference_partner"
ACCEPT_PATH = 'path = "/api/orders/{order_ref}/accept"'


def _broken_accept(tmp_path: Path) -> Path:
    """The reference manifest with its accept sent to a route the partner does not have."""
    text = (REFERENCE / "manifest.toml").read_text()
    assert text.count(ACCEPT_PATH) == 1
    text = text.replace(ACCEPT_PATH, 'path = "/api/orders/{order_ref}/accept-no-such-route"')
    text = text.replace('cwd = ".."', f'cwd = "{REFERENCE.parent}"')
    path = tmp_path / "manifest.toml"
    path.write_text(text)
    return path


def test_provider_refusals_never_met_is_an_error(tmp_path: Path) -> None:
    """Quotes work, every accept is a 404: no transact meets a refusal, so nothing is decided."""
    scenario = "guards.provider_refusals"
    run = run_catalogue(manifest=_broken_accept(tmp_path), only=(scenario,))
    result = next(r for r in run.scenarios if r.scenario_id == scenario)
    assert result.status is Status.ERROR, (result.status, result.reason)
    assert "no transact reached the provider" in result.reason, result.reason


def test_daily_close_with_no_outcome_reached_is_an_error() -> None:
    """A partner that never reads the provider's status leaves every trade reserved: the day
    never happened, so "expected 0, posted 0" must not reconcile (settlement.partner_polls
    fails that partner)."""
    scenario = "recon.daily_close"
    run = run_catalogue(manifest=None, only=(scenario,),
                        partner_env={"REFERENCE_PARTNER_FLAWS": "webhook_only"})
    result = next(r for r in run.scenarios if r.scenario_id == scenario)
    assert result.status is Status.ERROR, (result.status, result.reason)
    assert "outcomes were not reached" in result.reason, result.reason
