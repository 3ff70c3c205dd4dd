"""zeropools-conformance: the production-readiness harness for 0Pools partners."""

from __future__ import annotations

from conformance.catalogue import CATALOGUE_VERSION, QUESTIONS, SCENARIOS, Answer
from conformance.errors import (
    ConformanceError,
    ManifestError,
    PartnerError,
    PartnerUnreachable,
    SimulatorError,
)
from conformance.findings import Finding, Severity
from conformance.results import RunResult, ScenarioResult, Status

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "CATALOGUE_VERSION",
    "ConformanceError",
    "Finding",
    "ManifestError",
    "PartnerError",
    "PartnerUnreachable",
    "QUESTIONS",
    "RunResult",
    "SCENARIOS",
    "ScenarioResult",
    "Severity",
    "SimulatorError",
    "Status",
    "__version__",
]
