"""The plugin decides from what a scenario recorded: no pass without positive evidence.

Tiny scenario modules run through the real plugin (pytest in-process, as pytester would);
each shows one rule: a blocker finding fails whatever else happened, a scenario that never
made its declared observations is an error, an unreadable answer is an error, a harness
assertion is an error (never the partner's failure), advisories keep a pass.
"""

from __future__ import annotations

import pytest

from conformance.findings import Severity
from conformance.plugin import item_results
from conformance.results import ScenarioResult, Status

SCENARIOS = '''
import pytest
from conformance.errors import PartnerGarbage
from conformance.findings import Severity

@pytest.mark.threat("duplicates.double_click_ui", question="RQ3", observes=("exactly_one_trade",))
def test_advisory_only(evidence):
    evidence.observed("exactly_one_trade")
    evidence.finding("the page sent 2 accepts", fix="guard the button", severity=Severity.ADVISORY)

@pytest.mark.threat("expiry.ui_disabled", question="RQ1", observes=("accept_disabled",))
def test_blocker_without_decide(evidence):
    evidence.finding("Accept still enabled", fix="disable it")
    evidence.finding("the page sent 2 accepts", fix="guard the button", severity=Severity.ADVISORY)

@pytest.mark.threat("expiry.backend_transact", question="RQ1", observes=("refused",))
def test_returns_without_observing(evidence):
    evidence.step("did nothing decisive")

@pytest.mark.threat("expiry.boundary", question="RQ1", observes=("refused",))
def test_unreadable_answer(evidence):
    evidence.observed("refused")
    evidence.unreadable("accept answered HTTP 200 without a state at /status")

@pytest.mark.threat("trace.order_record", question="RQ5", observes=("order_record",))
def test_harness_assertion(evidence):
    assert 1 == 2, "a harness bug"

@pytest.mark.threat("guards.amount_limit", observes=("refused",))
def test_blocker_then_harness_error(evidence):
    evidence.finding("amount 1.00 was quoted", fix="check limits")
    raise PartnerGarbage("then the partner answered garbage")

@pytest.mark.threat("guards.unsupported_network")
def test_declares_nothing(evidence):
    evidence.observed("refused")

@pytest.mark.threat("ops.stuck_reserved_alert", observes=("alerts_read",))
def test_advisory_scenario_finding(evidence):
    evidence.observed("alerts_read")
    evidence.finding("trade stuck and not alerted", fix="alert on it")

@pytest.mark.threat("ledger.webhook_forged", question="RQ4", observes=("forged_refused",))
def test_all_observed(evidence):
    evidence.check(True, "unused", fix="unused", observes="forged_refused")
'''


class _Grab:
    config: pytest.Config | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ScenarioResult]:
    tmp_path = tmp_path_factory.mktemp("decides")
    (tmp_path / "test_decides_scenarios.py").write_text(SCENARIOS)
    grab = _Grab()
    pytest.main([str(tmp_path), "-q", "-p", "no:cacheprovider", f"--rootdir={tmp_path}",
                 "-o", "asyncio_default_fixture_loop_scope=function",
                 f"--conformance-out={tmp_path / 'report'}"], plugins=[grab])
    assert grab.config is not None
    return {o.scenario_id: o.result for o in item_results(grab.config).values()}


def test_advisory_finding_keeps_a_pass(results: dict[str, ScenarioResult]) -> None:
    advisory = results["duplicates.double_click_ui"]
    assert advisory.status is Status.PASS
    assert [f.severity for f in advisory.findings] == [Severity.ADVISORY]


def test_blocker_fails_without_any_call_to_decide(results: dict[str, ScenarioResult]) -> None:
    blocked = results["expiry.ui_disabled"]
    assert blocked.status is Status.FAIL
    assert {f.severity for f in blocked.findings} == {Severity.BLOCKER, Severity.ADVISORY}
    assert "Accept still enabled" in blocked.reason


def test_no_declared_observation_is_an_error(results: dict[str, ScenarioResult]) -> None:
    result = results["expiry.backend_transact"]
    assert result.status is Status.ERROR
    assert result.reason.startswith("no evidence:") and "refused" in result.reason


def test_unreadable_answer_is_an_error(results: dict[str, ScenarioResult]) -> None:
    result = results["expiry.boundary"]
    assert result.status is Status.ERROR
    assert "did not match the manifest" in result.reason


def test_harness_assertion_is_an_error_not_a_failure(results: dict[str, ScenarioResult]) -> None:
    result = results["trace.order_record"]
    assert result.status is Status.ERROR
    assert "harness assertion" in result.reason


def test_blocker_stands_when_the_scenario_then_errors(results: dict[str, ScenarioResult]) -> None:
    result = results["guards.amount_limit"]
    assert result.status is Status.FAIL
    assert "amount 1.00 was quoted" in result.reason and "PartnerGarbage" in result.reason


def test_scenario_without_declared_observations_is_an_error(
    results: dict[str, ScenarioResult],
) -> None:
    result = results["guards.unsupported_network"]
    assert result.status is Status.ERROR
    assert "declares no decisive observations" in result.reason


def test_advisory_scenario_fails_on_its_finding(results: dict[str, ScenarioResult]) -> None:
    result = results["ops.stuck_reserved_alert"]
    assert result.status is Status.FAIL
    assert [f.severity for f in result.findings] == [Severity.ADVISORY]


def test_all_observed_without_findings_passes(results: dict[str, ScenarioResult]) -> None:
    assert results["ledger.webhook_forged"].status is Status.PASS


def test_plugin_module_has_no_partner_findings_exception() -> None:
    import conformance.driver.recorder as recorder

    assert not hasattr(recorder, "PartnerFindings")
    assert not hasattr(recorder.EvidenceRecorder, "decide")
    # The driver records facts; findings are made in the deciders' ScenarioRecorder.
    assert not hasattr(recorder.EvidenceRecorder, "finding")


def test_mutated_scenario_that_skips_its_decisive_step_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mutation: make the decisive named checks do nothing; the scenarios must not pass."""
    from conformance.checks import named
    from conformance.runner import run_catalogue

    def skipped(*args: object, **kwargs: object) -> bool:
        return True  # the decisive step, skipped: no observation, no finding

    monkeypatch.setattr(named, "nothing_reached_provider", skipped)
    monkeypatch.setattr(named, "refused", skipped)
    chosen = ("expiry.backend_transact", "guards.amount_limit")
    run = run_catalogue(manifest=None, only=chosen)
    by_id = {r.scenario_id: r for r in run.scenarios}
    for scenario_id in chosen:
        assert by_id[scenario_id].status is Status.ERROR, by_id[scenario_id]
        assert by_id[scenario_id].reason.startswith("no evidence:"), by_id[scenario_id].reason

