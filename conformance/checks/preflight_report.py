"""What the preflight reports: each step's request, answer and reads, and the problems found.

``doctor`` prints these records; certify's preflight stops the run on a problem. A
:class:`Problem` names the manifest field it points at (``/actions/accept/expect/status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """Why the happy path did not work: the manifest field it points at, and what was seen."""

    field: str
    message: str

    def line(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class Read:
    """What one mapping read from an answer."""

    field: str  # e.g. /actions/create_quote/expect/quote_id
    pointer: str
    value: Any  # None: read nothing
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StepReport:
    """One action of the walk: the request, the answer, the reads and what went wrong."""

    action: str
    request: str = ""
    answer: str = ""
    reads: tuple[Read, ...] = ()
    notes: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PreflightResult:
    """The walk: its steps, its problems; ``reached`` is False when the partner never answered."""

    partner: str
    steps: tuple[StepReport, ...]
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...] = ()
    reached: bool = True
    log_tail: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.reached and not self.problems
