"""Harness errors: the harness could not decide. Kept apart from partner findings.

    ConformanceError                 the harness could not run or could not decide
    ├── ManifestError                the partner manifest is invalid (names the field)
    ├── PartnerError                 the partner could not be driven
    │   ├── PartnerUnreachable       it did not start, died, or its port is closed
    │   ├── PartnerTimeout           it did not answer within the bound
    │   └── PartnerGarbage           it answered something the manifest mapping cannot read
    ├── SimulatorError               the simulated provider failed (a harness bug)
    ├── ControlError                 a simulator control request cannot be honoured (also a
    │   │                            ValueError; the control API answers it 409)
    │   └── UnknownObject            it names an id the simulator does not have (answered 404)
    ├── BrowserUnavailable           no usable headless browser on this machine
    ├── PageActionFailed             a page action could not be done (no element, no option)
    ├── CannotArrange                the partner would not do an ordinary thing a scenario
    │                                needs first (a failed positive control)
    ├── ConcurrencyError             a concurrent action did not run, finish in its bound, or raised
    ├── ScanInputError               what the scanner was asked to read cannot be read
    ├── CanaryError                  a canary given to the scanner is unusable
    ├── ReportError                  a report directory or report.json cannot be read
    ├── IntegrityError               a report directory or its hash manifest cannot be read
    ├── SigningError                 a key cannot be read or written, or a report signed
    └── PackageError                 a certification package cannot be written or read

A partner that answers *wrongly* is not an error: that is a
:class:`conformance.findings.Finding`. An error makes the scenario ``error`` and the
verdict ``blocked`` (fail closed), never ``pass``.
"""

from __future__ import annotations


class ConformanceError(Exception):
    """Base of everything that means "the harness could not decide"."""


class ManifestError(ConformanceError):
    """The manifest is invalid; ``field`` is the JSON pointer of the bad field."""

    def __init__(self, message: str, *, field: str = "") -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class PartnerError(ConformanceError):
    """The partner could not be driven."""


class PartnerUnreachable(PartnerError):
    """The partner did not start, died, or refused the connection."""


class PartnerTimeout(PartnerError):
    """The partner did not answer within the harness's bound."""


class PartnerGarbage(PartnerError):
    """The partner answered something the manifest's mapping cannot read."""


class SimulatorError(ConformanceError):
    """The simulated provider failed: a harness bug, never the partner's fault."""


class BrowserUnavailable(ConformanceError):
    """No usable headless browser (Debian's chromium) on this machine."""


class ControlError(ConformanceError, ValueError):
    """A control-plane request that cannot be honoured (an impossible move, a bad value)."""


class UnknownObject(ControlError):
    """A control-plane request names a partner, pool, quote or trade the simulator lacks."""


class PageActionFailed(ConformanceError):
    """A page action could not be done (no such element, never actionable, no such option).

    The message says why in one line; the caller says which step it was.
    """


class CannotArrange(ConformanceError):
    """The partner would not do an ordinary thing a scenario needs first (so we cannot decide)."""


class ConcurrencyError(ConformanceError):
    """A concurrent action did not run, did not finish inside its bound, or raised."""


class ScanInputError(ConformanceError):
    """What the scanner was asked to read does not exist or cannot be read."""


class CanaryError(ConformanceError):
    """A canary given to the scanner is unusable (empty, too short, bad label)."""


class ReportError(ConformanceError):
    """A report directory or report.json cannot be read or is not valid."""


class IntegrityError(ConformanceError):
    """The report directory or its manifest cannot be read."""


class SigningError(ConformanceError):
    """A key cannot be read or written, or a report cannot be signed."""


class PackageError(ConformanceError):
    """A package cannot be written or read."""
