"""The report's ``load`` section: a load run's measurements as JSON-native numbers.

Latencies are milliseconds (numbers, rounded to the microsecond; null when there was no
sample), counts are integers, times ISO 8601 strings.
"""

from __future__ import annotations

import math

from conformance.load.results import Guarantee, LoadResult, Percentiles
from conformance.report.shape import GuaranteeEntry, LoadSection, PercentilesEntry


def number(value: float | None, digits: int = 3) -> float | None:
    """A finite float rounded for JSON, or None (no sample, or not a number)."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _percentiles(p: Percentiles) -> PercentilesEntry:
    return {"count": int(p.count), "p50_ms": number(p.p50_ms), "p95_ms": number(p.p95_ms),
            "p99_ms": number(p.p99_ms)}


def outcome(held: bool | None) -> str:
    """``held`` in words: held, broken, undecided."""
    if held is None:
        return "undecided"
    return "held" if held else "broken"


def _guarantee(g: Guarantee) -> GuaranteeEntry:
    return {"id": g.id, "title": g.title, "held": g.held, "outcome": outcome(g.held),
            "detail": g.detail, "fix": g.fix, "examples": list(g.examples),
            "observed": int(g.observed)}


def load_section(load: LoadResult) -> LoadSection:
    """The ``load`` section of report.json, field for field from :class:`LoadResult`."""
    s = load.settings
    c = load.counts
    return {
        "settings": {
            "users": int(s.users), "spawn_rate": float(s.spawn_rate),
            "duration_s": float(s.duration_s), "workers": int(s.workers),
            "double_accept_share": float(s.double_accept_share),
            "reset_retry_share": float(s.reset_retry_share),
            "expired_share": float(s.expired_share), "replay_share": float(s.replay_share),
            "velocity_share": float(s.velocity_share),
            "error_budget": float(s.error_budget),
        },
        "started_at": load.started_at.isoformat(),
        "ended_at": load.ended_at.isoformat(),
        "counts": {
            "orders": int(c.orders), "accepted": int(c.accepted), "refused": int(c.refused),
            "double_accepts": int(c.double_accepts), "reset_retries": int(c.reset_retries),
            "expired_attempts": int(c.expired_attempts),
            "webhook_replays": int(c.webhook_replays), "trades": int(c.trades),
        },
        "actions": [
            {"action": a.action, "requests": int(a.requests), "failures": int(a.failures),
             "server_errors": int(a.server_errors), "latency": _percentiles(a.latency)}
            for a in load.actions
        ],
        "accept_latency": _percentiles(load.accept_latency),
        "quote_to_terminal": _percentiles(load.quote_to_terminal),
        "timeline": [
            {"second": int(t.second), "requests": int(t.requests), "accepts": int(t.accepts),
             "failures": int(t.failures), "accept_p50_ms": number(t.accept_p50_ms),
             "accept_p95_ms": number(t.accept_p95_ms)}
            for t in load.timeline
        ],
        "guarantees": [_guarantee(g) for g in load.guarantees],
        "partner_5xx": int(load.partner_5xx),
        "partner_requests": int(load.partner_requests),
        "throughput_rps": number(load.throughput_rps) or 0.0,
        "notes": list(load.notes),
    }
