"""The samples Locust's processes wrote, read back: per-request timings and per-order records.

Percentiles are nearest-rank over every sample (not Locust's rounded histogram), the
timeline one bucket per second since the first request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.load.results import ActionStats, Percentiles, TimelinePoint


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSample:
    """One partner request as a Locust user made it."""

    action: str
    at: float  # epoch seconds when it was sent
    ms: float
    status: int  # 0: no answer (connection refused, reset, timeout)
    error: str | None = None
    unreadable: bool = False

    @property
    def server_error(self) -> bool:
        return self.status >= 500 or self.status == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptSample:
    at: float
    status: int
    category: str | None
    transact_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRecord:
    """One order a user placed, by path, with what the partner answered and where it ended."""

    path: str
    account: str
    at: float
    ended: float
    arranged: bool  # the control-plane arrangement of its path was accepted
    quote_status: int | None = None
    order_ref: str | None = None
    quote_id: str | None = None
    accepts: tuple[AcceptSample, ...] = ()
    final: str | None = None  # the terminal category it reached, None if it never did
    final_at: float | None = None
    transact_id: str | None = None

    @property
    def created(self) -> bool:
        return self.order_ref is not None and self.quote_status is not None and (
            200 <= self.quote_status < 300
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Samples:
    requests: tuple[RequestSample, ...] = ()
    orders: tuple[OrderRecord, ...] = ()
    unreadable_lines: int = 0
    notes: tuple[str, ...] = field(default=())


def read_samples(paths: Iterable[Path]) -> Samples:
    """Every sample of the run's JSONL files (a line that is not a sample is counted)."""
    requests: list[RequestSample] = []
    orders: list[OrderRecord] = []
    bad = 0
    for path in paths:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if data.get("kind") == "request":
                    requests.append(_request(data))
                elif data.get("kind") == "order":
                    orders.append(_order(data))
                else:
                    bad += 1
            except (ValueError, TypeError, KeyError, AttributeError):
                bad += 1
    requests.sort(key=lambda r: r.at)
    orders.sort(key=lambda o: o.at)
    return Samples(requests=tuple(requests), orders=tuple(orders), unreadable_lines=bad)


def _request(data: dict[str, Any]) -> RequestSample:
    return RequestSample(
        action=str(data["action"]), at=float(data["at"]), ms=float(data["ms"]),
        status=int(data["status"]), error=data.get("error"),
        unreadable=bool(data.get("unreadable")),
    )


def _order(data: dict[str, Any]) -> OrderRecord:
    accepts = tuple(
        AcceptSample(at=float(a["at"]), status=int(a["status"]), category=a.get("category"),
                     transact_id=a.get("transact_id"))
        for a in data.get("accepts") or ()
    )
    final_at = data.get("final_at")
    return OrderRecord(
        path=str(data["path"]), account=str(data["account"]), at=float(data["at"]),
        ended=float(data.get("ended") or data["at"]), arranged=bool(data.get("arranged", True)),
        quote_status=data.get("quote_status"), order_ref=data.get("order_ref"),
        quote_id=data.get("quote_id"), accepts=accepts, final=data.get("final"),
        final_at=None if final_at is None else float(final_at),
        transact_id=data.get("transact_id"),
    )


def percentiles(durations_ms: Sequence[float]) -> Percentiles:
    """Nearest-rank p50 / p95 / p99 in milliseconds."""
    ordered = sorted(durations_ms)

    def rank(p: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 1)

    return Percentiles(count=len(ordered), p50_ms=rank(0.50), p95_ms=rank(0.95),
                       p99_ms=rank(0.99))


def action_stats(requests: Sequence[RequestSample]) -> tuple[ActionStats, ...]:
    """Per action: requests, failures (no answer, unreadable), the partner's 5xx, latency."""
    names = list(dict.fromkeys(r.action for r in requests))
    stats = []
    for name in names:
        mine = [r for r in requests if r.action == name]
        stats.append(ActionStats(
            action=name,
            requests=len(mine),
            failures=sum(1 for r in mine if r.status == 0 or r.unreadable),
            server_errors=sum(1 for r in mine if r.status >= 500),
            latency=percentiles([r.ms for r in mine]),
        ))
    return tuple(stats)


def timeline(requests: Sequence[RequestSample], start: float) -> tuple[TimelinePoint, ...]:
    """One point per second since ``start``: requests, accepts, failures, accept latency."""
    if not requests:
        return ()
    buckets: dict[int, list[RequestSample]] = {}
    for sample in requests:
        buckets.setdefault(max(0, int(sample.at - start)), []).append(sample)
    points = []
    for second in range(0, max(buckets) + 1):
        mine = buckets.get(second, [])
        accepts = percentiles([r.ms for r in mine if r.action == "accept"])
        points.append(TimelinePoint(
            second=second,
            requests=len(mine),
            accepts=accepts.count,
            failures=sum(1 for r in mine if r.server_error or r.unreadable),
            accept_p50_ms=accepts.p50_ms,
            accept_p95_ms=accepts.p95_ms,
        ))
    return tuple(points)
