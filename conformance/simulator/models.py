"""The simulator's records: frozen, keyword-only, money as Decimal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from operator import attrgetter
from typing import Any, Literal, TypeVar

from conformance.simulator.clock import iso

Side = Literal["on_ramp", "off_ramp"]
TradeStatus = Literal["reserved", "settled", "failed", "released", "returned"]
QuoteStatus = Literal["active", "consumed", "expired", "rejected"]
LedgerReason = Literal["payin_credit", "buy_debit", "buy_refund"]

SIDES: tuple[str, ...] = ("on_ramp", "off_ramp")
TRADE_STATUSES: tuple[str, ...] = ("reserved", "settled", "failed", "released", "returned")
TERMINAL_EVENT_TYPES: dict[str, str] = {
    "settled": "pool.transaction.settled",
    "failed": "pool.transaction.failed",
    "released": "pool.transaction.released",
}



_CENT = Decimal("0.01")
_MICRO = Decimal("0.000001")


def _cents(value: Decimal) -> str:
    """``format_money(value, 2)`` with its quantum built once and the rounding passed by
    position (a keyword costs as much again): the request path's way."""
    return str(value.quantize(_CENT, ROUND_HALF_EVEN))


def _micros(value: Decimal) -> str:
    """``format_money(value, 6)``, likewise."""
    return str(value.quantize(_MICRO, ROUND_HALF_EVEN))


R = TypeVar("R")
_EVOLVERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}
_FACTORY: Any = object()  # a default-factory field that was not given


def _slot_setters(cls: Any) -> dict[str, Callable[[Any, Any], None]]:
    """A slotted record's fields, in order, each with its slot's setter (which bypasses the
    frozen ``__setattr__``): what the generated copier and ``__init__`` fill slots with."""
    return {f.name: cls.__dict__[f.name].__set__ for f in fields(cls)}


def _setter_names(setters: dict[str, Callable[[Any, Any], None]]) -> dict[str, Any]:
    """The setters under the names the generated code calls them by (``set_<field>``)."""
    return {f"set_{name}": setter for name, setter in setters.items()}


