"""Run the scenario catalogue programmatically (pytest in-process) and return a RunResult."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conformance import interrupt
from conformance.catalogue import SCENARIOS, SCENARIOS_BY_ID, ScenarioSpec
from conformance.errors import ConformanceError
from conformance.outcomes import OutcomeCollector, Progress, applicable, assemble
from conformance.plugin import (
    OPTION_OUT,
    OPTION_PARTNER,
    OPTION_PARTNER_ENV,
    RUNNER_KEY,
    SHARED_REDACTOR_KEY,
    bundled_fixtures,
    default_manifest_path,
    state,
    threat_id,
)
from conformance.redact import Redactor

if TYPE_CHECKING:
    from conformance.driver.manifest import Manifest
from conformance.results import RunResult, ScenarioResult, Status


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


class _Selection:
    """A pytest plugin object: deselects what was not chosen; certify writes the report."""

    def __init__(self, chosen: set[str], progress: Progress | None) -> None:
        self.chosen = chosen
        self.progress = progress
        self.config: pytest.Config | None = None
        self.redactor: Redactor | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        config.stash[RUNNER_KEY] = True  # certify writes the report, not the session end
        state(config).collector.progress = self.progress
        if self.redactor is not None:
            config.stash[SHARED_REDACTOR_KEY] = self.redactor

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            (keep if threat_id(item) in self.chosen else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep


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
        s.id for s in chosen_specs if applicable(s, loaded) and (run_waived or s.id not in waived)
    }
    clock = time.monotonic()
    selection = _Selection(runnable, progress)
    selection.redactor = redactor
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
    collector = OutcomeCollector()
    if runnable:
        exit_code = pytest.main(args, plugins=[selection])
        config = selection.config
        if config is not None:
            harness_errors.extend(state(config).harness_errors)
            partner_log = state(config).startup_log
            collector = state(config).collector
        if exit_code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            harness_errors.append(f"pytest could not run the scenarios (exit {int(exit_code)})")
        if exit_code == pytest.ExitCode.INTERRUPTED:
            interrupted = interrupt.received_name() or "SIGINT"
    return assemble(
        loaded=loaded,
        chosen=chosen_specs,
        runnable=runnable,
        done=collector.done,
        collected=collector.selected,
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
    runnable = [s.id for s in chosen if applicable(s, loaded)]
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
