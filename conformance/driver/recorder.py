"""The evidence recorder: what a scenario did and saw, redacted by value as it is recorded.

It only records; the plugin decides from what it recorded: a blocker finding → ``fail``;
no blocker but an answer the manifest could not read, or a declared observation never made
→ ``error`` (fail closed); otherwise ``pass``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.catalogue import SeedClause, scenario
from conformance.evidence import Evidence, Screenshot, Step
from conformance.findings import Finding, Severity
from conformance.redact import Redactor

JOURNAL_LIMIT = 200


def reason_line(findings: Iterable[Finding]) -> str:
    """One line that tells the partner what to fix, from the first finding (plus a count)."""
    items = list(findings)
    if not items:
        return ""
    first = items[0]
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    return f"{first.message} Fix: {first.fix}{more}"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Table:
    name: str
    rows: tuple[dict[str, Any], ...]


class EvidenceRecorder:
    """Collects steps, ids, a journal excerpt, tables and findings for one scenario."""

    def __init__(self, scenario_id: str, *, redactor: Redactor) -> None:
        self.scenario_id = scenario_id
        self.redactor = redactor
        self._started = time.monotonic()
        self._steps: list[Step] = []
        self._ids: dict[str, list[str]] = {}
        self._journal: dict[int, dict[str, Any]] = {}
        self._tables: list[_Table] = []
        self._screenshots: list[Screenshot] = []
        self._findings: list[Finding] = []
        self._observed: dict[str, int] = {}
        self._unreadable: list[str] = []
        self.partner_log = ""
        spec = scenario(scenario_id) if "." in scenario_id else None
        self.clause: SeedClause | None = spec.clause if spec else None
        self.advisory = bool(spec and spec.advisory)

    def step(self, action: str, detail: str = "", *, ok: bool = True) -> None:
        self._steps.append(
            Step(
                at_s=round(time.monotonic() - self._started, 3),
                action=self.redactor.text(action),
                detail=self.redactor.text(detail),
                ok=ok,
            )
        )

    def ids(self, **kinds: object) -> None:
        """Record ids by kind (order_ref=…, quote_id=…); None and repeats are ignored."""
        for kind, value in kinds.items():
            values = value if isinstance(value, list | tuple) else [value]
            for item in values:
                if item is None or item == "":
                    continue
                text = self.redactor.text(str(item))
                bucket = self._ids.setdefault(kind, [])
                if text not in bucket:
                    bucket.append(text)

    def journal(self, entries: Iterable[Any]) -> None:
        """Keep journal entries (records with ``to_json`` or dicts) the decision rests on."""
        for entry in entries:
            data = entry.to_json() if hasattr(entry, "to_json") else dict(entry)
            seq = int(data.get("seq", len(self._journal) + 1_000_000))
            if seq not in self._journal and len(self._journal) < JOURNAL_LIMIT:
                self._journal[seq] = self.redactor.data(data)

    def table(self, name: str, rows: Iterable[Mapping[str, Any]]) -> None:
        self._tables.append(
            _Table(name=name, rows=tuple(self.redactor.data(dict(r)) for r in rows))
        )

    def screenshot(self, shot: Screenshot) -> None:
        self._screenshots.append(shot)

    def finding(
        self, message: str, *, fix: str, severity: Severity | None = None, **ids: str | None
    ) -> None:
        """Record that the partner is wrong; the scenario fails when it ends (see ``decide``)."""
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

    def observed(self, kind: str) -> None:
        """A decisive observation was made (a scenario declares which it must make)."""
        self._observed[kind] = self._observed.get(kind, 0) + 1

    def unreadable(self, message: str) -> None:
        """An answer did not match the manifest: reported, and the scenario cannot pass."""
        text = self.redactor.text(message)
        if text not in self._unreadable:
            self._unreadable.append(text)
            self.step("unreadable answer", text, ok=False)

    @property
    def observations(self) -> frozenset[str]:
        return frozenset(self._observed)

    @property
    def unreadable_answers(self) -> tuple[str, ...]:
        return tuple(self._unreadable)

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

    def evidence(self) -> Evidence:
        return Evidence(
            steps=tuple(self._steps),
            ids=tuple((k, tuple(v)) for k, v in self._ids.items()),
            journal=tuple(self._journal[k] for k in sorted(self._journal)),
            screenshots=tuple(self._screenshots),
            partner_log=self.partner_log,
            tables=tuple((t.name, t.rows) for t in self._tables),
        )
