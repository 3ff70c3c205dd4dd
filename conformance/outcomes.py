"""Test outcomes → one result per scenario → one run: the one path for certify and pytest.

The plugin records each test item's result here as pytest reports it (the worst phase
wins), and combines a scenario's items into one :class:`ScenarioResult` as soon as the
last of them finishes. ``certify`` (the runner) and the pytest route (the plugin's session
end) both read :attr:`OutcomeCollector.done` into the one :func:`assemble`. Which status is
worse, and when a scenario is not applicable at all, is written here once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from conformance import __version__
from conformance.catalogue import CATALOGUE_VERSION, SCENARIOS
from conformance.results import RunResult, ScenarioResult, SkipKind, Status

if TYPE_CHECKING:
    from conformance.catalogue import ScenarioSpec
    from conformance.driver.manifest import Manifest

Progress = Callable[[ScenarioResult], None]

# How bad an outcome is: of a scenario's test items (or of a test's phases) the worst decides.
RANK: Mapping[Status, int] = {
    Status.FAIL: 4,
    Status.ERROR: 3,
    Status.PASS: 2,
    Status.SKIPPED: 1,
    Status.WAIVED: 0,
}

# Why a browser scenario is not applicable: the one wording, for the skip and the report row.
NO_WEB_PAGES = "browser scenario: the manifest declares no [web] pages"


def applicable(spec: ScenarioSpec, manifest: Manifest) -> bool:
    """Whether a scenario can run for this manifest (a browser one needs its ``[web]``)."""
    return not (spec.browser and manifest.web is None)


def worse(new: ScenarioResult, old: ScenarioResult) -> bool:
    return RANK[new.status] > RANK[old.status]


def combine(scenario_id: str, results: Sequence[ScenarioResult]) -> ScenarioResult:
    """One result per scenario from its test items: the worst status decides."""
    if len(results) == 1:
        return results[0]
    worst = max(results, key=lambda r: RANK[r.status])
    reasons = "; ".join(r.reason for r in results if r.status == worst.status and r.reason)
    steps = tuple(s for r in results for s in r.evidence.steps)
    return ScenarioResult(
        scenario_id=scenario_id,
        status=worst.status,
        reason=reasons,
        duration_s=round(sum(r.duration_s for r in results), 3),
        findings=tuple(f for r in results for f in r.findings),
        evidence=type(worst.evidence)(
            steps=steps,
            ids=worst.evidence.ids,
            journal=worst.evidence.journal,
            screenshots=tuple(s for r in results for s in r.evidence.screenshots),
            partner_log=worst.evidence.partner_log,
            tables=worst.evidence.tables,
        ),
        skip_kind=worst.skip_kind,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One test item's result."""

    scenario_id: str
    result: ScenarioResult


@dataclass(slots=True)
class OutcomeCollector:
    """Every test item's outcome, and every scenario's result once all its items finished."""

    progress: Progress | None = None
    # Scenario id → the node ids selected to run it (after -k, -m and deselection).
    selected: dict[str, list[str]] = field(default_factory=dict)
    items: dict[str, Outcome] = field(default_factory=dict)
    done: dict[str, ScenarioResult] = field(default_factory=dict)

    def select(self, scenario_id: str, nodeid: str) -> None:
        self.selected.setdefault(scenario_id, []).append(nodeid)

    def record(self, nodeid: str, scenario_id: str, result: ScenarioResult) -> None:
        """Keep a test phase's result unless an earlier phase of the item was worse."""
        previous = self.items.get(nodeid)
        if previous is None or worse(result, previous.result):
            self.items[nodeid] = Outcome(scenario_id=scenario_id, result=result)

    def finished(self, nodeid: str) -> None:
        """A test item ended: a scenario whose items all reported gets its one result."""
        for scenario_id, nodeids in self.selected.items():
            if scenario_id in self.done or nodeid not in nodeids:
                continue
            if all(n in self.items for n in nodeids):
                result = combine(scenario_id, [self.items[n].result for n in nodeids])
                self.done[scenario_id] = result
                if self.progress is not None:
                    self.progress(result)


def assemble(
    *,
    loaded: Manifest,
    chosen: Sequence[ScenarioSpec],
    runnable: Collection[str],
    done: Mapping[str, ScenarioResult],
    collected: Collection[str],
    waived: Mapping[str, str],
    started_at: datetime,
    duration_s: float,
    harness_errors: Sequence[str] = (),
    interrupted: str = "",
    partner_log: str = "",
) -> RunResult:
    """Outcomes → one :class:`RunResult` with a row for every catalogue scenario.

    The one path from test outcomes to a run, for ``certify`` (the runner) and the pytest
    route (the plugin's session end), so the two can never disagree. ``waived`` holds the
    scenarios not run because a waiver in force covers them; ``collected`` the scenarios
    whose tests were collected (a collected scenario without a result did not finish).
    """
    results: list[ScenarioResult] = []
    for spec in SCENARIOS:
        if spec.id in waived and spec in chosen:
            results.append(
                ScenarioResult(
                    scenario_id=spec.id,
                    status=Status.WAIVED,
                    reason=f"waived by the manifest: {waived[spec.id]}",
                )
            )
        elif spec not in chosen:
            results.append(ScenarioResult(
                scenario_id=spec.id, status=Status.SKIPPED, skip_kind=SkipKind.DESELECTED,
                reason="not selected for this run",
            ))
        elif spec.id not in runnable:
            results.append(ScenarioResult(
                scenario_id=spec.id, status=Status.SKIPPED, skip_kind=SkipKind.NOT_APPLICABLE,
                reason=NO_WEB_PAGES,
            ))
        elif spec.id in done:
            results.append(done[spec.id])
        else:
            if interrupted:
                reason = f"run interrupted by {interrupted} before this scenario finished"
            elif spec.id in collected:
                reason = "harness error: the scenario's tests did not all report"
            else:
                reason = "harness error: no scenario test is installed for this id"
            results.append(ScenarioResult(scenario_id=spec.id, status=Status.ERROR, reason=reason))
    return RunResult(
        harness_version=__version__,
        catalogue_version=CATALOGUE_VERSION,
        partner_name=loaded.name,
        started_at=started_at.isoformat(),
        finished_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        duration_s=round(duration_s, 3),
        scenarios=tuple(results),
        waivers=loaded.waivers,
        harness_errors=tuple(harness_errors),
        interrupted=interrupted,
        partial=len(chosen) < len(SCENARIOS),
        partner_log=partner_log,
    )
