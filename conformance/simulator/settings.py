"""Every choice the documentation leaves open that a partner could depend on, as a setting."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from conformance.simulator.models import Pool

# tier → (spreadBps, feeBps, spreadCapBps); feeBps is also the capabilities' drawFeeBps.
TIERS: dict[str, tuple[int, int, int]] = {
    "standard": (25, 30, 50),
    "growth": (20, 25, 40),
    "enterprise": (15, 20, 30),
}

DEFAULT_POOLS: tuple[Pool, ...] = (
    Pool(id="EUR-USDT", fiat_currency="EUR", crypto_currency="USDT", mid_rate=Decimal("1.0850")),
    Pool(id="EUR-USDC", fiat_currency="EUR", crypto_currency="USDC", mid_rate=Decimal("1.0840")),
)

SIGNATURE_SCHEMES = ("0bit", "standard")
HTTP_PARSERS = ("httptools", "h11")
EVENT_LOOPS = ("uvloop", "asyncio")
UNAVAILABLE_REASONS = ("pool_dry", "engine_unavailable", "rate_unavailable")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatorSettings:
    """Run-wide settings; defaults are the documented behaviour or DESIGN §2's choice."""

    host: str = "127.0.0.1"
    port: int = 0
    control_token: str | None = None  # generated when None
    pools: tuple[Pool, ...] = DEFAULT_POOLS
    quote_ttl_seconds: float = 15.0
    consumed_quote_new_key: str = "same_trade"  # or "strict" → 409 quote_consumed
    unknown_fields: str = "reject"  # or "ignore" (noted in the journal)
    idempotency_ttl_seconds: float = 24 * 3600.0
    velocity_window_seconds: float = 24 * 3600.0
    max_body_bytes: int = 1024 * 1024
    signature_scheme: str = "0bit"  # or "standard" (Standard Webhooks)
    webhook_timeout_seconds: float = 5.0
    webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    openapi_path: str | None = None  # default: openapi.yaml beside this module
    http_parser: str = "httptools"  # or "h11" (pure Python, the original server)
    event_loop: str = "uvloop"  # or "asyncio" (the standard library's loop)
    journal_memory_entries: int = 10_000  # newer entries stay in memory, older spill to SQLite

    def __post_init__(self) -> None:
        if self.consumed_quote_new_key not in ("same_trade", "strict"):
            raise ValueError("consumed_quote_new_key: must be 'same_trade' or 'strict'")
        if self.unknown_fields not in ("reject", "ignore"):
            raise ValueError("unknown_fields: must be 'reject' or 'ignore'")
        if self.signature_scheme not in SIGNATURE_SCHEMES:
            raise ValueError(f"signature_scheme: must be one of {SIGNATURE_SCHEMES}")
        if self.http_parser not in HTTP_PARSERS:
            raise ValueError(f"http_parser: must be one of {HTTP_PARSERS}")
        if self.event_loop not in EVENT_LOOPS:
            raise ValueError(f"event_loop: must be one of {EVENT_LOOPS}")
        if self.journal_memory_entries < 1:
            raise ValueError("journal_memory_entries: must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerSpec:
    """What the harness provisions for one partner; None means "generate" or "default"."""

    name: str = "partner"
    secret_key: str | None = None
    publishable_key: str | None = None
    webhook_secret: str | None = None
    webhook_url: str | None = None
    status: str = "active"  # or "suspended" → 403 pool_access_suspended
    kyc_status: str = "approved"  # else → 403 kyc_not_approved
    enabled: bool = True  # False → 403 pools_not_enabled
    pools: tuple[str, ...] | None = None  # entitled (visible) pools; None = all
    allowed_pools: tuple[str, ...] | None = None  # None = all entitled pools
    tier: str = "standard"
    min_order_usdt: Decimal = Decimal("10")
    max_order_usdt: Decimal | None = Decimal("50000")
    velocity_cap: Decimal | None = None  # USDT notional per rolling 24 h; None = off
    balance_gate: bool = True
    initial_balance: Decimal = Decimal("100000")
    quote_ttl_seconds: float | None = None  # None = the run's setting
    off_ramp_enabled: bool = False
    signature_scheme: str | None = None  # None = the run's setting
    funding_iban: str | None = "DE89370400440532013000"
