"""The ASGI app: the 12 documented operations under /v1, the journal, faults, /_sim/."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import traceback
from collections.abc import Awaitable, Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

from conformance.money import format_money
from conformance.simulator.clock import parse_iso
from conformance.simulator.control import Control
from conformance.simulator.control_http import ControlApi
from conformance.simulator.core import Core
from conformance.simulator.errors import ApiError, invalid
from conformance.simulator.faults import FaultSpec
from conformance.simulator.http import (
    NOT_PARSED,
    Receive,
    Request,
    Response,
    Router,
    Scope,
    Send,
    bearer,
    error_response,
    head,
    json_response,
    read_request,
)
from conformance.simulator.idempotency import StoredReply, fingerprint
from conformance.simulator.models import SIDES, TRADE_STATUSES, Partner
from conformance.simulator.wire import SocketHandle

MAX_KEY_LENGTH = 255
_EMPTY_DIGEST = sha256(b"").hexdigest()  # most requests (GETs) have no body


Handler = Callable[["PartnerApi", Request], Response]
ROUTER = Router((
    ("GET", r"^/v1/pools$", "list_pools"),
    ("GET", r"^/v1/pools/funding$", "funding"),
    ("GET", r"^/v1/pools/ledger$", "ledger"),
    ("GET", r"^/v1/pools/trades$", "list_trades"),
    ("GET", r"^/v1/pools/trades/(?P<transact_id>[^/]+)$", "get_trade"),
    ("GET", r"^/v1/pools/quotes/(?P<quote_id>[^/]+)$", "get_quote"),
    ("POST", r"^/v1/pools/quotes/(?P<quote_id>[^/]+)/reject$", "reject_quote"),
    ("GET", r"^/v1/pools/transactions/(?P<quote_id>[^/]+)$", "poll"),
    ("GET", r"^/v1/pools/(?P<pool_id>[^/]+)/capabilities$", "capabilities"),
    ("GET", r"^/v1/pools/(?P<pool_id>[^/]+)/balance$", "balance"),
    ("POST", r"^/v1/pools/(?P<pool_id>[^/]+)/quote$", "create_quote"),
    ("POST", r"^/v1/pools/(?P<pool_id>[^/]+)/transact$", "transact"),
))


def _quote_of(request: Request) -> str | None:
    """The quote a request concerns, for fault matching: its path, or a transact body."""
    if "quote_id" in request.params:
        return request.params["quote_id"]
    if request.method == "POST" and request.path.endswith("/transact"):
        body = request.parsed()
        quote = body.get("quoteId") if isinstance(body, dict) else None
        return quote if isinstance(quote, str) else None
    return None


def _limit(raw: str | None, *, default: int, low: int, high: int, clamp: bool) -> int:
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d+", raw):
        raise invalid("limit", "must be an integer")
    digits = raw.lstrip("-")
    # Any integer is accepted; one too long to parse is simply out of range on its side.
    value = int(raw) if len(digits) <= 18 else (-(10**18) if raw.startswith("-") else 10**18)
    if clamp:
        return min(max(value, low), high)
    if not low <= value <= high:
        raise invalid("limit", f"must be between {low} and {high}")
    return value


class PartnerApi:
    """The 12 operations; each takes an authenticated request and returns a Response."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store

    def _partner(self, request: Request) -> Partner:
        assert request.partner is not None
        return request.partner

    def list_pools(self, request: Request) -> Response:
        partner = self._partner(request)
        pools = [
            {"id": pool.id, "pair": pool.pair, "fiatCurrency": pool.fiat_currency,
             "cryptoCurrency": pool.crypto_currency,
             "available": pool.available and partner.status == "active"
             and partner.kyc_status == "approved" and pool.id in partner.allowed_pools}
            for pool in self.store.listed_pools(partner)
        ]
        return json_response(200, {"pools": pools})

    def capabilities(self, request: Request) -> Response:
        partner = self._partner(request)
        pool = self.store.gate(partner, request.params["pool_id"])
        sides = [side for side in pool.sides]
        return json_response(200, {
            "poolId": pool.id, "pair": pool.pair, "fiatCurrency": pool.fiat_currency,
            "cryptoCurrency": pool.crypto_currency,
            "supportedNetworks": list(pool.supported_networks), "sides": sides,
            "tier": partner.tier, "drawFeeBps": partner.fee_bps,
            "spreadCapBps": partner.spread_cap_bps, "minOrderUsdt": str(partner.min_order_usdt),
            "maxOrderUsdt": None if partner.max_order_usdt is None
            else str(partner.max_order_usdt),
        })

    def balance(self, request: Request) -> Response:
        partner = self._partner(request)
        pool = self.store.gate(partner, request.params["pool_id"])
        with self.store.lock:
            balance = self.store.balances[partner.id]
        return json_response(200, {
            "poolId": pool.id, "available": pool.available, "currency": "EUR",
            "balance": format_money(balance, 2) if partner.balance_gate else None,
            "tier": partner.tier, "allowedPools": list(partner.allowed_pools),
        })

    def funding(self, request: Request) -> Response:
        partner = self._partner(request)
        currency = request.query.get("currency", "EUR")
        if currency != "EUR":
            raise invalid("currency", "only EUR funding is supported")
        return json_response(200, {
            "currency": "EUR", "iban": partner.funding_iban,
            "reference": f"ZP-{partner.id.upper()}",
            "instructions": "Send a SEPA transfer quoting the reference; the simulator credits"
            " the balance through its control plane.",
        })

    def create_quote(self, request: Request) -> Response:
        partner = self._partner(request)
        pool_id = request.params["pool_id"]
        pool = self.store.gate(partner, pool_id)  # before the body is read: a bad pool is a 404
        answer = self.store.create_quote(partner, pool_id, request.json(), pool=pool)
        request.notes.extend(answer.notes)
        if answer.quote is not None:
            request.notes.append(f"created quote {answer.quote.id}")
        return json_response(200, answer.body)

    def get_quote(self, request: Request) -> Response:
        return json_response(200, self.store.read_quote(self._partner(request),
                                                        request.params["quote_id"]))

    def reject_quote(self, request: Request) -> Response:
        return json_response(200, self.store.reject_quote(self._partner(request),
                                                          request.params["quote_id"]))

    def transact(self, request: Request) -> Response:
        partner = self._partner(request)
        pool_id = request.params["pool_id"]
        self.store.gate(partner, pool_id)
        key = request.headers.get("idempotency-key")
        if key is None or not key.strip():
            raise ApiError(400, "idempotency_key_required",
                           "Idempotency-Key: header is required on transact")
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise invalid("Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} printable characters")
        body: Any
        try:
            body = request.json()
        except ApiError as exc:
            body = exc
        fp = (fingerprint(request.method, request.path, request.body)
              if isinstance(body, ApiError)
              else fingerprint(request.method, request.path, request.body, parsed=body))
        answer = self.store.transact(partner, pool_id, key, fp, body, gated=True)
        if answer.replay is not None:
            reply = answer.replay
            return Response(status=reply.status, body=reply.body,
                            headers=[*reply.headers, ("Idempotent-Replayed", "true")],
                            replayed=True)
        assert answer.trade is not None
        response = json_response(200, answer.trade.to_json())
        if not answer.created:
            request.notes.append("consumed quote: returned its trade")
        stored = StoredReply(fingerprint=fp, status=200, headers=(), body=response.body,
                             stored_at=self.core.clock.now())
        quote_id = answer.trade.quote_id
        response.finish = lambda: self.store.finish_transact(partner.id, key, quote_id, stored)
        return response

    def poll(self, request: Request) -> Response:
        trade = self.store.poll(self._partner(request), request.params["quote_id"])
        return json_response(200, trade.to_json())

    def get_trade(self, request: Request) -> Response:
        trade = self.store.own_trade(self._partner(request), request.params["transact_id"])
        return json_response(200, trade.to_json())

    def list_trades(self, request: Request) -> Response:
        partner = self._partner(request)
        query = request.query
        limit = _limit(query.get("limit"), default=50, low=1, high=100, clamp=False)
        side, status = query.get("side"), query.get("status")
        if side is not None and side not in SIDES:
            raise invalid("side", f"must be one of {', '.join(SIDES)}")
        if status is not None and status not in TRADE_STATUSES:
            raise invalid("status", f"must be one of {', '.join(TRADE_STATUSES)}")
        bounds = {}
        for name in ("created_after", "created_before"):
            if query.get(name):
                try:
                    bounds[name] = parse_iso(query[name])
                except ValueError:
                    raise invalid(name, "must be an ISO 8601 timestamp") from None
        with self.store.lock:
            trades = sorted((t for t in self.store.trades.values() if t.partner_id == partner.id),
                            key=lambda t: t.seq, reverse=True)
        cursor = query.get("cursor")
        if cursor:
            seqs = [t.seq for t in trades if t.id == cursor]
            if not seqs:
                raise invalid("cursor", "unknown cursor")
            trades = [t for t in trades if t.seq < seqs[0]]
        chosen = [
            t for t in trades
            if (side is None or t.side == side) and (status is None or t.status == status)
            and ("created_after" not in bounds or t.created_at > bounds["created_after"])
            and ("created_before" not in bounds or t.created_at < bounds["created_before"])
        ]
        page = chosen[:limit]
        has_more = len(chosen) > limit
        return json_response(200, {
            "trades": [t.to_json() for t in page], "hasMore": has_more,
            "nextCursor": page[-1].id if has_more else None,
        })

    def ledger(self, request: Request) -> Response:
        partner = self._partner(request)
        query = request.query
        currency = query.get("currency", "EUR")
        if currency != "EUR":
            raise invalid("currency", "only EUR ledgers exist")
        limit = _limit(query.get("limit"), default=50, low=1, high=200, clamp=True)
        with self.store.lock:
            entries = list(reversed(self.store.ledger[partner.id]))
            available = self.store.balances[partner.id]
        cursor = query.get("cursor")
        if cursor:
            index = next((i for i, e in enumerate(entries) if e.id == cursor), None)
            if index is None:
                raise invalid("cursor", "unknown cursor")
            entries = entries[index + 1:]
        page = entries[:limit]
        has_more = len(entries) > limit
        return json_response(200, {
            "currency": "EUR", "available": format_money(available, 2),
            "entries": [e.to_json() for e in page], "hasMore": has_more,
            "nextCursor": page[-1].id if has_more else None,
        })


