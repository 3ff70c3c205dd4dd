"""The pytest plugin (entry point ``pytest11``): run the scenarios against a partner manifest.

``pytest scenarios --partner MANIFEST -k duplicates`` starts one simulator and one partner
per session (lazily: only when a scenario asks for them), gives each scenario a driver
and an evidence recorder, and turns each test outcome into a :class:`ScenarioResult`
(a partner finding → fail, a harness error → error) kept in the config stash.
Cheap to import: the simulator and the driver load only when a fixture needs them.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance._util import parse_env_pairs
from conformance.outcomes import Outcome, OutcomeCollector
from conformance.results import ScenarioResult, SkipKind, Status

if TYPE_CHECKING:
    from conformance.checks.page_requests import BrowserLog
    from conformance.checks.provider import Provider
    from conformance.checks.scenario_recorder import ScenarioRecorder
    from conformance.checks.web_context import WebContext
    from conformance.driver.actions import Actions
    from conformance.driver.driver import Driver
    from conformance.driver.manifest import Manifest
    from conformance.driver.partner import PartnerProcess
    from conformance.driver.recorder import EvidenceRecorder
    from conformance.redact import Redactor
    from conformance.simulator import Simulator

OPTION_PARTNER = "--partner"
OPTION_PARTNER_ENV = "--partner-env"
OPTION_OUT = "--conformance-out"
MARKER = "threat"


@dataclass(slots=True)
class PluginState:
    """Everything the plugin keeps for a session (in the config stash, not in globals)."""

    # Each test item's outcome, each scenario's result (read by certify and the session end).
    collector: OutcomeCollector = field(default_factory=OutcomeCollector)
    harness_errors: list[str] = field(default_factory=list)
    startup_log: str = ""  # what the partner printed while it started (or why it died)
    summary: list[str] = field(default_factory=list)  # the verdict, for the terminal
    redactor: Redactor | None = None
    previous_handlers: Any = None


STATE_KEY = pytest.StashKey[PluginState]()
RECORDER_KEY = pytest.StashKey["ScenarioRecorder"]()
# The session's running partner (once started), and where its log stood when a test began.
PARTNER_KEY = pytest.StashKey["RunningPartner"]()
LOG_MARK_KEY = pytest.StashKey[int]()
# How much of the partner's log one scenario's evidence keeps (its last characters).
SCENARIO_LOG_CHARS = 20_000
NO_LOG = (
    "(no partner log: the partner runs at its own URL, not started by the harness, so its "
    "output was not captured)"
)
STARTED_KEY = pytest.StashKey[float]()
SESSION_STARTED_KEY = pytest.StashKey[float]()
# The runner's redactor (certify's), so every secret of the run is redacted in its output too.
SHARED_REDACTOR_KEY = pytest.StashKey["Redactor"]()
# Set by the runner: certify writes the report, so the plugin's session end does not.
RUNNER_KEY = pytest.StashKey[bool]()
# Where the pytest route writes its report without --conformance-out (below the invocation dir).
DEFAULT_OUT = "reports/pytest-{timestamp}"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "0Pools readiness harness")
    group.addoption(
        OPTION_PARTNER,
        action="store",
        default=None,
        metavar="MANIFEST",
        help="partner manifest (TOML or YAML); default: the bundled reference partner",
    )
    group.addoption(
        OPTION_PARTNER_ENV,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for a partner the harness starts (repeatable)",
    )
    group.addoption(
        OPTION_OUT,
        action="store",
        default=None,
        metavar="DIR",
        help="report directory: the readiness report (report.json, report.html, junit.xml, "
        "summary.md, secrets.sarif, manifest.sha256) and browser screenshots go here; "
        f"default {DEFAULT_OUT} below the current directory",
    )


def pytest_configure(config: pytest.Config) -> None:
    from conformance.hypothesis_profiles import load_profile

    config.stash[SESSION_STARTED_KEY] = time.time()
    load_profile()  # the scenario runs do not see the repository's root conftest.py
    config.addinivalue_line(
        "markers",
        f"{MARKER}(id, *, question=None, observes=()): the catalogue scenario (DESIGN §4) a "
        "test decides, its readiness question (RQ1..RQ6), and the decisive observations it "
        "must make to pass",
    )
    state(config)


def state(config: pytest.Config) -> PluginState:
    return config.stash.setdefault(STATE_KEY, PluginState())


def threat_id(item: pytest.Item) -> str | None:
    """The scenario id of a test, from its ``threat`` marker."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    if not marker.args or not isinstance(marker.args[0], str):
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.threat needs a scenario id")
    return marker.args[0]


