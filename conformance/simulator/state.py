"""The store and its state machines (quotes, trades, ledger), all under one lock.

Nothing awaits while the lock is held, so the control plane may call in from any thread.
New webhook events are handed to ``on_events`` after the lock is released.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from conformance.errors import ControlError, UnknownObject
from conformance.money import CENT, format_money
from conformance.redact import Redactor
from conformance.simulator import ids
from conformance.simulator.clock import Clock
from conformance.simulator.errors import ApiError, invalid
from conformance.simulator.idempotency import IdempotencyStore, Lookup, StoredReply
from conformance.simulator.models import (
    SIDES,
    TERMINAL_EVENT_TYPES,
    LedgerEntry,
    OutcomePlan,
    Partner,
    PartnerCredentials,
    Pool,
    Quote,
    Trade,
    WebhookEvent,
    evolve,
)
from conformance.simulator.settings import (
    TIERS,
    UNAVAILABLE_REASONS,
    PartnerSpec,
    SimulatorSettings,
)

LIVE_KEY = re.compile(r"^(sk|pk)_live_")
_LIVE_PREFIXES = ("sk_live_", "pk_live_")
WHITESPACE = re.compile(r"\s")  # the characters str.isspace() accepts
FIAT_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,2})?$")
CRYPTO_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,6})?$")
QUOTE_FIELDS = frozenset(
    {"side", "amount", "currency", "cryptoNetwork", "destAddress", "destNetwork", "type",
     "fiatCurrency", "cryptoCurrency"}
)
_TRANSACT_FIELDS = frozenset({"quoteId"})
RATE_PLACES = Decimal("0.000001")
MICRO = Decimal("0.000001")
BPS = Decimal(10000)



@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteAnswer:
    """A quote request's answer: a persisted firm quote, or a price-only / fail-soft body."""

    quote: Quote | None
    body: dict[str, Any]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactAnswer:
    """A transact's answer before rendering: a replay, or the trade (new or existing)."""

    replay: StoredReply | None = None
    trade: Trade | None = None
    created: bool = False
    fingerprint: str = ""


def _check_unknown(body: dict[str, Any], allowed: Iterable[str], mode: str) -> tuple[str, ...]:
    if isinstance(allowed, frozenset) and allowed.issuperset(body):
        return ()
    extra = sorted(set(body) - set(allowed))
    if extra and mode == "reject":
        raise invalid(extra[0], "unknown field")
    return tuple(f"ignored unknown field {name}" for name in extra)


