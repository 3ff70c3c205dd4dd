"""Run the scenario catalogue programmatically (pytest in-process) and return a RunResult."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conformance import __version__
from conformance.catalogue import CATALOGUE_VERSION, SCENARIOS, SCENARIOS_BY_ID, ScenarioSpec
from conformance.errors import ConformanceError
from conformance.plugin import (
    OPTION_OUT,
    OPTION_PARTNER,
    OPTION_PARTNER_ENV,
    SHARED_REDACTOR_KEY,
    bundled_fixtures,
    default_manifest_path,
    item_results,
    state,
    threat_id,
)
from conformance.redact import Redactor
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
) -> RunResult:
    """Run the chosen scenarios against the manifest's partner; every catalogue row gets a result.

    A bad manifest raises :class:`ManifestError` before anything starts (the CLI exits 2);
    a partner that cannot be started makes every chosen scenario ``error`` (fail closed).
    With ``out_dir``, browser screenshots and the scanner's ``secrets.sarif`` are written
    there; with ``redactor``, every secret of the run is added to it. ``verbose`` keeps
    pytest's own terminal output (tracebacks of failing checks) for debugging.
    """
    from conformance.driver.manifest import load_manifest

    path = Path(manifest) if manifest is not None else default_manifest_path()
    loaded = load_manifest(path)  # raises ManifestError naming the field
    chosen_specs = select(only or (), skip or ())
    waived = {w.target: w.reason for w in loaded.waivers}
    runnable = {
        s.id for s in chosen_specs if not (s.browser and loaded.web is None) and s.id not in waived
    }
    started_at = datetime.now(UTC).replace(microsecond=0)
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
    if runnable:
        exit_code = pytest.main(args, plugins=[collector])
        config = collector.config
        if config is not None:
            harness_errors.extend(state(config).harness_errors)
        if exit_code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            harness_errors.append(f"pytest could not run the scenarios (exit {int(exit_code)})")
    results: list[ScenarioResult] = []
    for spec in SCENARIOS:
        if spec.id in waived and spec in chosen_specs:
            results.append(
                ScenarioResult(
                    scenario_id=spec.id,
                    status=Status.WAIVED,
                    reason=f"waived by the manifest: {waived[spec.id]}",
                )
            )
            continue
        results.append(_final(spec, chosen_specs, runnable, collector))
    return RunResult(
        harness_version=__version__,
        catalogue_version=CATALOGUE_VERSION,
        partner_name=loaded.name,
        started_at=started_at.isoformat(),
        finished_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        duration_s=round(time.monotonic() - clock, 3),
        scenarios=tuple(results),
        waivers=loaded.waivers,
        harness_errors=tuple(harness_errors),
    )


def _final(
    spec: ScenarioSpec, chosen: Sequence[ScenarioSpec], runnable: set[str], collector: _Collector
) -> ScenarioResult:
    if spec not in chosen:
        return ScenarioResult(
            scenario_id=spec.id,
            status=Status.SKIPPED,
            skip_kind=SkipKind.DESELECTED,
            reason="not selected for this run",
        )
    if spec.id not in runnable:
        return ScenarioResult(
            scenario_id=spec.id,
            status=Status.SKIPPED,
            skip_kind=SkipKind.NOT_APPLICABLE,
            reason="browser scenario: the manifest declares no [web] pages",
        )
    if spec.id in collector.done:
        return collector.done[spec.id]
    if spec.id in collector.items:
        reason = "harness error: the scenario's tests did not all report (run interrupted?)"
    else:
        reason = "harness error: no scenario test is installed for this id"
    return ScenarioResult(scenario_id=spec.id, status=Status.ERROR, reason=reason)


def summary_line(result: RunResult) -> str:
    counts: dict[str, int] = {}
    for r in result.scenarios:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