def bundled_fixtures() -> Path:
    """The fixtures directory: the repo checkout's, or the copy bundled in the wheel."""
    import conformance

    package = Path(conformance.__file__).resolve().parent
    checkout = package.parent / "fixtures"
    if (checkout / "reference_partner" / "manifest.toml").is_file():
        return checkout
    return package / "_bundled" / "fixtures"


def default_manifest_path() -> Path:
    return bundled_fixtures() / "reference_partner" / "manifest.toml"


def _env_pairs(values: list[str]) -> dict[str, str]:
    try:
        return parse_env_pairs(values)
    except ValueError as exc:
        raise pytest.UsageError(f"{OPTION_PARTNER_ENV} {exc}") from None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Make ``-k`` match scenario ids (``-k expiry.boundary``) and questions (``-k RQ3``)."""
    for item in items:
        scenario_id = threat_id(item)
        if scenario_id is not None:
            item.extra_keyword_matches.add(scenario_id)
            item.extra_keyword_matches.add(scenario_id.replace(".", "_"))
            marker = item.get_closest_marker(MARKER)
            question = marker.kwargs.get("question") if marker is not None else None
            if isinstance(question, str):
                item.extra_keyword_matches.add(question)


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def conformance_manifest(pytestconfig: pytest.Config) -> Manifest:
    """The validated manifest of the partner under test."""
    from conformance.driver.manifest import load_manifest

    path = pytestconfig.getoption(OPTION_PARTNER) or default_manifest_path()
    manifest = load_manifest(path)
    return manifest.with_extra_env(_env_pairs(pytestconfig.getoption(OPTION_PARTNER_ENV)))


@pytest.fixture(scope="session")
def conformance_redactor(pytestconfig: pytest.Config) -> Redactor:
    """Every per-run secret, redacted by value from evidence and logs (the runner's, if given)."""
    from conformance.redact import Redactor

    shared = pytestconfig.stash.get(SHARED_REDACTOR_KEY, None)
    redactor = shared if shared is not None else Redactor()
    state(pytestconfig).redactor = redactor
    return redactor


@pytest.fixture(scope="session")
def simulator(
    conformance_manifest: Manifest, conformance_redactor: Redactor
) -> Iterator[Simulator]:
    """The simulated provider, one per session, on 127.0.0.1."""
    from conformance.simulator import Simulator, SimulatorSettings

    settings = SimulatorSettings(
        signature_scheme=conformance_manifest.provider.signature_scheme,
        port=conformance_manifest.simulator_port or 0,
    )
    with Simulator(settings) as sim:
        conformance_redactor.add(sim.control_token)
        yield sim


@dataclass(slots=True)
class RunningPartner:
    """The partner under test as the session sees it: process, provider identity, actions."""

    process: PartnerProcess
    partner_id: str
    actions: Actions
    provider: Provider


@pytest.fixture(scope="session")
def partner(
    request: pytest.FixtureRequest,
    simulator: Simulator,
    conformance_manifest: Manifest,
    conformance_redactor: Redactor,
) -> Iterator[RunningPartner]:
    """Provision the partner at the simulator, start it with fresh keys, stop it at the end."""
    from conformance.checks.provider import Provider
    from conformance.driver.actions import Actions
    from conformance.driver.partner import PartnerProcess, provision

    manifest = conformance_manifest
    process = PartnerProcess(manifest, redactor=conformance_redactor)
    partner_id, access = provision(simulator, manifest, process)
    try:
        process.start(access)
    finally:
        state(request.config).startup_log = process.log()  # start-up output, or why it died
    actions = Actions(
        manifest, process.base_url, redactor=conformance_redactor, liveness=process.exit_reason
    )
    running = RunningPartner(
        process=process,
        partner_id=partner_id,
        actions=actions,
        provider=Provider(simulator.control, partner_id),
    )
    request.config.stash[PARTNER_KEY] = running
    try:
        yield running
    finally:
        actions.close()
        process.stop()


@pytest.fixture
def evidence(request: pytest.FixtureRequest, conformance_redactor: Redactor) -> ScenarioRecorder:
    """The evidence recorder of this scenario (its id comes from the ``threat`` marker)."""
    from conformance.checks.scenario_recorder import ScenarioRecorder

    scenario_id = threat_id(request.node) or request.node.name
    recorder = ScenarioRecorder(scenario_id, redactor=conformance_redactor)
    request.node.stash[RECORDER_KEY] = recorder
    return recorder


@pytest.fixture
def driver(partner: RunningPartner, evidence: EvidenceRecorder) -> Iterator[Driver]:
    """Acts on the partner through its manifest, recording each call as evidence."""
    from conformance.driver.driver import Driver
    from conformance.errors import PartnerUnreachable

    dead = partner.actions.gone()
    if dead:
        raise PartnerUnreachable(
            f"the partner is not running ({dead}); log tail:\n" + partner.process.log_tail(20)
        )
    yield Driver(partner.actions, evidence)


@pytest.fixture
def provider(partner: RunningPartner, evidence: EvidenceRecorder) -> Iterator[Provider]:
    """The simulated provider's view of this partner, with faults and scripts scoped to the test."""
    view = partner.provider.bind(evidence)
    try:
        yield view
    finally:
        view.reset()


@pytest.fixture(scope="session")
def conformance_out_dir(pytestconfig: pytest.Config) -> Path | None:
    """The report directory (``--conformance-out``; the runner's ``out_dir``), if any."""
    value = pytestconfig.getoption(OPTION_OUT)
    return Path(value) if value else None


@pytest.fixture(scope="session")
def browser_log() -> BrowserLog:
    """Every request every browser scenario of the session made."""
    from conformance.checks.page_requests import BrowserLog

    return BrowserLog()


@pytest.fixture
def web(request: pytest.FixtureRequest) -> WebContext:
    """A browser scenario's context; skipped as not applicable without a [web] section."""
    return _web_context(request, need_web=True)


@pytest.fixture
def client_side(request: pytest.FixtureRequest) -> WebContext:
    """What a client can see: [web] pages or declared [artefacts]; skipped without either."""
    return _web_context(request, need_web=False)


def _web_context(request: pytest.FixtureRequest, *, need_web: bool) -> WebContext:
    """The context from the session's fixtures; the skip comes before the partner starts."""
    from conformance.checks.web_context import WebContext
    from conformance.errors import PartnerUnreachable
    from conformance.outcomes import NO_WEB_PAGES

    manifest: Manifest = request.getfixturevalue("conformance_manifest")
    if need_web and manifest.web is None:
        pytest.skip(NO_WEB_PAGES)
    if manifest.web is None and manifest.artefacts is None:
        pytest.skip("the manifest declares neither [web] pages nor [artefacts] to scan")
    partner: RunningPartner = request.getfixturevalue("partner")
    dead = partner.process.exit_reason()
    if dead:
        raise PartnerUnreachable(
            f"the partner is not running ({dead}); log tail:\n" + partner.process.log_tail(20)
        )
    simulator: Simulator = request.getfixturevalue("simulator")
    report_dir: Path | None = request.getfixturevalue("conformance_out_dir")
    if report_dir is not None:
        screenshot_dir, inside = report_dir / "screenshots", True
    else:
        screenshot_dir, inside = request.getfixturevalue("tmp_path") / "screenshots", False
    issued = simulator.control.partner(partner.partner_id)
    return WebContext(
        manifest=manifest,
        base_url=partner.process.base_url,
        provider_url=simulator.base_url,
        provider=request.getfixturevalue("provider"),
        evidence=request.getfixturevalue("evidence"),
        log=request.getfixturevalue("browser_log"),
        screenshot_dir=screenshot_dir,
        in_report_dir=inside,
        report_dir=report_dir,
        secrets={"secret_key": issued.secret_key, "webhook_secret": issued.webhook_secret},
        http=partner.actions.http,
    )


# -- outcomes ------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[STARTED_KEY] = time.monotonic()
    _mark_log(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # The test whose setup started the partner reads its log from here (start-up is the run's).
    _mark_log(item)


def _mark_log(item: pytest.Item) -> None:
    running = item.config.stash.get(PARTNER_KEY, None)
    if running is not None and LOG_MARK_KEY not in item.stash:
        item.stash[LOG_MARK_KEY] = running.process.mark()


def _partner_log(item: pytest.Item) -> str:
    """The partner's log lines written while this test ran (redacted, bounded)."""
    running = item.config.stash.get(PARTNER_KEY, None)
    if running is None or LOG_MARK_KEY not in item.stash:
        return ""
    if running.process.manifest.url:
        return NO_LOG
    return running.process.log_since(item.stash[LOG_MARK_KEY])[-SCENARIO_LOG_CHARS:]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    scenario_id = threat_id(item)
    if scenario_id is None:
        return report
    result = _result(item, call, report, scenario_id)
    if result is not None:
        state(item.config).collector.record(item.nodeid, scenario_id, result)
    if result is not None and report.when == "call" and report.passed and result.status in (
        Status.FAIL,
        Status.ERROR,
    ):
        # The plugin decided against a test that returned: pytest's own outcome says so too.
        report.outcome = "failed"
        report.longrepr = f"{result.status.value}: {result.reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """A test item ended: its scenario gets its result once all its items have."""
    ran = yield
    state(item.config).collector.finished(item.nodeid)
    return ran


def declared_observations(item: pytest.Item) -> tuple[str, ...] | None:
    """What a scenario must have observed to pass (its ``threat`` marker's ``observes``)."""
    marker = item.get_closest_marker(MARKER)
    observes = marker.kwargs.get("observes") if marker is not None else None
    if observes is None:
        return None
    return (observes,) if isinstance(observes, str) else tuple(observes)


def _result(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, scenario_id: str
) -> ScenarioResult | None:
    """The plugin decides: findings → fail; no decisive evidence or a harness error → error."""
    from conformance.checks.scenario_recorder import ScenarioRecorder, reason_line
    from conformance.findings import Finding

    recorder = item.stash.get(RECORDER_KEY, None)
    if recorder is None:
        recorder = ScenarioRecorder(scenario_id, redactor=_redactor(item))
    recorder.partner_log = _partner_log(item) or recorder.partner_log
    evidence = recorder.evidence()
    duration = time.monotonic() - item.stash.get(STARTED_KEY, time.monotonic())

    def make(status: Status, reason: str = "", findings: tuple[Finding, ...] = (),
             skip_kind: SkipKind | None = None) -> ScenarioResult:
        return ScenarioResult(
            scenario_id=scenario_id, status=status, reason=recorder.redactor.text(reason),
            findings=findings, duration_s=round(duration, 3), evidence=evidence,
            skip_kind=skip_kind,
        )

    exc = call.excinfo.value if call.excinfo is not None and report.failed else None
    if recorder.failing:
        # The partner was seen doing wrong: that stands whatever happened after.
        reason = reason_line(recorder.failing)
        if exc is not None:
            reason += f" (then the scenario stopped: {_error_reason(report, exc)})"
        return make(Status.FAIL, reason, recorder.findings)
    if report.skipped:
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else "skipped"
        return make(Status.SKIPPED, reason.removeprefix("Skipped: "),
                    skip_kind=SkipKind.NOT_APPLICABLE)
    if report.failed:
        return make(Status.ERROR, _error_reason(report, exc), recorder.findings)
    if report.when != "call":
        return None
    if recorder.unreadable_answers:
        answers = recorder.unreadable_answers
        more = f" (+{len(answers) - 1} more)" if len(answers) > 1 else ""
        return make(
            Status.ERROR,
            f"the partner's answer did not match the manifest: {answers[0]}{more}",
            recorder.findings,
        )
    declared = declared_observations(item)
    if declared is None:
        return make(Status.ERROR, "harness error: the scenario declares no decisive "
                    "observations (threat marker 'observes')", recorder.findings)
    missing = [kind for kind in declared if kind not in recorder.observations]
    if missing:
        return make(Status.ERROR, f"no evidence: the scenario ended without observing "
                    f"{', '.join(missing)}", recorder.findings)
    # A pass may carry advisory findings (e.g. a page that sent two accepts, deduped).
    return make(Status.PASS, findings=recorder.findings)


def _error_reason(report: pytest.TestReport, exc: BaseException | None) -> str:
    """Why the harness could not decide: only findings fail a partner; the rest is an error."""
    from conformance.errors import ConformanceError

    if isinstance(exc, ConformanceError):
        reason = f"harness error: {type(exc).__name__}: {exc}"
    elif isinstance(exc, AssertionError):
        reason = f"harness assertion in {report.when}: {exc}"
    elif exc is not None:
        reason = f"harness error in {report.when}: {type(exc).__name__}: {exc}"
    else:
        reason = f"harness error in {report.when}"
    return reason.splitlines()[0][:500] if reason.strip() else reason


def _redactor(item: pytest.Item) -> Redactor:
    from conformance.redact import Redactor

    shared = item.config.stash.get(SHARED_REDACTOR_KEY, None)
    return shared if shared is not None else Redactor()


# -- the pytest route: the session writes the readiness report --------------------------
@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember which scenarios this session selected (after -k, -m and file arguments)."""
    collector = state(session.config).collector
    for item in session.items:
        scenario_id = threat_id(item)
        if scenario_id is not None:
            collector.select(scenario_id, item.nodeid)


def pytest_sessionstart(session: pytest.Session) -> None:
    # SIGTERM (a CI cancel) interrupts the pytest route like Ctrl-C: fixtures are torn down
    # (the partner's process group stopped) and the report is still written. Under certify
    # the command does this itself.
    if not session.config.stash.get(RUNNER_KEY, False):
        from conformance import interrupt

        state(session.config).previous_handlers = interrupt.install()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The pytest route: write the same report set as certify; the verdict sets the exit."""
    config = session.config
    plugin_state = state(config)
    if config.stash.get(RUNNER_KEY, False) or not plugin_state.collector.selected:
        return
    from conformance import interrupt

    try:
        if exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            return
        try:
            out_dir, verdict_exit, lines = _write_session_report(session, exitstatus)
        except Exception as exc:  # a harness failure must not look like a verdict
            plugin_state.summary = [f"zeropools-conformance: no report written: {exc}"]
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            return
        plugin_state.summary = [*lines, f"report: {out_dir / 'report.html'}"]
        session.exitstatus = verdict_exit
    finally:
        interrupt.restore(plugin_state.previous_handlers)


def _write_session_report(session: pytest.Session, exitstatus: int) -> tuple[Path, int, list[str]]:
    from datetime import UTC, datetime

    from conformance import interrupt
    from conformance.catalogue import SCENARIOS
    from conformance.driver.manifest import load_manifest
    from conformance.outcomes import assemble
    from conformance.redact import Redactor
    from conformance.report import write_report
    from conformance.report.sarif import scanner_logs
    from conformance.report.verdict import summary_lines

    config = session.config
    plugin_state = state(config)
    manifest = load_manifest(config.getoption(OPTION_PARTNER) or default_manifest_path())
    collector = plugin_state.collector
    chosen = tuple(s for s in SCENARIOS if s.id in collector.selected)
    interrupted = ""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        interrupted = interrupt.received_name() or "SIGINT"
    started = datetime.fromtimestamp(config.stash.get(SESSION_STARTED_KEY, time.time()), UTC)
    run = assemble(
        loaded=manifest,
        chosen=chosen,
        runnable=[s.id for s in chosen],
        done=collector.done,
        collected=list(collector.selected),
        waived={},  # waived scenarios run: the verdict shows them waived, with what they did
        started_at=started.replace(microsecond=0),
        duration_s=time.time() - started.timestamp(),
        harness_errors=plugin_state.harness_errors,
        interrupted=interrupted,
        partner_log=plugin_state.startup_log,
    )
    value = config.getoption(OPTION_OUT)
    if value:
        out_dir = Path(value)
    else:
        stamp = started.strftime("%Y%m%d-%H%M%S")
        out_dir = config.invocation_params.dir / DEFAULT_OUT.format(timestamp=stamp)
    redactor = plugin_state.redactor or Redactor()
    written = write_report(run, out_dir, redactor=redactor, scanner_logs=scanner_logs(out_dir))
    lines = [redactor.text(line) for line in summary_lines(written.verdict, run.partner_name)]
    return out_dir, written.verdict.exit_code, lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = state(terminalreporter.config).summary
    if lines:
        terminalreporter.section("0Pools readiness")
        for line in lines:
            terminalreporter.write_line(line)


def item_results(config: pytest.Config) -> dict[str, Outcome]:
    """The results recorded so far, by test node id."""
    return state(config).collector.items
