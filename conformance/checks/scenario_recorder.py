"""A scenario's recorder: the driver's facts plus the findings the scenario makes.

The driver records what was done and seen (:class:`EvidenceRecorder`); a finding — *the
partner is wrong* — is a decision, made here, in the deciders' layer: its severity comes
from the catalogue (an advisory scenario's findings are advisory), and :attr:`failing` says
which findings fail the scenario. The plugin decides each outcome from what was recorded.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.catalogue import SeedClause, scenario
from conformance.driver.recorder import EvidenceRecorder
from conformance.findings import Finding, Severity
from conformance.redact import Redactor


def reason_line(findings: Iterable[Finding]) -> str:
    """One line that tells the partner what to fix, from the first finding (plus a count)."""
    items = list(findings)
    if not items:
        return ""
    first = items[0]
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    return f"{first.message} Fix: {first.fix}{more}"


class ScenarioRecorder(EvidenceRecorder):
    """Steps, ids, journal, tables and observations for one scenario, and its findings."""

    def __init__(self, scenario_id: str, *, redactor: Redactor) -> None:
        super().__init__(scenario_id, redactor=redactor)
        self._findings: list[Finding] = []
        spec = scenario(scenario_id) if "." in scenario_id else None
        self.clause: SeedClause | None = spec.clause if spec else None
        self.advisory = bool(spec and spec.advisory)

    def finding(
        self, message: str, *, fix: str, severity: Severity | None = None, **ids: str | None
    ) -> None:
        """Record that the partner is wrong; the scenario fails when it ends (see ``failing``)."""
        if severity is None:
            severity = Severity.ADVISORY if self.advisory else Severity.BLOCKER
        assert self.clause is not None, "findings need a catalogue scenario"
        self._findings.append(
            Finding(
                scenario_id=self.scenario_id,
                severity=severity,
                message=self.redactor.text(message),
                fix=self.redactor.text(fix),
                clause=self.clause,
                ids=tuple((k, self.redactor.text(str(v))) for k, v in ids.items() if v),
            )
        )
        self.step("finding", message, ok=False)

    def check(
        self,
        condition: bool,
        message: str,
        *,
        fix: str,
        observes: str | None = None,
        **ids: str | None,
    ) -> bool:
        """Record a finding unless ``condition`` holds; returns the condition.

        ``observes`` names the decisive observation this check made (see :meth:`observed`).
        """
        if observes is not None:
            self.observed(observes)
        if not condition:
            self.finding(message, fix=fix, severity=None, **ids)
        return condition

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(self._findings)

    @property
    def blockers(self) -> tuple[Finding, ...]:
        return tuple(f for f in self._findings if f.severity is Severity.BLOCKER)

    @property
    def failing(self) -> tuple[Finding, ...]:
        """The findings that fail this scenario: blockers, or any finding of an advisory
        scenario (its failure is reported and never blocks; an advisory finding inside a
        blocking scenario keeps its pass)."""
        return self.findings if self.advisory else self.blockers