def _string(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(name, "is required")
        return None
    if not isinstance(value, str):
        raise invalid(name, f"must be a string, not {type(value).__name__}")
    return value


class Store:
    """Everything a run knows: partners, quotes, trades, ledger, events, idempotency keys."""

    def __init__(self, settings: SimulatorSettings, clock: Clock, redactor: Redactor) -> None:
        self.settings = settings
        self.clock = clock
        self.redactor = redactor
        self.lock = threading.Lock()
        self.on_events: Callable[[list[WebhookEvent]], None] = lambda events: None
        self.pools: dict[str, Pool] = {pool.id: pool for pool in settings.pools}
        self.partners: dict[str, Partner] = {}
        self.keys: dict[str, tuple[str, str]] = {}  # key → (partner id, "secret"|"publishable")
        self.quotes: dict[str, Quote] = {}
        self.trades: dict[str, Trade] = {}
        self.trade_by_quote: dict[str, str] = {}
        self.ledger: dict[str, list[LedgerEntry]] = {}
        self.balances: dict[str, Decimal] = {}
        self.events: dict[str, WebhookEvent] = {}
        self.next_plans: dict[str, deque[OutcomePlan]] = {}
        self.next_unavailable: dict[str, deque[str]] = {}
        self.next_ttl: dict[str, deque[float]] = {}
        self.idempotency = IdempotencyStore(settings.idempotency_ttl_seconds)
        self._seq = 0

    # -- partners ---------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def provision(self, spec: PartnerSpec) -> PartnerCredentials:
        pools = tuple(spec.pools) if spec.pools is not None else tuple(self.pools)
        for pool_id in pools:
            if pool_id not in self.pools:
                raise UnknownObject(f"pools: unknown pool {pool_id!r}")
        if spec.tier not in TIERS:
            raise ControlError(f"tier: unknown tier {spec.tier!r}")
        spread, fee, cap = TIERS[spec.tier]
        scheme = spec.signature_scheme or self.settings.signature_scheme
        partner = Partner(
            id=ids.partner_id(),
            name=spec.name,
            secret_key=spec.secret_key or ids.secret_key(),
            publishable_key=spec.publishable_key or ids.publishable_key(),
            webhook_secret=spec.webhook_secret or ids.webhook_secret(),
            webhook_url=spec.webhook_url,
            status=spec.status,
            kyc_status=spec.kyc_status,
            enabled=spec.enabled,
            pools=pools,
            allowed_pools=tuple(spec.allowed_pools) if spec.allowed_pools is not None else pools,
            tier=spec.tier,
            spread_bps=spread,
            fee_bps=fee,
            spread_cap_bps=cap,
            min_order_usdt=Decimal(spec.min_order_usdt),
            max_order_usdt=None if spec.max_order_usdt is None else Decimal(spec.max_order_usdt),
            velocity_cap=None if spec.velocity_cap is None else Decimal(spec.velocity_cap),
            balance_gate=spec.balance_gate,
            quote_ttl_seconds=spec.quote_ttl_seconds or self.settings.quote_ttl_seconds,
            off_ramp_enabled=spec.off_ramp_enabled,
            signature_scheme=scheme,
            funding_iban=spec.funding_iban,
        )
        with self.lock:
            for key in (partner.secret_key, partner.publishable_key):
                if key in self.keys:
                    raise ControlError("keys: already provisioned for another partner")
            if not partner.secret_key.startswith("sk_") or not partner.publishable_key.startswith(
                "pk_"
            ):
                raise ControlError("keys: secret keys start sk_, publishable keys pk_")
            self.partners[partner.id] = partner
            self.keys[partner.secret_key] = (partner.id, "secret")
            self.keys[partner.publishable_key] = (partner.id, "publishable")
            self.balances[partner.id] = Decimal(0)
            self.ledger[partner.id] = []
            if spec.initial_balance:
                self._post(partner, Decimal(spec.initial_balance), "payin_credit", "initial", None)
        for secret in (partner.secret_key, partner.publishable_key, partner.webhook_secret):
            self.redactor.add(secret)
        return PartnerCredentials(
            partner_id=partner.id,
            secret_key=partner.secret_key,
            publishable_key=partner.publishable_key,
            webhook_secret=partner.webhook_secret,
        )

    def update_partner(self, partner_id: str, **fields: Any) -> Partner:
        allowed = {f.name for f in dataclasses.fields(Partner)} - {"id", "secret_key",
                                                                   "publishable_key"}
        for name in fields:
            if name not in allowed:
                raise ControlError(f"{name}: not a partner field that can change")
        with self.lock:
            partner = self.partner(partner_id)
            changes = dict(fields)
            for name in ("min_order_usdt", "max_order_usdt", "velocity_cap"):
                if name in changes and changes[name] is not None:
                    changes[name] = Decimal(str(changes[name]))
            for name in ("pools", "allowed_pools"):
                if name in changes:
                    changes[name] = tuple(changes[name])
            if "tier" in changes:
                if changes["tier"] not in TIERS:
                    raise ControlError(f"tier: unknown tier {changes['tier']!r}")
                spread, fee, cap = TIERS[changes["tier"]]
                changes.update(spread_bps=spread, fee_bps=fee, spread_cap_bps=cap)
            updated = dataclasses.replace(partner, **changes)
            self.partners[partner_id] = updated
        if "webhook_secret" in fields:
            self.redactor.add(str(fields["webhook_secret"]))
        return updated

    def partner(self, partner_id: str) -> Partner:
        try:
            return self.partners[partner_id]
        except KeyError:
            raise UnknownObject(f"partner_id: unknown partner {partner_id!r}") from None

    def authenticate(self, token: str | None) -> tuple[Partner | None, str]:
        """Resolve a bearer token to its partner and key kind (no decision made here)."""
        if not token:
            return None, "none"
        if token.startswith(_LIVE_PREFIXES):  # LIVE_KEY, without a regular expression
            return None, "live"
        with self.lock:
            found = self.keys.get(token)
            if found is None:
                return None, "unknown"
            return self.partners[found[0]], found[1]

    def queue_plans(self, partner_id: str, plans: Iterable[OutcomePlan]) -> None:
        with self.lock:
            self.partner(partner_id)
            self.next_plans.setdefault(partner_id, deque()).extend(plans)

    def set_pool_available(self, pool_id: str, available: bool) -> Pool:
        """Replace the pool with a copy that is (un)available; the records stay frozen."""
        with self.lock:
            pool = self.pools.get(pool_id)
            if pool is None:
                raise UnknownObject(f"unknown pool {pool_id!r}")
            self.pools[pool_id] = dataclasses.replace(pool, available=bool(available))
            return self.pools[pool_id]

    def queue_unavailable(self, partner_id: str, reason: str) -> None:
        if reason not in UNAVAILABLE_REASONS:
            raise ControlError(f"reason: must be one of {UNAVAILABLE_REASONS}")
        with self.lock:
            self.partner(partner_id)
            self.next_unavailable.setdefault(partner_id, deque()).append(reason)

    def queue_ttl(self, partner_id: str, seconds: float) -> None:
        if seconds <= 0:
            raise ControlError("seconds: must be positive")
        with self.lock:
            self.partner(partner_id)
            self.next_ttl.setdefault(partner_id, deque()).append(seconds)

    # -- entitlement ------------------------------------------------------------------------

    def gate(self, partner: Partner, pool_id: str) -> Pool:
        """404 for a pool outside the partner's world, then the documented denial codes."""
        pool = self.pools.get(pool_id)
        if pool is None or pool_id not in partner.pools:
            raise ApiError(404, "pool_not_found", f"no pool {pool_id!r} for this partner")
        if not partner.enabled:
            raise ApiError(403, "pools_not_enabled", "0Pools is not enabled for this partner")
        if partner.status != "active":
            raise ApiError(403, "pool_access_suspended", "pool access is suspended")
        if partner.kyc_status != "approved":
            raise ApiError(403, "kyc_not_approved", "partner KYC is not approved")
        if pool_id not in partner.allowed_pools:
            raise ApiError(403, "pool_not_allowed", f"pool {pool_id!r} is not allowed")
        return pool

    def listed_pools(self, partner: Partner) -> list[Pool]:
        if not partner.enabled:
            return []
        return [self.pools[pool_id] for pool_id in partner.pools]

    # -- ledger -----------------------------------------------------------------------------

    def _post(
        self, partner: Partner, delta: Decimal, reason: str, ref: str, transact_id: str | None,
        now: datetime | None = None,
    ) -> LedgerEntry:
        """``now``: the moment of the change this posting belongs to (read here if None)."""
        balance = self.balances[partner.id] + delta
        self.balances[partner.id] = balance
        entry = LedgerEntry(
            id=ids.ledger_entry_id(),
            seq=self._next_seq(),
            partner_id=partner.id,
            currency="EUR",
            delta=delta,
            reason=reason,
            ref=ref,
            transact_id=transact_id,
            balance_after=balance,
            created_at=self.clock.now() if now is None else now,
        )
        self.ledger[partner.id].append(entry)
        return entry

    def credit(self, partner_id: str, amount: Decimal, ref: str = "control") -> LedgerEntry:
        with self.lock:
            return self._post(self.partner(partner_id), Decimal(amount), "payin_credit", ref, None)

    # -- quotes -----------------------------------------------------------------------------

    def create_quote(self, partner: Partner, pool_id: str, body: Any, *,
                     pool: Pool | None = None) -> QuoteAnswer:
        """``pool``: what :meth:`gate` already answered for this partner and pool."""
        if pool is None:
            pool = self.gate(partner, pool_id)
        if not isinstance(body, dict):
            raise invalid("body", "must be a JSON object")
        notes = _check_unknown(body, QUOTE_FIELDS, self.settings.unknown_fields)
        side = _string(body, "side", required=True)
        if side not in SIDES:
            raise invalid("side", f"must be one of {', '.join(SIDES)}")
        if side not in pool.sides:
            raise invalid("side", f"{side} is not supported by pool {pool.id}")
        kind = _string(body, "type") or "firm"
        if kind not in ("firm", "indicative"):
            raise invalid("type", "must be firm or indicative")
        currency = _string(body, "currency") or pool.fiat_currency
        if currency not in (pool.fiat_currency, pool.crypto_currency):
            raise invalid("currency", f"must be {pool.fiat_currency} or {pool.crypto_currency}")
        for name, expected in (("fiatCurrency", pool.fiat_currency),
                               ("cryptoCurrency", pool.crypto_currency)):
            value = _string(body, name)
            if value is not None and value != expected:
                raise invalid(name, f"must be {expected} for pool {pool.id}")
        raw_amount = body.get("amount")
        if raw_amount is None:
            raise invalid("amount", "is required")
        if not isinstance(raw_amount, str):
            raise invalid("amount", f"must be a decimal string, not {type(raw_amount).__name__}")
        is_fiat = currency == pool.fiat_currency
        pattern = FIAT_AMOUNT if is_fiat else CRYPTO_AMOUNT
        if not pattern.match(raw_amount):
            places = 2 if is_fiat else 6
            raise invalid("amount", f"must be a decimal string with at most {places} decimals")
        amount = Decimal(raw_amount)
        network = _string(body, "cryptoNetwork") or "tron"
        if network not in pool.supported_networks:
            raise invalid("cryptoNetwork", f"must be one of {', '.join(pool.supported_networks)}")
        dest_network = _string(body, "destNetwork")
        if dest_network is not None and dest_network not in pool.supported_networks:
            raise invalid("destNetwork", f"must be one of {', '.join(pool.supported_networks)}")
        dest = _string(body, "destAddress")
        if dest is not None and (not dest or len(dest) > 128 or WHITESPACE.search(dest)):
            raise invalid("destAddress", "must be 1-128 characters without whitespace")
        if dest is None and side == "on_ramp" and kind == "firm":
            raise invalid("destAddress", "is required for on_ramp firm quotes")
        usdt = amount * pool.mid_rate if is_fiat else amount
        if usdt < partner.min_order_usdt:
            raise invalid("amount", f"is below minOrderUsdt {partner.min_order_usdt}")
        if partner.max_order_usdt is not None and usdt > partner.max_order_usdt:
            raise invalid("amount", f"is above maxOrderUsdt {partner.max_order_usdt}")
        total = partner.spread_bps + partner.fee_bps
        factor = (BPS - total) / BPS
        if side == "on_ramp":
            rate = (pool.mid_rate * factor).quantize(RATE_PLACES)
            if is_fiat:
                fiat, crypto = amount, (amount * rate).quantize(MICRO, ROUND_DOWN)
            else:
                fiat, crypto = (amount / rate).quantize(CENT, ROUND_UP), amount
        else:
            rate = (factor / pool.mid_rate).quantize(RATE_PLACES)
            if is_fiat:
                fiat, crypto = amount, (amount / rate).quantize(MICRO, ROUND_UP)
            else:
                fiat, crypto = (amount * rate).quantize(CENT, ROUND_DOWN), amount
        with self.lock:
            reasons = self.next_unavailable.get(partner.id)
            reason = reasons.popleft() if reasons else None
            if reason is None and not pool.available:
                reason = "pool_dry"
            if reason is not None:
                body_out = {"available": False, "type": kind, "executable": False,
                            "poolId": pool.id, "side": side, "unavailableReason": reason}
                return QuoteAnswer(quote=None, body=body_out, notes=notes)
            if kind == "indicative":
                return QuoteAnswer(quote=None, notes=notes, body={
                    "available": True, "type": "indicative", "executable": False,
                    "poolId": pool.id, "side": side, "fiatCurrency": pool.fiat_currency,
                    "cryptoCurrency": pool.crypto_currency, "fiatAmount": format_money(fiat, 2),
                    "cryptoAmount": format_money(crypto, 6), "rate": str(rate),
                    "spreadBps": partner.spread_bps, "feeBps": partner.fee_bps,
                    "totalBps": total, "cryptoNetwork": network,
                    "minOrderUsdt": str(partner.min_order_usdt),
                    "maxOrderUsdt": None if partner.max_order_usdt is None
                    else str(partner.max_order_usdt),
                })
            ttls = self.next_ttl.get(partner.id)
            ttl = ttls.popleft() if ttls else partner.quote_ttl_seconds
            now = self.clock.now()
            quote = Quote(
                id=ids.quote_id(), partner_id=partner.id, pool_id=pool.id, side=side,
                fiat_currency=pool.fiat_currency, crypto_currency=pool.crypto_currency,
                fiat_amount=fiat, crypto_amount=crypto, rate=rate,
                spread_bps=partner.spread_bps, fee_bps=partner.fee_bps, crypto_network=network,
                dest_address=dest, min_order_usdt=partner.min_order_usdt,
                max_order_usdt=partner.max_order_usdt, created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
            self.quotes[quote.id] = quote
            return QuoteAnswer(quote=quote, body=quote.to_json(now), notes=notes)

    def own_quote(self, partner: Partner, quote_id: str) -> Quote:
        quote = self.quotes.get(quote_id)
        if quote is None or quote.partner_id != partner.id:
            raise ApiError(404, "quote_not_found", f"no quote {quote_id!r} for this partner")
        return quote

    def read_quote(self, partner: Partner, quote_id: str) -> dict[str, Any]:
        with self.lock:
            return self.own_quote(partner, quote_id).to_json(self.clock.now())

    def reject_quote(self, partner: Partner, quote_id: str) -> dict[str, Any]:
        with self.lock:
            quote = self.own_quote(partner, quote_id)
            now = self.clock.now()
            status = quote.status_at(now)
            if status != "active" or self.idempotency.quote_in_flight(quote_id):
                status = "consumed" if status == "active" else status
                raise ApiError(409, f"quote_{status}", f"quote is {status}; it cannot be rejected")
            quote = evolve(quote, rejected_at=now)
            self.quotes[quote_id] = quote
            return quote.to_json(now)

    # -- transact ---------------------------------------------------------------------------

    def transact(
        self, partner: Partner, pool_id: str, key: str, fp: str, body: Any, *,
        gated: bool = False,
    ) -> TransactAnswer:
        """Decide a transact under the lock; a created or returned trade is left in flight.
        ``gated``: :meth:`gate` already let this partner into this pool."""
        if not gated:
            self.gate(partner, pool_id)
        with self.lock:
            now = self.clock.now()
            found: Lookup = self.idempotency.lookup(partner.id, key, fp, now)
            if found.outcome == "replay":
                return TransactAnswer(replay=found.reply, fingerprint=fp)
            if found.outcome == "reused":
                raise ApiError(409, "idempotency_key_reused",
                               "this Idempotency-Key was used with another request body")
            if found.outcome == "in_progress":
                raise ApiError(409, "idempotency_request_in_progress",
                               "a request with this Idempotency-Key is still in progress")
            if not isinstance(body, dict):
                raise invalid("body", "must be a JSON object")
            _check_unknown(body, _TRANSACT_FIELDS, self.settings.unknown_fields)
            quote_id = _string(body, "quoteId", required=True) or ""
            quote = self.own_quote(partner, quote_id)
            if quote.pool_id != pool_id:
                raise ApiError(404, "quote_not_found", f"no quote {quote_id!r} in pool {pool_id}")
            if self.idempotency.quote_in_flight(quote_id):
                raise ApiError(409, "idempotency_request_in_progress",
                               "a transact for this quote is still in progress")
            status = quote.status_at(now)
            if status == "rejected":
                raise ApiError(409, "quote_rejected", "the quote was rejected")
            if status == "consumed":
                trade = self.trades[self.trade_by_quote[quote_id]]
                if (self.settings.consumed_quote_new_key == "strict"
                        and trade.idempotency_key != key):
                    raise ApiError(409, "quote_consumed", "the quote was already executed")
                self.idempotency.begin(partner.id, key, fp, quote_id)
                return TransactAnswer(trade=trade, created=False, fingerprint=fp)
            if status == "expired":
                raise ApiError(409, "quote_expired", "the quote expired; request a new one")
            if quote.side == "off_ramp" and not partner.off_ramp_enabled:
                raise ApiError(501, "off_ramp_not_enabled", "off_ramp is not enabled")
            self._check_velocity(partner, quote, now)
            debit = quote.side == "on_ramp"
            if debit and partner.balance_gate and self.balances[partner.id] < quote.fiat_amount:
                raise ApiError(402, "insufficient_balance",
                               "the prefunded balance is below the quote's fiat amount")
            plans = self.next_plans.get(partner.id)
            plan = plans.popleft() if plans else OutcomePlan()
            trade = Trade(
                id=ids.transact_id(), seq=self._next_seq(), partner_id=partner.id,
                quote_id=quote.id, pool_id=quote.pool_id, side=quote.side, status="reserved",
                fiat_currency=quote.fiat_currency, crypto_currency=quote.crypto_currency,
                fiat_amount=quote.fiat_amount, crypto_amount=quote.crypto_amount,
                rate=quote.rate, crypto_network=quote.crypto_network,
                dest_address=quote.dest_address, idempotency_key=key, created_at=now,
                updated_at=now, plan=plan,
            )
            self.trades[trade.id] = trade
            self.trade_by_quote[quote.id] = trade.id
            self.quotes[quote.id] = evolve(quote, transact_id=trade.id)
            if debit:
                self._post(partner, -quote.fiat_amount, "buy_debit", quote.id, trade.id, now)
            self.idempotency.begin(partner.id, key, fp, quote_id)
            return TransactAnswer(trade=trade, created=True, fingerprint=fp)

    def finish_transact(
        self, partner_id: str, key: str, quote_id: str, reply: StoredReply | None
    ) -> None:
        with self.lock:
            self.idempotency.finish(partner_id, key, quote_id, reply)

    def _notional(self, quote_or_trade: Quote | Trade) -> Decimal:
        return quote_or_trade.fiat_amount * self.pools[quote_or_trade.pool_id].mid_rate

    def _check_velocity(self, partner: Partner, quote: Quote, now: datetime) -> None:
        if partner.velocity_cap is None:
            return
        window = timedelta(seconds=self.settings.velocity_window_seconds)
        recent = sorted(
            (t for t in self.trades.values()
             if t.partner_id == partner.id and now - t.created_at < window),
            key=lambda t: t.seq,
        )
        used = sum((self._notional(t) for t in recent), Decimal(0))
        need = self._notional(quote)
        if used + need <= partner.velocity_cap:
            return
        wait = window.total_seconds()
        for trade in recent:
            used -= self._notional(trade)
            if used + need <= partner.velocity_cap:
                wait = (trade.created_at + window - now).total_seconds()
                break
        raise ApiError(429, "velocity_cap_exceeded",
                       "the partner's rolling 24 h notional velocity cap is reached",
                       headers={"Retry-After": str(max(1, math.ceil(wait)))})

    # -- settlement -------------------------------------------------------------------------

    def _move(self, trade: Trade, status: str, events: list[WebhookEvent],
              **changes: Any) -> Trade:
        """``changes``: other fields to set in the same copy."""
        now = self.clock.now()
        partner = self.partners[trade.partner_id]
        moved = evolve(trade, status=status, updated_at=now, **changes)
        if status == "returned":
            moved = evolve(moved, return_pending=False)
        self.trades[trade.id] = moved
        if status in ("failed", "released", "returned") and trade.side == "on_ramp":
            self._post(partner, trade.fiat_amount, "buy_refund", trade.quote_id, trade.id, now)
        event_type = TERMINAL_EVENT_TYPES.get(status)
        if event_type is not None:
            event_id = ids.event_id(trade.id, event_type)
            if event_id not in self.events:
                event = WebhookEvent(
                    id=event_id, type=event_type, partner_id=trade.partner_id, created_at=now,
                    transact_id=trade.id, quote_id=trade.quote_id, pool_id=trade.pool_id,
                    status=status, fiat_amount=trade.fiat_amount,
                    crypto_amount=trade.crypto_amount, ledger_ref=trade.quote_id,
                )
                self.events[event_id] = event
                events.append(event)
        return moved

    def _advance(self, trade: Trade, events: list[WebhookEvent]) -> Trade:
        if trade.status == "reserved":
            plan = trade.plan
            polls = trade.polls + 1
            if plan.status != "reserved" and polls >= plan.polls:
                target = "settled" if plan.status == "returned" else plan.status
                trade = self._move(trade, target, events, polls=polls)  # one copy, not two
                if plan.status == "returned":
                    trade = evolve(trade, return_pending=True)
                    self.trades[trade.id] = trade
            else:
                trade = evolve(trade, polls=polls)
                self.trades[trade.id] = trade
        elif trade.status == "settled" and trade.return_pending:
            trade = self._move(trade, "returned", events)
        return trade

    def poll(self, partner: Partner, quote_id: str, *, emit: bool = True) -> Trade:
        events: list[WebhookEvent] = []
        with self.lock:
            self.own_quote(partner, quote_id)
            transact_id = self.trade_by_quote.get(quote_id)
            if transact_id is None:
                raise ApiError(404, "trade_not_found", f"no trade for quote {quote_id!r}")
            trade = self._advance(self.trades[transact_id], events)
        if emit and events:
            self.on_events(events)
        return trade

    def own_trade(self, partner: Partner, transact_id: str) -> Trade:
        with self.lock:
            trade = self.trades.get(transact_id)
            if trade is None or trade.partner_id != partner.id:
                raise ApiError(404, "trade_not_found", f"no trade {transact_id!r}")
            return trade

    def script(
        self, transact_id: str, status: str, *, now: bool, emit: bool = True
    ) -> tuple[Trade, list[WebhookEvent]]:
        """Move a trade now, or make ``status`` the outcome of its next poll."""
        OutcomePlan(status=status)  # validates the name
        events: list[WebhookEvent] = []
        with self.lock:
            trade = self.trades.get(transact_id)
            if trade is None:
                raise UnknownObject(f"transact_id: unknown trade {transact_id!r}")
            if trade.status == "reserved" and status != "reserved":
                if now:
                    trade = self._move(trade, "settled" if status == "returned" else status,
                                       events)
                    if status == "returned":
                        trade = self._move(trade, "returned", events)
                else:
                    trade = evolve(
                        trade, plan=OutcomePlan(status=status, polls=trade.polls + 1))
                    self.trades[trade.id] = trade
            elif trade.status == "settled" and status == "returned":
                if now:
                    trade = self._move(trade, "returned", events)
                else:
                    trade = evolve(trade, return_pending=True)
                    self.trades[trade.id] = trade
            else:
                raise ControlError(f"status: a {trade.status} trade cannot become {status}")
        if emit and events:
            self.on_events(events)
        return trade, events
