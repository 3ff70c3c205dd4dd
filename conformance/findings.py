"""Findings: the partner is wrong. (Harness errors live in :mod:`conformance.errors`.)"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conformance.catalogue import SeedClause


class Severity(StrEnum):
    """How much a finding weighs on the launch decision."""

    # Money can be lost or a readiness question answered the blocking way: blocks launch.
    BLOCKER = "blocker"
    # Wrong but bounded (an advisory scenario, a page that sends two accepts that the
    # backend dedupes): reported with what to fix, does not block.
    ADVISORY = "advisory"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One thing the partner does wrong, with the clause it breaks and what to fix."""

    scenario_id: str
    severity: Severity
    message: str
    fix: str
    clause: SeedClause
    ids: tuple[tuple[str, str], ...] = ()
