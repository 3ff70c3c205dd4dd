"""Webhook signing (0bit and Standard Webhooks), at-least-once delivery, replays and forgeries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from conformance.simulator.clock import Clock
from conformance.simulator.models import DeliveryAttempt, Partner, WebhookEvent
from conformance.simulator.settings import SIGNATURE_SCHEMES, SimulatorSettings

FORGE_KINDS = ("bad_signature", "wrong_secret", "tampered_body", "stale_timestamp",
               "missing_headers")
TOLERANCE_SECONDS = 300


def _standard_key(secret: str) -> bytes:
    tail = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    return base64.b64decode(tail)


def _hex_v1(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _standard_v1(secret: str, msg_id: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(_standard_key(secret), f"{msg_id}.{timestamp}.".encode() + body,
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign(
    scheme: str,
    secret: str,
    body: bytes,
    timestamp: int,
    *,
    event_id: str = "",
    event_type: str = "",
) -> dict[str, str]:
    """The headers that sign ``body`` under ``scheme`` ("0bit" or "standard")."""
    if scheme == "0bit":
        headers = {
            "X-0bit-Signature": f"t={timestamp},v1={_hex_v1(secret, body, timestamp)}",
            "X-0bit-Timestamp": str(timestamp),
        }
        if event_id:
            headers["X-0bit-Event-Id"] = event_id
        if event_type:
            headers["X-0bit-Event-Type"] = event_type
        return headers
    if scheme == "standard":
        msg_id = event_id or f"msg_{secrets.token_hex(8)}"
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": _standard_v1(secret, msg_id, body, timestamp),
        }
    raise ValueError(f"scheme: must be one of {SIGNATURE_SCHEMES}")


def verify(
    scheme: str,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: int | None = None,
) -> bool:
    """True when ``headers`` carry a valid, fresh signature of ``body`` under ``scheme``."""
    lower = {k.lower(): v for k, v in headers.items()}
    current = int(time.time()) if now is None else now
    try:
        if scheme == "0bit":
            parts = dict(
                item.split("=", 1) for item in lower["x-0bit-signature"].split(",") if "=" in item
            )
            timestamp = int(parts["t"])
            expected = _hex_v1(secret, body, timestamp)
            ok = hmac.compare_digest(expected, parts.get("v1", ""))
        elif scheme == "standard":
            timestamp = int(lower["webhook-timestamp"])
            expected = _standard_v1(secret, lower["webhook-id"], body, timestamp)
            ok = any(hmac.compare_digest(expected, candidate)
                     for candidate in lower["webhook-signature"].split(" "))
        else:
            raise ValueError(f"scheme: must be one of {SIGNATURE_SCHEMES}")
    except (KeyError, ValueError, TypeError):
        return False
    return ok and abs(current - timestamp) <= tolerance


def event_body(event: WebhookEvent) -> bytes:
    return json.dumps(event.to_json(), separators=(",", ":")).encode()


class Dispatcher:
    """Delivers events on the simulator's loop: retries, dead letters, holds, forgeries."""

    def __init__(self, settings: SimulatorSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.partner_of: dict[str, Partner] = {}
        self.events: dict[str, WebhookEvent] = {}
        self._lock = threading.Lock()
        self._attempts: list[DeliveryAttempt] = []
        self._held: dict[str, list[WebhookEvent]] = {}
        self._holding: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._client: httpx.AsyncClient | None = None
        self.lookup_partner: Any = None  # set by the simulator: partner_id → Partner

    # -- lifecycle (on the loop) --------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called on the loop's own thread, before it serves."""
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._client = httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_seconds, trust_env=False
        )

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    # -- submission (any thread) --------------------------------------------------------------

    def submit(self, events: list[WebhookEvent]) -> None:
        """Queue new events for delivery (or hold them); safe from any thread."""
        ready: list[WebhookEvent] = []
        with self._lock:
            for event in events:
                self.events[event.id] = event
                if event.partner_id in self._holding:
                    self._held.setdefault(event.partner_id, []).append(event)
                else:
                    ready.append(event)
        # Only a partner with a webhook URL gets an attempt (checked again when dispatched):
        # the others cost no callback on the loop (most load runs, every poll that settles).
        ready = [event for event in ready if self._partner(event.partner_id).webhook_url]
        if not ready or self._loop is None or self._loop.is_closed():
            return
        try:
            if threading.get_ident() == self._loop_thread:  # no wake-up needed on the loop
                self._loop.call_soon(self._dispatch, ready)
            else:
                self._loop.call_soon_threadsafe(self._dispatch, ready)
        except RuntimeError:  # the loop stopped between the check and the call
            return

    def _dispatch(self, events: list[WebhookEvent]) -> None:
        for event in events:
            if self._partner(event.partner_id).webhook_url:  # else no attempt is made
                self._spawn(self._deliver(event))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- delivery -----------------------------------------------------------------------------

    def _partner(self, partner_id: str) -> Partner:
        partner: Partner = self.lookup_partner(partner_id)
        return partner

    async def _deliver(self, event: WebhookEvent) -> None:
        await self.deliver_first_then_retry(event)

    async def deliver_first(self, event: WebhookEvent) -> DeliveryAttempt | None:
        """Make the first attempt now (awaited); later retries run in the background."""
        with self._lock:
            self.events[event.id] = event
        attempt = await self.attempt(event, number=1, kind="delivery")
        if attempt is not None and not attempt.ok and not self.settings.webhook_retry_delays:
            self._record_dead(attempt)
        return attempt

    async def deliver_first_then_retry(self, event: WebhookEvent) -> DeliveryAttempt | None:
        start = time.monotonic()
        attempt = await self.deliver_first(event)
        if attempt is not None and not attempt.ok:
            self._spawn(self._retry(event, start))
        return attempt

    async def _retry(self, event: WebhookEvent, start: float) -> None:
        last: DeliveryAttempt | None = None
        for number, offset in enumerate(self.settings.webhook_retry_delays, start=2):
            await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
            last = await self.attempt(event, number=number, kind="delivery")
            if last is None or last.ok:
                return
        if last is not None:
            self._record_dead(last)

    def _record_dead(self, attempt: DeliveryAttempt) -> None:
        with self._lock:
            self._attempts.append(
                DeliveryAttempt(
                    event_id=attempt.event_id, partner_id=attempt.partner_id,
                    attempt=attempt.attempt, kind="dead_letter", url=attempt.url,
                    status_code=attempt.status_code, error=attempt.error,
                    at=self.clock.now(), dead_letter=True,
                )
            )

    async def attempt(
        self, event: WebhookEvent, *, number: int, kind: str
    ) -> DeliveryAttempt | None:
        """One signed POST to the partner's webhook URL (None when it has none)."""
        partner = self._partner(event.partner_id)
        url = partner.webhook_url
        if not url or self._client is None:
            return None
        body = event_body(event)
        secret = partner.webhook_secret
        timestamp = Clock.real_unix()
        scheme = partner.signature_scheme
        if kind == "stale_timestamp":
            timestamp -= 3600
        if kind == "wrong_secret":
            secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        headers = sign(scheme, secret, body, timestamp, event_id=event.id, event_type=event.type)
        if kind == "bad_signature":
            headers = sign(scheme, secret, body + b" ", timestamp, event_id=event.id,
                           event_type=event.type)
        if kind == "tampered_body":
            data = json.loads(body)
            data["data"]["fiatAmount"] = _tamper(data["data"]["fiatAmount"])
            body = json.dumps(data, separators=(",", ":")).encode()
        if kind == "missing_headers":
            headers = {}
        headers = {**headers, "Content-Type": "application/json",
                   "User-Agent": "0Pools-Simulator/1"}
        status: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        record = DeliveryAttempt(
            event_id=event.id, partner_id=event.partner_id, attempt=number, kind=kind, url=url,
            status_code=status, error=error, at=self.clock.now(),
        )
        with self._lock:
            self._attempts.append(record)
        return record

    async def redeliver(self, event_id: str) -> DeliveryAttempt | None:
        event = self.event(event_id)
        with self._lock:
            number = 1 + sum(1 for a in self._attempts if a.event_id == event_id
                             and not a.dead_letter)
        return await self.attempt(event, number=number, kind="redelivery")

    async def forge(self, event_id: str, kind: str) -> DeliveryAttempt | None:
        if kind not in FORGE_KINDS:
            raise ValueError(f"kind: must be one of {', '.join(FORGE_KINDS)}")
        event = self.event(event_id)
        return await self.attempt(event, number=0, kind=kind)

    def event(self, event_id: str) -> WebhookEvent:
        with self._lock:
            event = self.events.get(event_id)
        if event is None:
            raise KeyError(event_id)
        return event

    # -- hold and release ---------------------------------------------------------------------

    def hold(self, partner_id: str, hold: bool) -> None:
        with self._lock:
            if hold:
                self._holding.add(partner_id)
            else:
                self._holding.discard(partner_id)

    async def release(self, partner_id: str, order: list[str] | None = None) -> list[str]:
        """Deliver held events, those named in ``order`` first; returns the order used."""
        with self._lock:
            self._holding.discard(partner_id)
            held = self._held.pop(partner_id, [])
        by_id = {event.id: event for event in held}
        ordered = [by_id.pop(event_id) for event_id in (order or []) if event_id in by_id]
        ordered += [event for event in held if event.id in by_id]
        for event in ordered:
            await self.deliver_first_then_retry(event)
        return [event.id for event in ordered]

    def held(self, partner_id: str) -> tuple[WebhookEvent, ...]:
        with self._lock:
            return tuple(self._held.get(partner_id, []))

    def attempts(self, partner_id: str | None = None) -> tuple[DeliveryAttempt, ...]:
        with self._lock:
            return tuple(a for a in self._attempts
                         if partner_id is None or a.partner_id == partner_id)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until no delivery task is running."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


def _tamper(amount: str) -> str:
    """A different but plausible amount: the tampered-body forgery."""
    whole, _, cents = amount.partition(".")
    return f"{int(whole) + 1000}.{cents or '00'}"
