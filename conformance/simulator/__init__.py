"""The simulated 0Pools provider: a real HTTP server on 127.0.0.1 with a control plane."""

from __future__ import annotations

from conformance.errors import ControlError, UnknownObject
from conformance.simulator.control import Control
from conformance.simulator.faults import FaultMatch, FaultSpec
from conformance.simulator.models import (
    ClockReading,
    DeliveryAttempt,
    JournalEntry,
    LedgerEntry,
    OutcomePlan,
    PartnerCredentials,
    Quote,
    Trade,
    WebhookEvent,
)
from conformance.simulator.runtime import Simulator
from conformance.simulator.settings import PartnerSpec, SimulatorSettings
from conformance.simulator.webhooks import sign, verify

__all__ = [
    "ClockReading",
    "Control",
    "ControlError",
    "DeliveryAttempt",
    "FaultMatch",
    "FaultSpec",
    "JournalEntry",
    "LedgerEntry",
    "OutcomePlan",
    "PartnerCredentials",
    "PartnerSpec",
    "Quote",
    "Simulator",
    "SimulatorSettings",
    "Trade",
    "UnknownObject",
    "WebhookEvent",
    "sign",
    "verify",
]
