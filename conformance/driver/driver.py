"""The driver: the partner's actions in the harness's words, each call recorded as evidence."""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from conformance.driver.actions import Actions, Answer
from conformance.driver.manifest import Manifest
from conformance.driver.recorder import EvidenceRecorder
from conformance.errors import PartnerGarbage

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def new_account(prefix: str = "acct") -> str:
    """A fresh customer account id, so every scenario works on its own orders."""
    return f"{prefix}_{secrets.token_hex(5)}"


def dest_address(network: str) -> str:
    """A well-formed-looking destination address for the network (no checksum is checked)."""
    if network in ("ethereum", "polygon", "bsc"):
        return "0x" + secrets.token_hex(20)
    return "T" + "".join(secrets.choice(_BASE58) for _ in range(33))


def to_decimal(value: object) -> Decimal | None:
    """A ledger amount as Decimal (strings, ints, or JSON numbers read exactly); None if not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Posting:
    """One entry of the partner's customer ledger, in the harness's terms."""

    amount: Decimal
    reversal: bool
    kind: str | None
    transact_id: str | None
    quote_id: str | None
    order_ref: str | None
    event_id: str | None

    def refers_to(
        self,
        *,
        transact_id: str | None = None,
        quote_id: str | None = None,
        order_ref: str | None = None,
    ) -> bool:
        return bool(
            (transact_id and self.transact_id == transact_id)
            or (quote_id and self.quote_id == quote_id)
            or (order_ref and self.order_ref == order_ref)
        )


class Driver:
    """Acts as a customer (and as ops) on the partner, through the manifest's actions."""

    def __init__(self, actions: Actions, recorder: EvidenceRecorder) -> None:
        self.actions = actions
        self.manifest: Manifest = actions.manifest
        self.recorder = recorder
        provider = self.manifest.provider
        self.poll_interval_s = provider.poll_interval_s
        # A trade the partner polls settles within a few intervals; allow its timeout too.
        self.settle_timeout_s = max(6.0, 12 * provider.poll_interval_s + 2 * provider.timeout_s)

    # -- variables -------------------------------------------------------------------------
    def variables(self, **given: object) -> dict[str, str]:
        provider = self.manifest.provider
        network = str(given.get("network") or provider.network)
        values: dict[str, str] = {
            "pool_id": provider.pool_id,
            "side": provider.side,
            "network": network,
            "currency": provider.pool_id.split("-", 1)[0],
            "dest_address": dest_address(network),
            "account": "",
            "amount": "",
            "order_ref": "",
        }
        values.update({k: str(v) for k, v in given.items() if v is not None})
        return values

    def category(self, answer: Answer) -> str | None:
        return self.manifest.provider.category(answer.get("status"))

    def has(self, action: str) -> bool:
        return self.actions.has(action)

    def _call(self, action: str, **given: object) -> Answer:
        answer = self.actions.call(action, self.variables(**given))
        self._record(answer)
        return answer

    def _record(self, answer: Answer) -> None:
        self.recorder.step(answer.action, answer.summary(), ok=not answer.server_error)
        self.recorder.ids(
            order_ref=answer.get("order_ref"),
            quote_id=answer.get("quote_id"),
            transact_id=answer.get("transact_id"),
        )

    # -- customer actions ------------------------------------------------------------------
    def create_quote(
        self, *, account: str, amount: str, network: str | None = None, **extra: object
    ) -> Answer:
        return self._call("create_quote", account=account, amount=amount, network=network, **extra)

    def accept(self, order_ref: str, *, account: str) -> Answer:
        return self._call("accept", order_ref=order_ref, account=account)

    async def accept_async(
        self, order_ref: str, *, account: str, client: httpx.AsyncClient
    ) -> Answer:
        answer = await self.actions.acall(
            "accept", self.variables(order_ref=order_ref, account=account), client
        )
        self._record(answer)
        return answer

    def get_order(self, order_ref: str, *, account: str) -> Answer:
        return self._call("get_order", order_ref=order_ref, account=account)

    def order(self, order_ref: str, *, account: str) -> Answer:
        """get_order that must answer 2xx JSON with a status (else the harness cannot decide)."""
        answer = self.get_order(order_ref, account=account)
        if not answer.ok or not answer.is_json:
            raise PartnerGarbage(
                f"get_order for {order_ref} answered HTTP {answer.status_code}: "
                f"{answer.text[:200]!r}"
            )
        answer.require("status")
        return answer

    def ledger(self, *, account: str) -> tuple[Posting, ...]:
        answer = self._call("ledger", account=account)
        if not answer.ok or not answer.is_json:
            raise PartnerGarbage(
                f"ledger answered HTTP {answer.status_code}: {answer.text[:200]!r}"
            )
        return tuple(self._posting(item) for item in answer.items)

    def _posting(self, item: Mapping[str, Any]) -> Posting:
        provider = self.manifest.provider
        amount = to_decimal(item.get("amount"))
        if amount is None:
            raise PartnerGarbage(f"ledger entry without a readable amount: {dict(item)!r}")
        kind = item.get("kind")
        if provider.reversal == "kind":
            reversal = kind == provider.reversal_kind
            amount = abs(amount)
        else:
            reversal = amount < 0
            amount = abs(amount)
        return Posting(
            amount=amount,
            reversal=reversal,
            kind=None if kind is None else str(kind),
            transact_id=_str(item.get("transact_id")),
            quote_id=_str(item.get("quote_id")),
            order_ref=_str(item.get("order_ref")),
            event_id=_str(item.get("event_id")),
        )

    def alerts(self, *, account: str = "") -> Answer:
        return self._call("alerts", account=account)

    def reconcile(self, *, account: str = "") -> Answer | None:
        """Run the partner's reconcile action if it declares one."""
        if not self.has("reconcile"):
            return None
        return self._call("reconcile", account=account)

    # -- waiting ---------------------------------------------------------------------------
    def wait_for(
        self,
        order_ref: str,
        *,
        account: str,
        categories: Collection[str],
        timeout_s: float | None = None,
        reconcile: bool = True,
        also: Any = None,
    ) -> Answer:
        """Poll get_order until its status is in ``categories`` (bounded); the last answer.

        Halfway through the bound the partner's reconcile action (if any) is run once,
        since DESIGN §4 accepts a reconcile action as the partner's way to catch up.
        """
        bound = self.settle_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + bound
        reconciled = not reconcile
        interval = min(0.2, self.poll_interval_s)
        while True:
            answer = self.actions.call(
                "get_order", self.variables(order_ref=order_ref, account=account)
            )
            if answer.ok and self.category(answer) in categories and (also is None or also(answer)):
                self._record(answer)
                return answer
            now = time.monotonic()
            if now >= deadline:
                self._record(answer)
                return answer
            if not reconciled and now >= deadline - bound / 2:
                reconciled = True
                self.reconcile(account=account)
            time.sleep(interval)


def _str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)
