"""The plan a load run hands to Locust's processes: one JSON file, read by the locustfile.

Locust runs in its own processes (it imports gevent and monkey-patches), so everything a
user needs to act crosses the process boundary here: where the partner and the simulator's
control plane are, which order paths to take in which proportion, and the bounds derived
from the partner's declared timings. The file holds the control token: it is written
``0600`` into a private temporary directory, never into the report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The paths an order can take. "normal": one quote, one accept; the others add one threat.
NORMAL = "normal"
DOUBLE = "double_accept"  # two concurrent accepts of the same order
RESET = "reset_retry"  # the provider commits the transact, then resets the connection
EXPIRED = "expired"  # a short-lived quote, accepted after it expired
VELOCITY = "velocity"  # the provider answers 429 velocity_cap_exceeded with Retry-After
PATHS = (DOUBLE, RESET, EXPIRED, VELOCITY, NORMAL)

# The message type workers send their samples to the master with (Locust's own channel).
SAMPLES_MESSAGE = "zeropools_samples"
FLUSH_MESSAGE = "zeropools_flush"  # master → worker: finish your orders, send the rest
DONE_MESSAGE = "zeropools_done"  # worker → master: everything was sent
PLAN_ENV = "ZEROPOOLS_LOAD_PLAN"


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadPlan:
    """What every Locust process needs; written once by the harness, read by the locustfile."""

    manifest: str  # the partner manifest's path (routes, fields and states come from it)
    base_url: str  # where the partner answers
    sim_url: str  # the simulator's base URL (its control plane is under /_sim/)
    control_token: str
    partner_id: str
    amount: str  # an ordinary order amount, a decimal string
    samples_dir: str  # each local process writes its samples here (samples-<role>-<pid>.jsonl)
    shares: Mapping[str, float] = field(default_factory=dict)  # path -> share of orders
    poll_s: float = 0.5  # how often a user reads its order's status
    settle_s: float = 10.0  # how long a user follows its order to a terminal status
    short_ttl_s: float = 1.0  # the expired path's quote lifetime
    expire_wait_s: float = 0.65  # accept this long after the quote expired
    retry_after_s: int = 1  # the Retry-After of the injected velocity 429
    think_s: float = 1.0  # a user's pause between two orders
    request_timeout_s: float = 30.0
    stop_timeout_s: float = 30.0  # Locust's --stop-timeout: users finish their order
    terminal: tuple[str, ...] = ("done", "refused", "unavailable", "failed", "returned")

    def write(self, path: Path) -> Path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)
        return path

    @classmethod
    def read(cls, path: str | Path) -> LoadPlan:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        data["terminal"] = tuple(data.get("terminal", ()))
        return cls(**data)


def schedule(shares: Mapping[str, float], slots: int = 100) -> tuple[str, ...]:
    """The order of paths a process cycles through: each threat once first, then by share.

    Deterministic (no random choice decides an outcome): the first orders of every process
    cover every path with a positive share, so even a short run has evidence of each; the
    rest interleave the paths in their proportions (largest remainder), normal orders
    filling what the shares leave.
    """
    threats = [p for p in PATHS if p != NORMAL and shares.get(p, 0.0) > 0]
    weights = {p: shares.get(p, 0.0) for p in threats}
    weights[NORMAL] = max(0.0, 1.0 - sum(weights.values()))
    order: list[str] = list(threats)
    given = dict.fromkeys(weights, 0)
    for slot in range(1, slots + 1):
        # The path furthest behind its share so far gets this slot.
        path = max(weights, key=lambda p: (weights[p] * slot - given[p], -PATHS.index(p)))
        given[path] += 1
        order.append(path)
    return tuple(order)
