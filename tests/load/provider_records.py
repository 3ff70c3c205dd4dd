"""Stand-ins for the simulator's quote and trade records, for judging made-up runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeQuote:
    id: str
    dest_address: str | None
    expires_at: datetime


@dataclass(frozen=True)
class FakeTrade:
    id: str
    quote_id: str
    dest_address: str | None
    status: str = "settled"
    fiat_amount: Decimal = Decimal("25.00")
    crypto_amount: Decimal = Decimal("26.5")
    created_at: datetime = T0
