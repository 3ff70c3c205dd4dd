"""Scenario and run results: what scenarios produce and report writers consume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from conformance.evidence import Evidence
from conformance.findings import Finding
from conformance.load.results import LoadResult


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
    """A manifest waiver: a question or scenario id, the written reason, who owns it, until when.

    ``expires`` is the last day the waiver holds (UTC); after it the waiver is ignored.
    """

    target: str
    reason: str
    owner: str | None = None
    expires: date | None = None

    def in_force(self, today: date) -> bool:
        return self.expires is None or today <= self.expires


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
    # The signal ("SIGTERM", "SIGINT") that cancelled the run, "" when it ran to its end.
    interrupted: str = ""
    # Only part of the catalogue was selected (--only/--skip, -k, file arguments).
    partial: bool = False
    # What the partner printed while it started (or why it never came up), redacted.
    partner_log: str = ""
    # A load run's measurements (the report's ``load`` section); None for a certify run.
    load: LoadResult | None = None
