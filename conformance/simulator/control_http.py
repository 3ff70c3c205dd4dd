"""The control plane over HTTP under /_sim/, behind ``Authorization: Bearer <control token>``."""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from conformance.errors import ControlError, UnknownObject
from conformance.simulator.control import Control
from conformance.simulator.core import Core
from conformance.simulator.errors import ApiError, invalid
from conformance.simulator.faults import FaultMatch, FaultSpec
from conformance.simulator.http import Request, Response, Router, bearer, json_response
from conformance.simulator.models import OutcomePlan
from conformance.simulator.settings import PartnerSpec

ControlHandler = Callable[["ControlApi", Request, dict[str, str]], Awaitable[Response]]
ROUTER = Router((
    ("GET", r"^/_sim/clock$", "get_clock"),
    ("POST", r"^/_sim/clock/advance$", "advance_clock"),
    ("POST", r"^/_sim/partners$", "provision"),
    ("PATCH", r"^/_sim/partners/(?P<pid>[^/]+)$", "update_partner"),
    ("POST", r"^/_sim/partners/(?P<pid>[^/]+)/next-trades$", "next_trades"),
    ("POST", r"^/_sim/partners/(?P<pid>[^/]+)/unavailable$", "unavailable"),
    ("POST", r"^/_sim/partners/(?P<pid>[^/]+)/quote-ttl$", "quote_ttl"),
    ("POST", r"^/_sim/partners/(?P<pid>[^/]+)/credit$", "credit"),
    ("POST", r"^/_sim/partners/(?P<pid>[^/]+)/webhooks/hold$", "hold"),
    ("POST", r"^/_sim/partners/(?P<pid>[^/]+)/webhooks/release$", "release"),
    ("GET", r"^/_sim/trades$", "trades"),
    ("GET", r"^/_sim/trades/(?P<tid>[^/]+)$", "trade"),
    ("POST", r"^/_sim/trades/(?P<tid>[^/]+)/outcome$", "outcome"),
    ("GET", r"^/_sim/ledger$", "ledger"),
    ("POST", r"^/_sim/faults$", "inject_fault"),
    ("DELETE", r"^/_sim/faults$", "clear_faults"),
    ("GET", r"^/_sim/events$", "events"),
    ("GET", r"^/_sim/deliveries$", "deliveries"),
    ("POST", r"^/_sim/webhooks/(?P<eid>[^/]+)/redeliver$", "redeliver"),
    ("POST", r"^/_sim/webhooks/(?P<eid>[^/]+)/forge$", "forge"),
    ("GET", r"^/_sim/journal$", "journal"),
))
SPEC_FIELDS = {f.name for f in dataclasses.fields(PartnerSpec)}
DECIMAL_FIELDS = ("min_order_usdt", "max_order_usdt", "velocity_cap", "initial_balance")


def _object(request: Request) -> dict[str, Any]:
    body = request.json() if request.body.strip() else {}
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    return body


