"""Transact idempotency: fingerprints, stored 200 replies, in-flight markers.

The caller (the store) holds its lock around every method here.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conformance.simulator.http import encode_json
from conformance.simulator.models import fast_init

_NOT_GIVEN: Any = object()


def fingerprint(method: str, path: str, body: bytes, parsed: Any = _NOT_GIVEN) -> str:
    """Method, path and canonical JSON body; bytes that are not JSON are hashed as they are.

    ``parsed``: the body already parsed as strict JSON, when the caller has it.
    """
    try:
        value = json.loads(body) if parsed is _NOT_GIVEN else parsed
        canonical = encode_json(value, sort_keys=True)
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = b"raw:" + body
    digest = hashlib.sha256(canonical).hexdigest()
    return f"{method.upper()} {path} {digest}"


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class StoredReply:
    """A 200 answer kept byte for byte, replayed for the same key and body."""

    fingerprint: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Lookup:
    """What a key means for an incoming transact: replay, conflict, in progress or new."""

    outcome: str  # "replay" | "reused" | "in_progress" | "new"
    reply: StoredReply | None = None


_NEW = Lookup(outcome="new")  # frozen: one instance serves every new key


class IdempotencyStore:
    """Per-partner keys with a retention window, and quotes whose transact is in flight."""

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = timedelta(seconds=ttl_seconds)
        self._replies: dict[tuple[str, str], StoredReply] = {}
        # Stored replies in the order they were stored, which is also stored_at order
        # (simulator time never moves backwards): expiry pops from the left, O(1) amortised.
        self._stored_order: deque[tuple[datetime, tuple[str, str]]] = deque()
        self._keys_in_flight: dict[tuple[str, str], str] = {}
        self._quotes_in_flight: set[str] = set()

    def lookup(self, partner_id: str, key: str, fp: str, now: datetime) -> Lookup:
        self._expire(now)
        slot = (partner_id, key)
        reply = self._replies.get(slot)
        if reply is not None:
            if reply.fingerprint == fp:
                return Lookup(outcome="replay", reply=reply)
            return Lookup(outcome="reused")
        if slot in self._keys_in_flight:
            return Lookup(outcome="in_progress")
        return _NEW

    def quote_in_flight(self, quote_id: str) -> bool:
        return quote_id in self._quotes_in_flight

    def begin(self, partner_id: str, key: str, fp: str, quote_id: str) -> None:
        self._keys_in_flight[(partner_id, key)] = fp
        self._quotes_in_flight.add(quote_id)

    def finish(self, partner_id: str, key: str, quote_id: str, reply: StoredReply | None) -> None:
        self._keys_in_flight.pop((partner_id, key), None)
        self._quotes_in_flight.discard(quote_id)
        if reply is not None and reply.status == 200:
            self._replies[(partner_id, key)] = reply
            self._stored_order.append((reply.stored_at, (partner_id, key)))

    def keys(self, partner_id: str) -> tuple[str, ...]:
        return tuple(key for (pid, key) in self._replies if pid == partner_id)

    def _expire(self, now: datetime) -> None:
        order = self._stored_order
        while order and now - order[0][0] >= self._ttl:
            stored_at, slot = order.popleft()
            reply = self._replies.get(slot)
            if reply is not None and reply.stored_at == stored_at:
                del self._replies[slot]
