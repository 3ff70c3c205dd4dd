"""Harness errors: the harness could not decide. Kept apart from partner findings.

    ConformanceError                 the harness could not run or could not decide
    ├── ManifestError                the partner manifest is invalid (names the field)
    ├── PartnerError                 the partner could not be driven
    │   ├── PartnerUnreachable       it did not start, died, or its port is closed
    │   ├── PartnerTimeout           it did not answer within the bound
    │   └── PartnerGarbage           it answered something the manifest mapping cannot read
    ├── SimulatorError               the simulated provider failed (a harness bug)
    └── BrowserUnavailable           no usable headless browser on this machine

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