def _decimals(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for name in DECIMAL_FIELDS:
        if out.get(name) is not None:
            if isinstance(out[name], float | bool):
                raise invalid(name, "must be a decimal string")
            try:
                out[name] = Decimal(str(out[name]))
            except InvalidOperation:
                raise invalid(name, "must be a decimal string") from None
    for name in ("pools", "allowed_pools"):
        if out.get(name) is not None:
            if not isinstance(out[name], list):
                raise invalid(name, "must be a list of pool ids")
            out[name] = tuple(out[name])
    return out


def _partner_query(request: Request) -> str | None:
    return request.query.get("partner_id") or None


class ControlApi:
    """Routes /_sim/ requests to the in-process Control; 401 for anything but the token."""

    def __init__(self, core: Core, control: Control) -> None:
        self.core = core
        self.control = control

    async def handle(self, request: Request, too_large: bool) -> Response:
        token = bearer(request.headers) or ""
        if not hmac.compare_digest(token.encode(), self.core.control_token.encode()):
            raise ApiError(401, "unauthorized", "the control plane needs the control token")
        if too_large:
            raise ApiError(413, "payload_too_large", "body: too large")
        name, params = ROUTER.match(request.method, request.path)
        handler: ControlHandler = getattr(ControlApi, name)
        try:
            return await handler(self, request, params)
        except UnknownObject as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        except ControlError as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        except (ValueError, TypeError) as exc:
            raise ApiError(400, "invalid_request", str(exc)) from None

    async def get_clock(self, request: Request, p: dict[str, str]) -> Response:
        return json_response(200, self.control.clock().to_json())

    async def advance_clock(self, request: Request, p: dict[str, str]) -> Response:
        seconds = _object(request).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise invalid("seconds", "must be a number")
        if seconds < 0:
            raise invalid("seconds", "the simulator clock only moves forward")
        self.control.advance_clock(seconds)
        return json_response(200, self.control.clock().to_json())

    async def provision(self, request: Request, p: dict[str, str]) -> Response:
        body = _object(request)
        for name in body:
            if name not in SPEC_FIELDS:
                raise invalid(name, "unknown field")
        creds = self.control.provision_partner(PartnerSpec(**_decimals(body)))
        return json_response(200, {"partnerId": creds.partner_id, "secretKey": creds.secret_key,
                                   "publishableKey": creds.publishable_key,
                                   "webhookSecret": creds.webhook_secret})

    async def update_partner(self, request: Request, p: dict[str, str]) -> Response:
        partner = self.control.update_partner(p["pid"], **_decimals(_object(request)))
        return json_response(200, {"partnerId": partner.id, "updated": True})

    async def next_trades(self, request: Request, p: dict[str, str]) -> Response:
        plans = _object(request).get("plans")
        if not isinstance(plans, list):
            raise invalid("plans", "must be a list of {status, polls}")
        self.control.script_next_trades(p["pid"], [OutcomePlan(**plan) for plan in plans])
        return json_response(200, {"queued": len(plans)})

    async def unavailable(self, request: Request, p: dict[str, str]) -> Response:
        reason = _object(request).get("reason", "pool_dry")
        self.control.make_next_quote_unavailable(p["pid"], str(reason))
        return json_response(200, {"reason": reason})

    async def quote_ttl(self, request: Request, p: dict[str, str]) -> Response:
        seconds = _object(request).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise invalid("seconds", "must be a number")
        self.control.set_next_quote_ttl(p["pid"], float(seconds))
        return json_response(200, {"seconds": seconds})

    async def credit(self, request: Request, p: dict[str, str]) -> Response:
        amount = _object(request).get("amount")
        if not isinstance(amount, str):
            raise invalid("amount", "must be a decimal string")
        try:
            entry = self.control.credit_balance(p["pid"], Decimal(amount))
        except InvalidOperation:
            raise invalid("amount", "must be a decimal string") from None
        return json_response(200, entry.to_json())

    async def hold(self, request: Request, p: dict[str, str]) -> Response:
        hold = _object(request).get("hold", True)
        self.control.hold_webhooks(p["pid"], bool(hold))
        return json_response(200, {"hold": bool(hold)})

    async def release(self, request: Request, p: dict[str, str]) -> Response:
        order = _object(request).get("order") or []
        released = await self.control.arelease_held(p["pid"], [str(x) for x in order])
        return json_response(200, {"released": released})

    async def trades(self, request: Request, p: dict[str, str]) -> Response:
        trades = self.control.trades(_partner_query(request))
        return json_response(200, {"trades": [
            {**t.to_json(), "partnerId": t.partner_id, "idempotencyKey": t.idempotency_key}
            for t in trades]})

    async def trade(self, request: Request, p: dict[str, str]) -> Response:
        return json_response(200, self.control.trade(p["tid"]).to_json())

    async def outcome(self, request: Request, p: dict[str, str]) -> Response:
        body = _object(request)
        status = body.get("status")
        if not isinstance(status, str):
            raise invalid("status", "is required")
        OutcomePlan(status=status)  # a name that is no outcome is a bad request (400)
        trade = self.control.script_outcome(p["tid"], status, now=bool(body.get("now", False)))
        return json_response(200, trade.to_json())

    async def ledger(self, request: Request, p: dict[str, str]) -> Response:
        pid = _partner_query(request)
        if pid is None:
            raise invalid("partner_id", "is required")
        return json_response(200, {"entries": [e.to_json() for e in self.control.ledger(pid)]})

    async def inject_fault(self, request: Request, p: dict[str, str]) -> Response:
        body = _object(request)
        match = body.pop("match", {}) or {}
        if not isinstance(match, dict):
            raise invalid("match", "must be an object")
        spec = FaultSpec(match=FaultMatch(**match), **body)
        return json_response(200, {"faultId": self.control.inject_fault(spec)})

    async def clear_faults(self, request: Request, p: dict[str, str]) -> Response:
        self.control.clear_faults()
        return json_response(200, {"cleared": True})

    async def events(self, request: Request, p: dict[str, str]) -> Response:
        events = self.control.events(_partner_query(request))
        return json_response(200, {"events": [e.to_json() for e in events]})

    async def deliveries(self, request: Request, p: dict[str, str]) -> Response:
        attempts = self.control.deliveries(_partner_query(request))
        return json_response(200, {"deliveries": [a.to_json() for a in attempts]})

    async def redeliver(self, request: Request, p: dict[str, str]) -> Response:
        return json_response(200, (await self.control.aredeliver(p["eid"])).to_json())

    async def forge(self, request: Request, p: dict[str, str]) -> Response:
        kind = _object(request).get("kind")
        if not isinstance(kind, str):
            raise invalid("kind", "is required")
        return json_response(200, (await self.control.aforge(p["eid"], kind)).to_json())

    async def journal(self, request: Request, p: dict[str, str]) -> Response:
        cursor = request.query.get("cursor") or "0"
        if not cursor.isdigit():
            raise invalid("cursor", "must be the nextCursor of a previous page")
        raw_limit = request.query.get("limit") or "500"
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 5000:
            raise invalid("limit", "must be between 1 and 5000")
        limit = int(raw_limit)
        since = int(cursor)
        entries = self.core.journal.entries(partner_id=_partner_query(request), since_seq=since,
                                            limit=limit + 1)
        page = entries[:limit]
        more = len(entries) > limit
        return json_response(200, {"entries": [e.to_json() for e in page],
                                   "nextCursor": str(page[-1].seq) if more and page else None})
