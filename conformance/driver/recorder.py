"""The evidence recorder: what was done and seen, redacted by value as it is recorded.

It records facts only (steps, ids, journal entries, tables, screenshots, the decisive
observations made, answers the manifest could not read). Findings — the partner is wrong —
are made by the deciders, through :class:`conformance.checks.scenario_recorder.ScenarioRecorder`;
the plugin decides each outcome from both.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.evidence import Evidence, Screenshot, Step
from conformance.redact import Redactor

JOURNAL_LIMIT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class _Table:
    name: str
    rows: tuple[dict[str, Any], ...]


class EvidenceRecorder:
    """Collects steps, ids, a journal excerpt, tables and observations for one scenario."""

    def __init__(self, scenario_id: str, *, redactor: Redactor) -> None:
        self.scenario_id = scenario_id
        self.redactor = redactor
        self._started = time.monotonic()
        self._steps: list[Step] = []
        self._ids: dict[str, list[str]] = {}
        self._journal: dict[int, dict[str, Any]] = {}
        self._tables: list[_Table] = []
        self._screenshots: list[Screenshot] = []
        self._observed: dict[str, int] = {}
        self._unreadable: list[str] = []
        self.partner_log = ""

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

    def evidence(self) -> Evidence:
        return Evidence(
            steps=tuple(self._steps),
            ids=tuple((k, tuple(v)) for k, v in self._ids.items()),
            journal=tuple(self._journal[k] for k in sorted(self._journal)),
            screenshots=tuple(self._screenshots),
            partner_log=self.partner_log,
            tables=tuple((t.name, t.rows) for t in self._tables),
        )
