"""The parts of one simulator run, shared by the app and the control plane."""

from __future__ import annotations

import asyncio

from conformance.redact import Redactor
from conformance.simulator import ids
from conformance.simulator.clock import Clock
from conformance.simulator.faults import FaultBook
from conformance.simulator.journal import Journal
from conformance.simulator.models import Partner
from conformance.simulator.settings import SimulatorSettings
from conformance.simulator.state import Store
from conformance.simulator.webhooks import Dispatcher


class Core:
    """Settings, clock, store, journal, faults and webhook dispatcher of one run."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.control_token = settings.control_token or ids.control_token()
        self.clock = Clock()
        self.redactor = Redactor([self.control_token])
        self.store = Store(settings, self.clock, self.redactor)
        self.journal = Journal(memory_entries=settings.journal_memory_entries)
        self.faults = FaultBook()
        self.dispatcher = Dispatcher(settings, self.clock)
        self.dispatcher.lookup_partner = self._partner
        self.store.on_events = self.dispatcher.submit
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread_id: int | None = None

    def _partner(self, partner_id: str) -> Partner:
        return self.store.partners[partner_id]
