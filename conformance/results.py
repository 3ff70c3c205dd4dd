"""Scenario and run results: what scenarios produce and report writers consume."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conformance.evidence import Evidence
from conformance.findings import Finding


class Status(StrEnum):
    """A scenario's outcome."""

    PASS = "pass"  # executed, and the partner behaved as the catalogue requires
    FAIL = "fail"  # executed, and at least one blocking finding
    ERROR = "error"  # the harness could not decide (fail closed: blocks)
    SKIPPED = "skipped"  # not run: deselected, or not applicable to this partner
    WAIVED = "waived"  # not judged: the manifest waives it with a written reason


class SkipKind(StrEnum):
    """Why a scenario was skipped; only a deselected one leaves its question unanswered."""

    DESELECTED = "deselected"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """A manifest waiver: a question or scenario id, with the written reason."""

    target: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioResult:
    """The outcome of one scenario, with the evidence it was decided on."""

    scenario_id: str
    status: Status
    reason: str = ""
    duration_s: float = 0.0
    findings: tuple[Finding, ...] = ()
    evidence: Evidence = Evidence()
    skip_kind: SkipKind | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """A whole certification run: what every report format is written from."""

    harness_version: str
    catalogue_version: str
    partner_name: str
    started_at: str
    finished_at: str
    duration_s: float
    scenarios: tuple[ScenarioResult, ...]
    waivers: tuple[Waiver, ...] = ()
    harness_errors: tuple[str, ...] = ()