def _evolver(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    """A copier for one slotted record class: it fills a new instance's slots straight from
    the old one (no ``__init__``, no frozen ``__setattr__``), then applies the changes."""
    setters = _slot_setters(cls)
    names = tuple(setters)
    if hasattr(cls, "__post_init__"):  # validation must run: go through the constructor
        values = attrgetter(*names)

        def rebuild(record: Any, changes: dict[str, Any]) -> Any:
            current = dict(zip(names, values(record), strict=True))
            current.update(changes)
            return cls(**current)

        return rebuild
    lines = ["def copy(record, changes):", "    new = new_(cls)"]
    lines += [f"    set_{name}(new, record.{name})" for name in names]
    lines += ["    for name, value in changes.items():",
              "        setter = setters.get(name)",
              "        if setter is None:",
              "            raise TypeError(f'{cls.__name__}: no field {name!r}')",
              "        setter(new, value)",
              "    return new"]
    scope: dict[str, Any] = {"new_": object.__new__, "cls": cls, "setters": setters,
                             **_setter_names(setters)}
    exec("\n".join(lines), scope)  # noqa: S102 - code built from the class's own field names
    copier: Callable[[Any, dict[str, Any]], Any] = scope["copy"]
    return copier


def fast_init(cls: type[R]) -> type[R]:
    """Give a frozen, slotted, keyword-only record a faster ``__init__`` (for those built on
    every request): it fills the slots through their descriptors instead of the frozen
    ``object.__setattr__`` per field; defaults and default factories as the dataclass's own.
    Records with ``__post_init__`` keep theirs (validation must run)."""
    if hasattr(cls, "__post_init__"):
        return cls
    params, lines = [], []
    scope: dict[str, Any] = {"_FACTORY": _FACTORY, **_setter_names(_slot_setters(cls))}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.default is not MISSING:
            scope[f"default_{f.name}"] = f.default
            params.append(f"{f.name}=default_{f.name}")
        elif f.default_factory is not MISSING:
            scope[f"factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_FACTORY")
            lines.append(f"    if {f.name} is _FACTORY:\n        {f.name} = factory_{f.name}()")
        else:
            params.append(f.name)
        lines.append(f"    set_{f.name}(self, {f.name})")
    code = f"def __init__(self, *, {', '.join(params)}):\n" + "\n".join(lines) + "\n"
    exec(code, scope)  # noqa: S102 - code built from the class's own field names
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 - replacing the generated one
    return cls


def evolve(record: R, **changes: Any) -> R:
    """``dataclasses.replace`` for these slotted records, several times faster: the request
    path copies a trade or quote several times per request."""
    copier = _EVOLVERS.get(type(record))
    if copier is None:
        copier = _EVOLVERS[type(record)] = _evolver(type(record))
    new: R = copier(record, changes)
    return new


# The crypto networks the 0Pools docs name (capabilities.supportedNetworks draws from these).
DOCUMENTED_NETWORKS = ("tron", "ethereum", "bsc", "polygon", "solana")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pool:
    """A liquidity pool the simulator offers (mid rate is fiat → crypto)."""

    id: str
    fiat_currency: str
    crypto_currency: str
    mid_rate: Decimal
    supported_networks: tuple[str, ...] = ("tron", "ethereum", "polygon")
    sides: tuple[str, ...] = ("on_ramp", "off_ramp")
    available: bool = True

    @property
    def pair(self) -> str:
        return f"{self.fiat_currency}/{self.crypto_currency}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Partner:
    """A provisioned partner: keys, entitlement, limits and webhook settings."""

    id: str
    name: str
    secret_key: str
    publishable_key: str
    webhook_secret: str
    webhook_url: str | None
    status: str
    kyc_status: str
    enabled: bool
    pools: tuple[str, ...]
    allowed_pools: tuple[str, ...]
    tier: str
    spread_bps: int
    fee_bps: int
    spread_cap_bps: int
    min_order_usdt: Decimal
    max_order_usdt: Decimal | None
    velocity_cap: Decimal | None
    balance_gate: bool
    quote_ttl_seconds: float
    off_ramp_enabled: bool
    signature_scheme: str
    funding_iban: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerCredentials:
    """What a provisioned partner is given to call the API and verify webhooks."""

    partner_id: str
    secret_key: str
    publishable_key: str
    webhook_secret: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockReading:
    """The simulator's time and how far it is shifted from real time."""

    now: datetime
    offset_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"now": iso(self.now), "offsetSeconds": self.offset_seconds}


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomePlan:
    """How a trade created later resolves: which status, on which poll."""

    status: str = "settled"
    polls: int = 1

    def __post_init__(self) -> None:
        if self.status not in ("settled", "failed", "released", "returned", "reserved"):
            raise ValueError(f"status: unknown outcome {self.status!r}")
        if self.polls < 1:
            raise ValueError("polls: must be at least 1")


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """A firm quote: a persisted single-use lock on price, amounts and destination."""

    id: str
    partner_id: str
    pool_id: str
    side: str
    fiat_currency: str
    crypto_currency: str
    fiat_amount: Decimal
    crypto_amount: Decimal
    rate: Decimal
    spread_bps: int
    fee_bps: int
    crypto_network: str
    dest_address: str | None
    min_order_usdt: Decimal
    max_order_usdt: Decimal | None
    created_at: datetime
    expires_at: datetime
    rejected_at: datetime | None = None
    transact_id: str | None = None

    @property
    def total_bps(self) -> int:
        return self.spread_bps + self.fee_bps

    def status_at(self, now: datetime) -> str:
        """Derived status; precedence rejected > consumed > expired > active."""
        if self.rejected_at is not None:
            return "rejected"
        if self.transact_id is not None:
            return "consumed"
        if now >= self.expires_at:
            return "expired"
        return "active"

    def to_json(self, now: datetime) -> dict[str, Any]:
        status = self.status_at(now)
        return {
            "available": True,
            "type": "firm",
            "executable": status == "active",
            "quoteId": self.id,
            "poolId": self.pool_id,
            "side": self.side,
            "status": status,
            "fiatCurrency": self.fiat_currency,
            "cryptoCurrency": self.crypto_currency,
            "fiatAmount": _cents(self.fiat_amount),
            "cryptoAmount": _micros(self.crypto_amount),
            "rate": str(self.rate),
            "spreadBps": self.spread_bps,
            "feeBps": self.fee_bps,
            "totalBps": self.total_bps,
            "cryptoNetwork": self.crypto_network,
            "destAddress": self.dest_address,
            "minOrderUsdt": str(self.min_order_usdt),
            "maxOrderUsdt": None if self.max_order_usdt is None else str(self.max_order_usdt),
            "createdAt": iso(self.created_at),
            "expiresAt": iso(self.expires_at),
        }


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """A trade created by transact; its outcome advances only on status polls."""

    id: str
    seq: int
    partner_id: str
    quote_id: str
    pool_id: str
    side: str
    status: str
    fiat_currency: str
    crypto_currency: str
    fiat_amount: Decimal
    crypto_amount: Decimal
    rate: Decimal
    crypto_network: str
    dest_address: str | None
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    plan: OutcomePlan = field(default_factory=OutcomePlan)
    polls: int = 0
    return_pending: bool = False

    def to_json(self) -> dict[str, Any]:
        created = iso(self.created_at)
        return {
            "transactId": self.id,
            "quoteId": self.quote_id,
            "poolId": self.pool_id,
            "side": self.side,
            "status": self.status,
            "fiatCurrency": self.fiat_currency,
            "cryptoCurrency": self.crypto_currency,
            "fiatAmount": _cents(self.fiat_amount),
            "cryptoAmount": _micros(self.crypto_amount),
            "rate": str(self.rate),
            "cryptoNetwork": self.crypto_network,
            "destAddress": self.dest_address,
            "createdAt": created,
            "updatedAt": created if self.updated_at == self.created_at else iso(self.updated_at),
        }


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    """One movement of the partner's prefunded balance."""

    id: str
    seq: int
    partner_id: str
    currency: str
    delta: Decimal
    reason: str
    ref: str
    transact_id: str | None
    balance_after: Decimal
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "delta": _cents(self.delta),
            "reason": self.reason,
            "ref": self.ref,
            "transactId": self.transact_id,
            "currency": self.currency,
            "balanceAfter": _cents(self.balance_after),
            "createdAt": iso(self.created_at),
        }


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEvent:
    """A terminal-status event; eventId is sha256 of ``"<txnId>:<eventType>"``."""

    id: str
    type: str
    partner_id: str
    created_at: datetime
    transact_id: str
    quote_id: str
    pool_id: str
    status: str
    fiat_amount: Decimal
    crypto_amount: Decimal
    ledger_ref: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "eventId": self.id,
            "type": self.type,
            "createdAt": iso(self.created_at),
            "data": {
                "transactId": self.transact_id,
                "quoteId": self.quote_id,
                "poolId": self.pool_id,
                "status": self.status,
                "fiatAmount": _cents(self.fiat_amount),
                "cryptoAmount": _micros(self.crypto_amount),
                "ledgerRef": self.ledger_ref,
            },
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAttempt:
    """One attempt to deliver an event; ``kind`` says delivery, redelivery or a forgery."""

    event_id: str
    partner_id: str
    attempt: int
    kind: str
    url: str
    status_code: int | None
    error: str | None
    at: datetime
    dead_letter: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def to_json(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "partnerId": self.partner_id,
            "attempt": self.attempt,
            "kind": self.kind,
            "url": self.url,
            "statusCode": self.status_code,
            "error": self.error,
            "at": iso(self.at),
            "deadLetter": self.dead_letter,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalEntry:
    """One request the partner made, as evidence; secrets already redacted."""

    seq: int
    at: datetime
    method: str
    path: str
    query: str
    partner_id: str | None
    key_kind: str
    idempotency_key: str | None
    body: Any
    body_digest: str
    status: int
    request_id: str
    origin: str | None
    user_agent: str | None
    fault: str | None = None
    reset: bool = False
    replayed: bool = False
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso(self.at),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "partnerId": self.partner_id,
            "keyKind": self.key_kind,
            "idempotencyKey": self.idempotency_key,
            "body": self.body,
            "bodyDigest": self.body_digest,
            "status": self.status,
            "requestId": self.request_id,
            "origin": self.origin,
            "userAgent": self.user_agent,
            "fault": self.fault,
            "reset": self.reset,
            "replayed": self.replayed,
            "notes": list(self.notes),
        }
