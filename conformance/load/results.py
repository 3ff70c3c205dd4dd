"""What a load run measured and what it found: the records the judge, the command and the report
share. Latencies are milliseconds (not money); amounts never appear here as floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSettings:
    """How the spike was shaped (what the command was asked for)."""

    users: int
    spawn_rate: float
    duration_s: float
    workers: int  # 0: Locust's local runner; W > 0: a master and W worker processes
    # Shares of orders that take each path (0..1); the rest is one quote → one accept.
    double_accept_share: float
    reset_retry_share: float
    expired_share: float
    replay_share: float
    error_budget: float  # the partner's declared share of 5xx it may answer under load
    velocity_share: float = 0.0  # orders whose transact the provider answers 429 + Retry-After


@dataclass(frozen=True, slots=True, kw_only=True)
class Percentiles:
    """Nearest-rank percentiles of a set of durations, in milliseconds (None when no sample)."""

    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionStats:
    """One partner action under load (create_quote, accept, order_status, …)."""

    action: str
    requests: int
    failures: int  # transport errors and answers the manifest cannot read
    server_errors: int  # the partner's own 5xx
    latency: Percentiles


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelinePoint:
    """One second of the run (seconds since the start): throughput and latency over time."""

    second: int
    requests: int
    accepts: int
    failures: int
    accept_p50_ms: float | None
    accept_p95_ms: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCounts:
    """What the users did, by path; and what ended where."""

    orders: int  # quotes the partner created
    accepted: int  # orders the partner said it executed (or queued and then executed)
    refused: int  # orders it refused (expired, velocity, …)
    double_accepts: int
    reset_retries: int  # accepts whose provider transact was reset after commit
    expired_attempts: int
    webhook_replays: int
    trades: int  # trades the provider holds for this partner


@dataclass(frozen=True, slots=True, kw_only=True)
class Guarantee:
    """One guarantee judged after the run. ``held`` None: the harness could not decide (error)."""

    id: str  # "load.one_trade_per_order", "load.no_duplicate_posting", …
    title: str
    held: bool | None
    detail: str  # one line a partner can act on
    examples: tuple[str, ...] = ()  # a few order refs / quote ids that broke it
    observed: int = 0  # how many cases were checked (0 with held=True is not evidence)
    fix: str = ""  # what to change when it did not hold (one line)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadResult:
    """Everything one load run produced (the report's ``load`` section)."""

    settings: LoadSettings
    started_at: datetime
    ended_at: datetime
    counts: OrderCounts
    actions: tuple[ActionStats, ...]
    accept_latency: Percentiles
    quote_to_terminal: Percentiles  # from the quote request to a terminal order status
    timeline: tuple[TimelinePoint, ...]
    guarantees: tuple[Guarantee, ...]
    partner_5xx: int
    partner_requests: int
    throughput_rps: float  # partner requests per second over the whole run
    notes: tuple[str, ...] = field(default=())
