"""Faults injected on the next matching requests, as a real network or provider would fail."""

from __future__ import annotations

import dataclasses
import fnmatch
import threading
from dataclasses import dataclass, field

from conformance.simulator import ids

FAULT_ACTIONS = ("reset_after_commit", "delay", "error", "webhook_before_response")


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultMatch:
    """Which requests a fault hits: method, path glob (``/v1/pools/*/transact``), partner,
    and the quote a request concerns (in its path, or the transact body's ``quoteId``)."""

    method: str | None = None
    path: str | None = None
    partner_id: str | None = None
    quote_id: str | None = None

    def hits(
        self, method: str, path: str, partner_id: str | None, quote_id: str | None = None
    ) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is not None and not fnmatch.fnmatchcase(path, self.path):
            return False
        if self.quote_id is not None and self.quote_id != quote_id:
            return False
        return self.partner_id is None or self.partner_id == partner_id


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSpec:
    """One fault: what it matches, what it does, and for how many requests."""

    match: FaultMatch = field(default_factory=FaultMatch)
    action: str = "error"
    status: int = 503
    code: str = "api_error"
    message: str = "the provider is temporarily unavailable"
    delay_seconds: float = 0.0
    retry_after: int | None = None
    times: int = 1

    def __post_init__(self) -> None:
        if self.action not in FAULT_ACTIONS:
            raise ValueError(f"action: must be one of {', '.join(FAULT_ACTIONS)}")
        if self.times < 1:
            raise ValueError("times: must be at least 1")
        if self.action == "error" and not 400 <= self.status <= 599:
            raise ValueError("status: an error fault answers 4xx or 5xx")
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds: must not be negative")

    @property
    def name(self) -> str:
        return self.action if self.action != "error" else f"error:{self.status}:{self.code}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmedFault:
    """A fault waiting for its requests, and how many it still has to hit."""

    id: str
    spec: FaultSpec
    remaining: int


class FaultBook:
    """Armed faults, consumed first come first served by matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[ArmedFault] = []

    def arm(self, spec: FaultSpec) -> str:
        armed = ArmedFault(id=ids.fault_id(), spec=spec, remaining=spec.times)
        with self._lock:
            self._armed.append(armed)
        return armed.id

    def take(
        self, method: str, path: str, partner_id: str | None, quote_id: str | None = None
    ) -> FaultSpec | None:
        with self._lock:
            for index, armed in enumerate(self._armed):
                if armed.spec.match.hits(method, path, partner_id, quote_id):
                    if armed.remaining <= 1:
                        del self._armed[index]
                    else:
                        self._armed[index] = dataclasses.replace(
                            armed, remaining=armed.remaining - 1
                        )
                    return armed.spec
        return None

    def disarm(self, fault_id: str) -> bool:
        """Remove one armed fault before it is used up; False when it is gone already."""
        with self._lock:
            for index, armed in enumerate(self._armed):
                if armed.id == fault_id:
                    del self._armed[index]
                    return True
        return False

    @property
    def armed_any(self) -> bool:
        """Whether any fault is armed (one read, no lock: the request path asks first)."""
        return bool(self._armed)

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def armed(self) -> tuple[ArmedFault, ...]:
        with self._lock:
            return tuple(self._armed)
