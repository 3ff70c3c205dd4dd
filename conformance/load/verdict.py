"""A load run as a :class:`RunResult`: one scenario result per guarantee (``load.<id>``).

The report's verdict (``report/verdict.py``, its load rules) then decides as for certify:
a broken guarantee (fail) or an undecided one (error, "no evidence") blocks; a run where
nothing was decided exits 2; an interrupted one 130 / 143. A load run asks none of the six
readiness questions (certify answers them), so ``load`` is always set, even for a run that
never started: that is what marks it as a load run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from conformance import __version__
from conformance.catalogue import CATALOGUE_VERSION, SAFEGUARDS_URL, SeedClause
from conformance.evidence import Evidence, Step
from conformance.findings import Finding, Severity
from conformance.load.judge import GUARANTEE_IDS, TITLES
from conformance.load.results import (
    Guarantee,
    LoadResult,
    LoadSettings,
    OrderCounts,
    Percentiles,
)
from conformance.load.run import LoadOutcome
from conformance.results import RunResult, ScenarioResult, Status

CLAUSE = SeedClause(
    page="liquidity-safeguards", url=SAFEGUARDS_URL, section="Daily/velocity limits",
    row="Unexpected volume spikes",
)


def scenario(guarantee: Guarantee, duration_s: float) -> ScenarioResult:
    """A guarantee as a scenario result: held → pass, broken → fail, undecided → error."""
    examples = tuple({"example": e} for e in guarantee.examples)
    evidence = Evidence(
        steps=(Step(at_s=0.0, action="observed", detail=f"{guarantee.observed} case(s)",
                    ok=guarantee.held is not False),),
        tables=(("examples", examples),) if examples else (),
    )
    if guarantee.held is True and guarantee.observed > 0:
        return ScenarioResult(scenario_id=guarantee.id, status=Status.PASS,
                              reason=guarantee.detail, duration_s=duration_s, evidence=evidence)
    if guarantee.held is False:
        finding = Finding(
            scenario_id=guarantee.id, severity=Severity.BLOCKER, message=guarantee.detail,
            fix=guarantee.fix or guarantee.detail, clause=CLAUSE,
        )
        return ScenarioResult(scenario_id=guarantee.id, status=Status.FAIL,
                              reason=guarantee.detail, duration_s=duration_s,
                              findings=(finding,), evidence=evidence)
    known = ("no evidence", "not judged", "harness error", "run interrupted")
    reason = guarantee.detail if guarantee.detail.startswith(known) \
        else f"no evidence: {guarantee.detail}"
    return ScenarioResult(scenario_id=guarantee.id, status=Status.ERROR, reason=reason,
                          duration_s=duration_s, evidence=evidence)


def unjudged(settings: LoadSettings, why: str, started: datetime, ended: datetime) -> LoadResult:
    """A run that measured nothing: every guarantee undecided, with why."""
    none = Percentiles(count=0, p50_ms=None, p95_ms=None, p99_ms=None)
    return LoadResult(
        settings=settings, started_at=started, ended_at=ended,
        counts=OrderCounts(orders=0, accepted=0, refused=0, double_accepts=0, reset_retries=0,
                           expired_attempts=0, webhook_replays=0, trades=0),
        actions=(), accept_latency=none, quote_to_terminal=none, timeline=(),
        guarantees=tuple(Guarantee(id=gid, title=TITLES[gid], held=None, detail=why)
                         for gid in GUARANTEE_IDS),
        partner_5xx=0, partner_requests=0, throughput_rps=0.0,
    )


def run_result(
    outcome: LoadOutcome,
    *,
    partner_name: str,
    started_at: datetime,
    settings: LoadSettings,
) -> RunResult:
    """The report's input: the guarantees as scenarios, the measurements in ``load``."""
    finished = datetime.now(UTC).replace(microsecond=0)
    duration = (finished - started_at).total_seconds()
    load = outcome.load
    if load is None:
        if outcome.interrupted:
            why = f"run interrupted by {outcome.interrupted} before anything was judged"
        else:
            why = "harness error: " + (
                outcome.harness_errors[0] if outcome.harness_errors else "the run did not start"
            )
        load = unjudged(settings, why, started_at, finished)
    scenarios = tuple(scenario(g, duration) for g in load.guarantees)
    return RunResult(
        harness_version=__version__,
        catalogue_version=CATALOGUE_VERSION,
        partner_name=partner_name,
        started_at=started_at.isoformat(),
        finished_at=finished.isoformat(),
        duration_s=duration,
        scenarios=scenarios,
        harness_errors=outcome.harness_errors,
        interrupted=outcome.interrupted,
        partner_log=outcome.partner_log,
        load=load,
    )
