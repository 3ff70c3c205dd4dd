"""An advisory finding (a page that sent two accepts, deduped by its backend) keeps a pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.findings import Severity
from conformance.plugin import item_results
from conformance.results import Status

SCENARIOS = '''
import pytest
from conformance.checks.browser import decide_blocking
from conformance.findings import Severity

@pytest.mark.threat("duplicates.double_click_ui", question="RQ3")
def test_advisory_only(evidence):
    evidence.finding("the page sent 2 accepts", fix="guard the button", severity=Severity.ADVISORY)
    decide_blocking(evidence)

@pytest.mark.threat("expiry.ui_disabled", question="RQ1")
def test_blocker_and_advisory(evidence):
    evidence.finding("Accept still enabled", fix="disable it")
    evidence.finding("the page sent 2 accepts", fix="guard the button", severity=Severity.ADVISORY)
    decide_blocking(evidence)
'''


class _Grab:
    config: pytest.Config | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config


def test_advisory_finding_passes_and_blocker_fails(tmp_path: Path) -> None:
    (tmp_path / "test_advisory_scenarios.py").write_text(SCENARIOS)
    grab = _Grab()
    pytest.main([str(tmp_path), "-q", "-p", "no:cacheprovider", f"--rootdir={tmp_path}",
                 "-o", "asyncio_default_fixture_loop_scope=function"], plugins=[grab])
    assert grab.config is not None
    results = {o.scenario_id: o.result for o in item_results(grab.config).values()}
    advisory = results["duplicates.double_click_ui"]
    assert advisory.status is Status.PASS
    assert [f.severity for f in advisory.findings] == [Severity.ADVISORY]
    blocked = results["expiry.ui_disabled"]
    assert blocked.status is Status.FAIL
    assert {f.severity for f in blocked.findings} == {Severity.BLOCKER, Severity.ADVISORY}
