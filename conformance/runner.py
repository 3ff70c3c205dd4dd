"""Run the scenario catalogue programmatically (pytest in-process) and return a RunResult."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conformance import __version__, interrupt
from conformance.catalogue import CATALOGUE_VERSION, SCENARIOS, SCENARIOS_BY_ID, ScenarioSpec
from conformance.errors import ConformanceError
from conformance.plugin import (
    OPTION_OUT,
    OPTION_PARTNER,
    OPTION_PARTNER_ENV,
    RUNNER_KEY,
    SHARED_REDACTOR_KEY,
    bundled_fixtures,
    default_manifest_path,
    item_results,
    state,
    threat_id,
)
from conformance.redact import Redactor

if TYPE_CHECKING:
    from conformance.driver.manifest import Manifest
from conformance.results import RunResult, ScenarioResult, SkipKind, Status

Progress = Callable[[ScenarioResult], None]
_RANK = {Status.FAIL: 4, Status.ERROR: 3, Status.PASS: 2, Status.SKIPPED: 1, Status.WAIVED: 0}


def scenarios_dir() -> Path:
    """The scenario modules: the checkout's ``scenarios/`` or the wheel's bundled copy."""
    checkout = bundled_fixtures().parent / "scenarios"
    if checkout.is_dir():
        return checkout
    import conformance

    return Path(conformance.__file__).resolve().parent / "_bundled" / "scenarios"


def select(only: Sequence[str], skip: Sequence[str]) -> tuple[ScenarioSpec, ...]:
    """Catalogue rows chosen by id or group name; an unknown name is a harness error."""
    groups = {s.group for s in SCENARIOS}

    def matches(spec: ScenarioSpec, names: Sequence[str]) -> bool:
        return any(n == spec.id or n == spec.group for n in names)

    for name in (*only, *skip):
        if name not in SCENARIOS_BY_ID and name not in groups:
            raise ConformanceError(f"unknown scenario id or group {name!r}")
    return tuple(s for s in SCENARIOS if (not only or matches(s, only)) and not matches(s, skip))


def combine(scenario_id: str, results: Sequence[ScenarioResult]) -> ScenarioResult:
    """One result per scenario from its test items: the worst status decides."""
    if len(results) == 1:
        return results[0]
    worst = max(results, key=lambda r: _RANK[r.status])
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


class _Collector:
    """A pytest plugin object: deselects what was not chosen and reports scenarios as they end."""

    def __init__(self, chosen: set[str], progress: Progress | None) -> None:
        self.chosen = chosen
        self.progress = progress
        self.items: dict[str, list[str]] = {}
        self.done: dict[str, ScenarioResult] = {}
        self.config: pytest.Config | None = None
        self.redactor: Redactor | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        config.stash[RUNNER_KEY] = True  # certify writes the report, not the session end
        if self.redactor is not None:
            config.stash[SHARED_REDACTOR_KEY] = self.redactor

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep, drop = [], []
        for item in items:
            scenario_id = threat_id(item)
            if scenario_id in self.chosen:
                keep.append(item)
                self.items.setdefault(scenario_id, []).append(item.nodeid)
            else:
                drop.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        assert self.config is not None
        outcomes = item_results(self.config)
        for scenario_id, nodeids in self.items.items():
            if scenario_id in self.done or nodeid not in nodeids:
                continue
            if all(n in outcomes for n in nodeids):
                result = combine(scenario_id, [outcomes[n].result for n in nodeids])
                self.done[scenario_id] = result
                if self.progress is not None:
                    self.progress(result)


def run_catalogue(
    *,
    manifest: Path | None,
    only: Sequence[str] | None = (),
    skip: Sequence[str] | None = (),
    progress: Progress | None = None,
    partner_env: Mapping[str, str] | None = None,
    out_dir: Path | None = None,
    redactor: Redactor | None = None,
    verbose: bool = False,
    run_waived: bool = False,
) -> RunResult:
    """Run the chosen scenarios against the manifest's partner; every catalogue row gets a result.

    A bad manifest raises :class:`ManifestError` before anything starts (the CLI exits 2);
    a partner that cannot be started makes every chosen scenario ``error`` (fail closed).
    With ``out_dir``, browser screenshots and the scanner's ``secrets.sarif`` are written
    there; with ``redactor``, every secret of the run is added to it. ``verbose`` keeps
    pytest's own terminal output (tracebacks of failing checks) for debugging.
    ``run_waived`` runs waived scenarios too and returns what they did (the verdict still
    counts them waived), so a stale waiver shows; an expired waiver (past ``expires`` on
    the run's start date) is not honoured here at all.
    """
    from conformance.driver.manifest import load_manifest

    path = Path(manifest) if manifest is not None else default_manifest_path()
    loaded = load_manifest(path)  # raises ManifestError naming the field
    chosen_specs = select(only or (), skip or ())
    started_at = datetime.now(UTC).replace(microsecond=0)
    waived = {w.target: w.reason for w in loaded.waivers if w.in_force(started_at.date())}
    runnable = {
        s.id
        for s in chosen_specs
        if not (s.browser and loaded.web is None) and (run_waived or s.id not in waived)
    }
    clock = time.monotonic()
    collector = _Collector(runnable, progress)
    collector.redactor = redactor
    args = [
        str(scenarios_dir()),
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        f"{OPTION_PARTNER}={path}",
    ]
    # Quiet: the progress callback is the display; pytest's own lines would interleave.
    args += ["--tb=short", "-rN", "-q"] if verbose else ["-p", "no:terminal"]
    for name, value in (partner_env or {}).items():
        args.append(f"{OPTION_PARTNER_ENV}={name}={value}")
    if out_dir is not None:
        args.append(f"{OPTION_OUT}={Path(out_dir).resolve()}")
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args[1:1] = ["-p", "conformance.plugin", "-p", "asyncio"]
    harness_errors: list[str] = []
    interrupted = ""
    partner_log = ""
    if runnable:
        exit_code = pytest.main(args, plugins=[collector])
        config = collector.config
        if config is not None:
            harness_errors.extend(state(config).harness_errors)
            partner_log = state(config).startup_log
        if exit_code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            harness_errors.append(f"pytest could not run the scenarios (exit {int(exit_code)})")
        if exit_code == pytest.ExitCode.INTERRUPTED:
            interrupted = interrupt.received_name() or "SIGINT"
    return assemble(
        loaded=loaded,
        chosen=chosen_specs,
        runnable=runnable,
        done=collector.done,
        collected=collector.items,
        waived=waived if not run_waived else {},
        started_at=started_at,
        duration_s=time.monotonic() - clock,
        harness_errors=harness_errors,
        interrupted=interrupted,
        partner_log=partner_log,
    )


def stopped_run(
    loaded: Manifest,
    *,
    only: Sequence[str] | None,
    skip: Sequence[str] | None,
    reason: str,
    started_at: datetime,
    duration_s: float,
    harness_error: str = "",
    interrupted: str = "",
) -> RunResult:
    """A run that stopped before its scenarios ran: every chosen one is ``error`` with
    ``reason`` (a failed preflight, a cancelled run)."""
    chosen = select(only or (), skip or ())
    runnable = [s.id for s in chosen if not (s.browser and loaded.web is None)]
    waived = {w.target: w.reason for w in loaded.waivers if w.in_force(started_at.date())}
    return assemble(
        loaded=loaded,
        chosen=chosen,
        runnable=runnable,
        done={
            sid: ScenarioResult(scenario_id=sid, status=Status.ERROR, reason=reason)
            for sid in runnable
        },
        collected=runnable,
        waived=waived,
        started_at=started_at,
        duration_s=duration_s,
        harness_errors=(harness_error,) if harness_error else (),
        interrupted=interrupted,
    )


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
                reason="browser scenario: the manifest declares no [web] pages",
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


def summary_line(result: RunResult) -> str:
    counts: dict[str, int] = {}
    for r in result.scenarios:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
