"""The simulated provider's view of the partner under test: journal queries, faults, scripts."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from conformance.driver.recorder import EvidenceRecorder

TRANSACT_PATH = "/v1/pools/*/transact"
QUOTE_PATH = "/v1/pools/*/quote"
POLL_PATH = "/v1/pools/transactions/*"


def _is(entry: Any, method: str, pattern: str) -> bool:
    return bool(entry.method == method and fnmatch.fnmatchcase(entry.path, pattern))


def body_quote_id(entry: Any) -> str | None:
    body = entry.body
    if isinstance(body, dict):
        value = body.get("quoteId")
        return value if isinstance(value, str) else None
    return None


class Provider:
    """Thin, partner-scoped wrapper of the simulator's control plane, recording what it does."""

    def __init__(
        self, control: Any, partner_id: str, recorder: EvidenceRecorder | None = None
    ) -> None:
        self.control = control
        self.partner_id = partner_id
        self.recorder = recorder

    def bind(self, recorder: EvidenceRecorder) -> Provider:
        return Provider(self.control, self.partner_id, recorder)

    def reset(self) -> None:
        """Undo what a scenario scoped to itself: armed faults and held webhooks."""
        self.control.clear_faults()
        self.control.hold_webhooks(self.partner_id, False)

    def _step(self, action: str, detail: str = "") -> None:
        if self.recorder is not None:
            self.recorder.step(f"provider: {action}", detail)

    # -- journal ---------------------------------------------------------------------------
    def journal(self, since: int = 0) -> tuple[Any, ...]:
        return tuple(self.control.journal(partner_id=self.partner_id, since_seq=since))

    def mark(self) -> int:
        """The journal position now; later queries read only what came after."""
        return int(self.control.journal_position())

    def transacts(self, *, since: int = 0, quote_id: str | None = None) -> tuple[Any, ...]:
        return tuple(
            e
            for e in self.journal(since)
            if _is(e, "POST", TRANSACT_PATH) and (quote_id is None or body_quote_id(e) == quote_id)
        )

    def quote_requests(self, *, since: int = 0) -> tuple[Any, ...]:
        return tuple(e for e in self.journal(since) if _is(e, "POST", QUOTE_PATH))

    def polls(self, quote_id: str, *, since: int = 0) -> tuple[Any, ...]:
        return tuple(
            e
            for e in self.journal(since)
            if e.method == "GET" and e.path == f"/v1/pools/transactions/{quote_id}"
        )

    def record_journal(self, entries: Iterable[Any]) -> None:
        if self.recorder is not None:
            self.recorder.journal(entries)

    # -- objects ---------------------------------------------------------------------------
    def quotes(self) -> tuple[Any, ...]:
        return tuple(self.control.quotes(self.partner_id))

    def quote(self, quote_id: str) -> Any:
        return self.control.quote(quote_id)

    def trades(self) -> tuple[Any, ...]:
        return tuple(self.control.trades(self.partner_id))

    def trade(self, transact_id: str) -> Any:
        return self.control.trade(transact_id)

    def trade_for_quote(self, quote_id: str) -> Any | None:
        return self.control.trade_for_quote(quote_id)

    def events(self, transact_id: str | None = None) -> tuple[Any, ...]:
        return tuple(
            e
            for e in self.control.events(self.partner_id)
            if transact_id is None or e.transact_id == transact_id
        )

    def deliveries(self, event_id: str | None = None) -> tuple[Any, ...]:
        return tuple(
            d
            for d in self.control.deliveries(self.partner_id)
            if event_id is None or d.event_id == event_id
        )

    def partner(self) -> Any:
        """This partner as the simulator provisioned it (limits, balance gate, …)."""
        return self.control.partner(self.partner_id)

    def pool(self, pool_id: str) -> Any:
        return self.control.pool(pool_id)

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
        reading = self.control.clock()
        now: datetime = reading.now
        return now if now.tzinfo else now.replace(tzinfo=UTC)

    # -- arranging -------------------------------------------------------------------------
    def short_ttl(self, seconds: float) -> None:
        self._step("next quote short-lived", f"{seconds:g} s")
        self.control.set_next_quote_ttl(self.partner_id, seconds)

    def script_next(self, *statuses: str, polls: int = 1) -> None:
        from conformance.simulator import OutcomePlan

        self._step("script next trades", ", ".join(statuses))
        self.control.script_next_trades(
            self.partner_id, [OutcomePlan(status=s, polls=polls) for s in statuses]
        )

    def move(self, transact_id: str, status: str) -> Any:
        self._step("move trade now", f"{transact_id} → {status}")
        return self.control.script_outcome(transact_id, status, now=True)

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
        fault_id: str = self.control.inject_fault(spec)
        return fault_id

    def unavailable_next(self, reason: str) -> None:
        self._step("next quote unavailable", reason)
        self.control.make_next_quote_unavailable(self.partner_id, reason)

    def hold_webhooks(self, hold: bool) -> None:
        self._step("hold webhooks" if hold else "stop holding webhooks")
        self.control.hold_webhooks(self.partner_id, hold)

    def update(self, **fields: Any) -> None:
        self._step("update partner", ", ".join(f"{k}={v}" for k, v in fields.items()))
        self.control.update_partner(self.partner_id, **fields)

    def wait_until(self, instant: datetime, *, bound_s: float) -> None:
        """Sleep until the simulator's clock passes ``instant`` (bounded by ``bound_s``)."""
        deadline = time.monotonic() + bound_s
        while self.now() <= instant and time.monotonic() < deadline:
            time.sleep(0.05)