_HANDLERS: dict[str, Handler] = {name: getattr(PartnerApi, name) for _, _, name in ROUTER.routes}


class App:
    """The ASGI application: partner API, OpenAPI document, and the control plane."""

    def __init__(self, core: Core, control: Control) -> None:
        self.core = core
        self.api = PartnerApi(core)
        self.bugs: list[str] = []  # tracebacks of real bugs (a 5xx api_error was sent)
        self.control = ControlApi(core, control)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request, too_large = await read_request(scope, receive,
                                                 self.core.settings.max_body_bytes)
        socket = scope.get("extensions", {}).get("zeropools.socket")
        response = await self.respond(request, too_large, socket)
        if response is not None:
            await self._send(send, response, request)

    async def respond(
        self, request: Request, too_large: bool, socket: SocketHandle | None
    ) -> Response | None:
        """The answer to one request, or None when a fault reset the connection instead."""
        if request.path == "/_sim" or request.path.startswith("/_sim/"):
            return await self._guard(self.control.handle(request, too_large), request)
        return await self._partner_request(socket, request, too_large)

    def respond_now(self, request: Request, too_large: bool) -> Response | None:
        """The answer to a partner request when nothing needs to wait (no fault is armed),
        computed at once; None when the request must go through ``respond`` instead."""
        if self.core.faults.armed_any or request.path.startswith("/_sim"):
            return None
        kind = self._authenticate(request)
        response, _ = self._decide(request, kind, too_large, faults=False)
        if response.finish is not None:
            response.finish()
        self._journal(request, kind, response, None, False)
        return response

    async def _guard(self, work: Awaitable[Response], request: Request) -> Response:
        try:
            return await work
        except ApiError as exc:
            return error_response(exc, request.request_id)
        except Exception:  # a real bug: answer the 5xx envelope, keep the traceback for tests
            return self._bug(request)

    def _bug(self, request: Request) -> Response:
        self.bugs.append(traceback.format_exc())
        print(self.bugs[-1], file=sys.stderr)
        return error_response(ApiError(500, "api_error", "internal simulator error"),
                              request.request_id)

    def _authenticate(self, request: Request) -> str:
        """Resolve the bearer key onto the request; the key kind."""
        token = bearer(request.headers)
        partner, kind = self.core.store.authenticate(token)
        if kind == "unknown" and token == self.core.control_token:
            kind = "control"
        request.partner = partner
        return kind

    def _decide(
        self, request: Request, kind: str, too_large: bool, *, faults: bool
    ) -> tuple[Response, FaultSpec | None]:
        """Route and run a partner request (no handler awaits); the fault it took, if any."""
        fault: FaultSpec | None = None
        try:
            if too_large:
                raise ApiError(413, "payload_too_large",
                               f"body: larger than {self.core.settings.max_body_bytes} bytes")
            if request.method == "GET" and request.path in ("/openapi.json", "/v1/openapi.json"):
                return self._openapi(), None
            if kind == "live":
                raise ApiError(403, "key_mode_mismatch", "live keys cannot call the sandbox")
            partner = request.partner
            if partner is None:
                raise ApiError(401, "unauthorized", "a valid Bearer API key is required")
            name, params = ROUTER.match(request.method, request.path)
            if kind == "publishable" and name != "list_pools":
                raise ApiError(403, "publishable_key_not_allowed",
                               "publishable keys may only call GET /pools")
            request.params = params
            if faults and self.core.faults.armed_any:
                fault = self.core.faults.take(
                    request.method, request.path, partner.id, _quote_of(request)
                )
            if fault is not None and fault.action == "error":
                headers = {} if fault.retry_after is None else {
                    "Retry-After": str(fault.retry_after)}
                raise ApiError(fault.status, fault.code, fault.message, headers=headers)
            handler: Handler = _HANDLERS[name]
            return handler(self.api, request), fault
        except ApiError as exc:
            return error_response(exc, request.request_id), fault
        except Exception:  # a real bug: answer the 5xx envelope, keep the traceback for tests
            return self._bug(request), fault

    async def _partner_request(
        self, socket: SocketHandle | None, request: Request, too_large: bool
    ) -> Response | None:
        kind = self._authenticate(request)
        response, fault = self._decide(request, kind, too_large, faults=True)
        reset = False
        try:
            if fault is not None and response.status < 400:
                reset = await self._apply_fault(fault, response, request)
        finally:
            if response.finish is not None:
                response.finish()
        self._journal(request, kind, response, fault, reset)
        if reset and socket is not None:
            socket.abort()
            return None
        return response

    async def _apply_fault(self, fault: FaultSpec, response: Response, request: Request) -> bool:
        """Run a fault on a committed answer; True when the connection must be reset."""
        if fault.action == "delay":
            await asyncio.sleep(fault.delay_seconds)
        elif fault.action == "webhook_before_response" and request.params.get("pool_id"):
            trade = json.loads(response.body)
            if "transactId" in trade:
                _, events = self.core.store.script(trade["transactId"], "settled", now=True,
                                                   emit=False)
                for event in events:
                    await self.core.dispatcher.deliver_first_then_retry(event)
        return fault.action == "reset_after_commit"

    def _openapi(self) -> Response:
        path = Path(self.core.settings.openapi_path or Path(__file__).with_name("openapi.yaml"))
        if not path.is_file():
            raise ApiError(404, "not_found", "no OpenAPI document is bundled")
        import yaml

        return json_response(200, yaml.safe_load(path.read_text(encoding="utf-8")))

    def _journal(
        self, request: Request, kind: str, response: Response, fault: FaultSpec | None,
        reset: bool,
    ) -> None:
        redactor = self.core.redactor
        parsed = request.parsed()
        raw = False
        key = request.headers.get("idempotency-key")
        if parsed is NOT_PARSED:
            parsed = None
        elif (b"\\" not in request.body
              and not redactor.contains_secret(request.body.decode("utf-8"))
              and (key is None or not redactor.contains_secret(key))):
            # No escapes: every string of the body is a slice of its text, and there is no
            # secret in the text (nor in the key): the redacted body equals the parsed one,
            # and decoding the bytes gives it back when the entry is read, so keep the bytes.
            parsed, raw = request.body, True
        else:
            parsed = redactor.data(parsed)
        headers = request.headers
        query = request.raw_query
        partner = request.partner
        self.core.journal.record_row((
            self.core.clock.now_seconds(), request.method, request.path,
            redactor.text(query) if query else query,
            partner.id if partner else None, kind,
            key if key is None or raw else redactor.text(key), parsed,
            None if raw else sha256(request.body).hexdigest() if request.body else _EMPTY_DIGEST,
            response.status, request.request_id,
            headers.get("origin"), headers.get("user-agent"),
            None if fault is None else fault.name, reset, response.replayed,
            tuple(request.notes), raw,
        ))

    async def _send(self, send: Send, response: Response, request: Request) -> None:
        headers = head(response, request.request_id)
        await send({"type": "http.response.start", "status": response.status,
                    "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
