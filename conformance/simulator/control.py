"""The in-process control plane: what the harness (never the partner) may do to the provider."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from conformance.errors import ControlError, UnknownObject
from conformance.simulator.core import Core
from conformance.simulator.faults import ArmedFault, FaultSpec
from conformance.simulator.models import (
    ClockReading,
    DeliveryAttempt,
    JournalEntry,
    LedgerEntry,
    OutcomePlan,
    Partner,
    PartnerCredentials,
    Pool,
    Quote,
    Trade,
    WebhookEvent,
)
from conformance.simulator.settings import PartnerSpec

T = TypeVar("T")
CALL_TIMEOUT = 60.0

__all__ = ["Control", "ControlError", "UnknownObject"]


class Control:
    """Thread-safe and synchronous; every value returned is a frozen record."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._store = core.store

    # -- loop bridge ------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._core.loop
        if loop is None or not loop.is_running():
            coro.close()
            raise ControlError("the simulator is not running")
        if threading.get_ident() == self._core.loop_thread_id:
            coro.close()
            raise ControlError("call the async variant from the simulator's own loop")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(CALL_TIMEOUT)

    # -- clock ------------------------------------------------------------------------------

    def clock(self) -> ClockReading:
        clock = self._core.clock
        return ClockReading(now=clock.now(), offset_seconds=clock.offset_seconds)

    def advance_clock(self, seconds: float) -> ClockReading:
        try:
            self._core.clock.advance(seconds)
        except ValueError as exc:
            raise ControlError(f"seconds: {exc}") from None
        return self.clock()

    # -- partners ---------------------------------------------------------------------------

    def provision_partner(self, spec: PartnerSpec | None = None) -> PartnerCredentials:
        return self._store.provision(spec or PartnerSpec())

    def update_partner(self, partner_id: str, **fields: Any) -> Partner:
        return self._store.update_partner(partner_id, **fields)

    def partner(self, partner_id: str) -> Partner:
        with self._store.lock:
            return self._store.partner(partner_id)

    def pool(self, pool_id: str) -> Pool:
        """A pool as the simulator offers it (networks, sides, mid rate)."""
        with self._store.lock:
            pool = self._store.pools.get(pool_id)
        if pool is None:
            raise UnknownObject(f"unknown pool {pool_id!r}")
        return pool

    def set_pool_available(self, pool_id: str, available: bool) -> Pool:
        """Open or close a pool for every partner (``/pools``, its balance and its quotes)."""
        return self._store.set_pool_available(pool_id, available)

    def set_next_quote_ttl(self, partner_id: str, seconds: float) -> None:
        self._store.queue_ttl(partner_id, seconds)

    def credit_balance(self, partner_id: str, amount: Decimal | str) -> LedgerEntry:
        value = Decimal(str(amount))
        if value <= 0:
            raise ControlError("amount: must be positive")
        return self._store.credit(partner_id, value)

    def balance(self, partner_id: str) -> Decimal:
        with self._store.lock:
            self._store.partner(partner_id)
            return self._store.balances[partner_id]

    # -- quotes, trades, ledger -------------------------------------------------------------

    def quotes(self, partner_id: str) -> tuple[Quote, ...]:
        with self._store.lock:
            return tuple(q for q in self._store.quotes.values() if q.partner_id == partner_id)

    def quote(self, quote_id: str) -> Quote:
        with self._store.lock:
            if quote_id not in self._store.quotes:
                raise UnknownObject(f"quote_id: unknown quote {quote_id!r}")
            return self._store.quotes[quote_id]

    def trades(self, partner_id: str | None = None) -> tuple[Trade, ...]:
        with self._store.lock:
            chosen = [t for t in self._store.trades.values()
                      if partner_id is None or t.partner_id == partner_id]
        return tuple(sorted(chosen, key=lambda t: t.seq))

    def trade(self, transact_id: str) -> Trade:
        with self._store.lock:
            if transact_id not in self._store.trades:
                raise UnknownObject(f"transact_id: unknown trade {transact_id!r}")
            return self._store.trades[transact_id]

    def trade_for_quote(self, quote_id: str) -> Trade | None:
        with self._store.lock:
            transact_id = self._store.trade_by_quote.get(quote_id)
            return None if transact_id is None else self._store.trades[transact_id]

    def ledger(self, partner_id: str) -> tuple[LedgerEntry, ...]:
        with self._store.lock:
            self._store.partner(partner_id)
            return tuple(self._store.ledger[partner_id])

    # -- outcomes and fail-soft -------------------------------------------------------------

    def script_next_trades(self, partner_id: str, plans: Iterable[OutcomePlan]) -> None:
        self._store.queue_plans(partner_id, list(plans))

    def script_outcome(self, transact_id: str, status: str, now: bool = False) -> Trade:
        try:
            trade, _ = self._store.script(transact_id, status, now=now)
        except ControlError:
            raise
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        return trade

    def make_next_quote_unavailable(self, partner_id: str, reason: str = "pool_dry") -> None:
        self._store.queue_unavailable(partner_id, reason)

    # -- webhooks ---------------------------------------------------------------------------

    def events(self, partner_id: str | None = None) -> tuple[WebhookEvent, ...]:
        with self._store.lock:
            return tuple(e for e in self._store.events.values()
                         if partner_id is None or e.partner_id == partner_id)

    def event(self, event_id: str) -> WebhookEvent:
        with self._store.lock:
            if event_id not in self._store.events:
                raise UnknownObject(f"event_id: unknown event {event_id!r}")
            return self._store.events[event_id]

    def deliveries(self, partner_id: str | None = None) -> tuple[DeliveryAttempt, ...]:
        return self._core.dispatcher.attempts(partner_id)

    async def aredeliver(self, event_id: str) -> DeliveryAttempt:
        self.event(event_id)
        attempt = await self._core.dispatcher.redeliver(event_id)
        if attempt is None:
            raise ControlError("webhook_url: the partner has no webhook URL")
        return attempt

    def redeliver(self, event_id: str) -> DeliveryAttempt:
        """Send the event again now (same eventId, fresh signature); waits for the answer."""
        return self._run(self.aredeliver(event_id))

    async def aforge(self, event_id: str, kind: str) -> DeliveryAttempt:
        self.event(event_id)
        try:
            attempt = await self._core.dispatcher.forge(event_id, kind)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        if attempt is None:
            raise ControlError("webhook_url: the partner has no webhook URL")
        return attempt

    def forge(self, event_id: str, kind: str) -> DeliveryAttempt:
        """Deliver a forged copy of an event (bad_signature, wrong_secret, …); waits."""
        return self._run(self.aforge(event_id, kind))

    def hold_webhooks(self, partner_id: str, hold: bool = True) -> None:
        self.partner(partner_id)
        self._core.dispatcher.hold(partner_id, hold)

    def held_events(self, partner_id: str) -> tuple[WebhookEvent, ...]:
        return self._core.dispatcher.held(partner_id)

    async def arelease_held(self, partner_id: str, order: list[str] | None = None) -> list[str]:
        self.partner(partner_id)
        return await self._core.dispatcher.release(partner_id, order)

    def release_held(self, partner_id: str, order: Iterable[str] | None = None) -> list[str]:
        """Deliver held events, those in ``order`` first; first attempts are awaited in turn."""
        return self._run(self.arelease_held(partner_id, list(order or [])))

    def wait_deliveries(self, timeout: float = 10.0) -> None:
        """Wait (bounded) until no webhook delivery or retry is running."""
        self._run(self._core.dispatcher.drain(timeout))

    # -- faults and journal -----------------------------------------------------------------

    def inject_fault(self, spec: FaultSpec) -> str:
        return self._core.faults.arm(spec)

    def remove_fault(self, fault_id: str) -> bool:
        """Disarm one fault (False when it was used up or removed already)."""
        return self._core.faults.disarm(fault_id)

    def faults(self) -> tuple[ArmedFault, ...]:
        return self._core.faults.armed()

    def clear_faults(self) -> None:
        self._core.faults.clear()

    def journal(
        self, partner_id: str | None = None, since_seq: int = 0
    ) -> tuple[JournalEntry, ...]:
        return self._core.journal.entries(partner_id=partner_id, since_seq=since_seq)

    def journal_position(self) -> int:
        """The seq of the newest journal entry (0 when empty): a cheap mark to read after."""
        return len(self._core.journal)
