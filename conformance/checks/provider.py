"""The simulated provider's view of the partner under test: journal queries, faults, scripts.

The one way the checks and the scenarios reach the simulator: every value returned is one of
the simulator's public records (``from conformance.simulator import …``), or the protocols
below for the partner and pool records it does not export.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from conformance.driver.recorder import EvidenceRecorder

if TYPE_CHECKING:
    from conformance.simulator import (
        Control,
        DeliveryAttempt,
        JournalEntry,
        Quote,
        Trade,
        WebhookEvent,
    )

TRANSACT_PATH = "/v1/pools/*/transact"
QUOTE_PATH = "/v1/pools/*/quote"
POLL_PATH = "/v1/pools/transactions/*"


class ProvisionedPartner(Protocol):
    """What the harness reads of the partner as the simulator provisioned it."""

    @property
    def secret_key(self) -> str: ...
    @property
    def webhook_secret(self) -> str: ...
    @property
    def min_order_usdt(self) -> Decimal: ...
    @property
    def max_order_usdt(self) -> Decimal | None: ...
    @property
    def velocity_cap(self) -> Decimal | None: ...


class ProvidedPool(Protocol):
    """What the harness reads of a pool as the simulator provides it."""

    @property
    def supported_networks(self) -> tuple[str, ...]: ...


def _is(entry: JournalEntry, method: str, pattern: str) -> bool:
    return bool(entry.method == method and fnmatch.fnmatchcase(entry.path, pattern))


def body_quote_id(entry: JournalEntry) -> str | None:
    body = entry.body
    if isinstance(body, dict):
        value = body.get("quoteId")
        return value if isinstance(value, str) else None
    return None


class Provider:
    """Thin, partner-scoped wrapper of the simulator's control plane, recording what it does."""

    def __init__(
        self, control: Control, partner_id: str, recorder: EvidenceRecorder | None = None
    ) -> None:
        self._control = control
        self.partner_id = partner_id
        self.recorder = recorder

    def bind(self, recorder: EvidenceRecorder) -> Provider:
        return Provider(self._control, self.partner_id, recorder)

    def reset(self) -> None:
        """Undo what a scenario scoped to itself: armed faults and held webhooks."""
        self._control.clear_faults()
        self._control.hold_webhooks(self.partner_id, False)

    def _step(self, action: str, detail: str = "") -> None:
        if self.recorder is not None:
            self.recorder.step(f"provider: {action}", detail)

    # -- journal ---------------------------------------------------------------------------
    def journal(self, since: int = 0) -> tuple[JournalEntry, ...]:
        return tuple(self._control.journal(partner_id=self.partner_id, since_seq=since))

    def every_journal(self, since: int = 0) -> tuple[JournalEntry, ...]:
        """Every request of any key (a request under a wrong key is not this partner's)."""
        return tuple(self._control.journal(since_seq=since))

    def mark(self) -> int:
        """The journal position now; later queries read only what came after."""
        return int(self._control.journal_position())

    def transacts(
        self, *, since: int = 0, quote_id: str | None = None
    ) -> tuple[JournalEntry, ...]:
        return tuple(
            e
            for e in self.journal(since)
            if _is(e, "POST", TRANSACT_PATH) and (quote_id is None or body_quote_id(e) == quote_id)
        )

    def quote_requests(self, *, since: int = 0) -> tuple[JournalEntry, ...]:
        return tuple(e for e in self.journal(since) if _is(e, "POST", QUOTE_PATH))

    def polls(self, quote_id: str, *, since: int = 0) -> tuple[JournalEntry, ...]:
        return tuple(
            e
            for e in self.journal(since)
            if e.method == "GET" and e.path == f"/v1/pools/transactions/{quote_id}"
        )

    def record_journal(self, entries: Iterable[JournalEntry]) -> None:
        if self.recorder is not None:
            self.recorder.journal(entries)

    # -- objects ---------------------------------------------------------------------------
    def quotes(self) -> tuple[Quote, ...]:
        return tuple(self._control.quotes(self.partner_id))

    def quote(self, quote_id: str) -> Quote:
        return self._control.quote(quote_id)

    def trades(self) -> tuple[Trade, ...]:
        return tuple(self._control.trades(self.partner_id))

    def trade(self, transact_id: str) -> Trade:
        return self._control.trade(transact_id)

    def trade_for_quote(self, quote_id: str) -> Trade | None:
        return self._control.trade_for_quote(quote_id)

    def events(self, transact_id: str | None = None) -> tuple[WebhookEvent, ...]:
        return tuple(
            e
            for e in self._control.events(self.partner_id)
            if transact_id is None or e.transact_id == transact_id
        )

    def deliveries(self, event_id: str | None = None) -> tuple[DeliveryAttempt, ...]:
        return tuple(
            d
            for d in self._control.deliveries(self.partner_id)
            if event_id is None or d.event_id == event_id
        )

    def partner(self) -> ProvisionedPartner:
        """This partner as the simulator provisioned it (limits, balance gate, …)."""
        return self._control.partner(self.partner_id)

    def balance(self) -> Decimal:
        """This partner's prefunded balance at the provider."""
        return self._control.balance(self.partner_id)

    def pool(self, pool_id: str) -> ProvidedPool:
        return self._control.pool(pool_id)

    def unsupported_networks(self, pool_id: str) -> tuple[str, ...]:
        """Documented network names that this pool does not support (read, not assumed)."""
        from conformance.simulator.models import DOCUMENTED_NETWORKS

        supported = set(self.pool(pool_id).supported_networks)
        return tuple(n for n in DOCUMENTED_NETWORKS if n not in supported)

    def ordinary_amount(self) -> str:
        """An ordinary order amount: comfortably inside the provisioned limits, not near one."""
        from decimal import Decimal

        from conformance.money import format_money

        partner = self.partner()
        amount = Decimal(partner.min_order_usdt) * Decimal("2.5")
        if partner.max_order_usdt is not None:
            amount = min(amount, Decimal(partner.max_order_usdt) / 4)
        return format_money(amount)

    def known_ids(self) -> frozenset[str]:
        """The id and quote id of every trade this partner made at the provider."""
        return frozenset(t.id for t in self.trades()) | frozenset(t.quote_id for t in self.trades())

    def now(self) -> datetime:
        reading = self._control.clock()
        now: datetime = reading.now
        return now if now.tzinfo else now.replace(tzinfo=UTC)

    # -- arranging -------------------------------------------------------------------------
    def short_ttl(self, seconds: float) -> None:
        self._step("next quote short-lived", f"{seconds:g} s")
        self._control.set_next_quote_ttl(self.partner_id, seconds)

    def script_next(self, *statuses: str, polls: int = 1) -> None:
        from conformance.simulator import OutcomePlan

        self._step("script next trades", ", ".join(statuses))
        self._control.script_next_trades(
            self.partner_id, [OutcomePlan(status=s, polls=polls) for s in statuses]
        )

    def move(self, transact_id: str, status: str) -> Trade:
        self._step("move trade now", f"{transact_id} → {status}")
        return self._control.script_outcome(transact_id, status, now=True)

    def fault(
        self,
        action: str,
        *,
        method: str = "POST",
        path: str = TRANSACT_PATH,
        quote_id: str | None = None,
        **options: Any,
    ) -> str:
        """Arm a fault on this partner's next matching request(s), optionally for one quote."""
        from conformance.simulator import FaultMatch, FaultSpec

        scope = f" for {quote_id}" if quote_id else ""
        self._step("inject fault", f"{action} on {method} {path}{scope} {options or ''}")
        spec = FaultSpec(
            match=FaultMatch(
                method=method, path=path, partner_id=self.partner_id, quote_id=quote_id
            ),
            action=action,
            **options,
        )
        return self._control.inject_fault(spec)

    def clear_faults(self) -> None:
        """Disarm every fault (they are scoped to the scenario: ``reset`` does it at its end)."""
        self._control.clear_faults()

    def unavailable_next(self, reason: str) -> None:
        self._step("next quote unavailable", reason)
        self._control.make_next_quote_unavailable(self.partner_id, reason)

    def hold_webhooks(self, hold: bool) -> None:
        self._step("hold webhooks" if hold else "stop holding webhooks")
        self._control.hold_webhooks(self.partner_id, hold)

    def update(self, **fields: Any) -> None:
        self._step("update partner", ", ".join(f"{k}={v}" for k, v in fields.items()))
        self._control.update_partner(self.partner_id, **fields)

    def set_pool_available(self, pool_id: str, available: bool) -> None:
        """Close or reopen a pool for every partner (its quotes then say unavailable)."""
        self._control.set_pool_available(pool_id, available)

    # -- webhooks --------------------------------------------------------------------------
    def redeliver(self, event_id: str) -> DeliveryAttempt:
        """Deliver an event again (same eventId), synchronously."""
        return self._control.redeliver(event_id)

    def forge(self, event_id: str, kind: str) -> DeliveryAttempt:
        """Deliver a forged copy of an event (bad_signature, stale_timestamp, …)."""
        return self._control.forge(event_id, kind)

    def wait_until(self, instant: datetime, *, bound_s: float) -> None:
        """Sleep until the simulator's clock passes ``instant`` (bounded by ``bound_s``)."""
        deadline = time.monotonic() + bound_s
        while self.now() <= instant and time.monotonic() < deadline:
            time.sleep(0.05)
