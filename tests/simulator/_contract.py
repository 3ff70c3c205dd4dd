"""Check every simulator answer against the OpenAPI document and the shipped JSON Schemas.

Tests drive the real simulator over HTTP through ``ContractClient``; each answer is matched
to its documented operation and status, its body validated against the response schema,
its ``X-Request-Id`` checked, and the (operation, status) pair recorded for coverage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.schemas import validator as api_validator
from conformance.schemas._api import load_openapi

OPENAPI_URI = "urn:zeropools-conformance:openapi"
REQUEST_ID = re.compile(r"^req_[A-Za-z0-9_]+$")

#: 200 bodies of these operations must also pass the named ``api/*.json`` schema
SUCCESS_SCHEMA: dict[str, str] = {
    "listPools": "api/pool_list",
    "getCapabilities": "api/capabilities",
    "getBalance": "api/balance",
    "getFunding": "api/funding",
    "getQuote": "api/quote",
    "rejectQuote": "api/quote",
    "transact": "api/trade",
    "getTransactionByQuote": "api/trade",
    "getTrade": "api/trade",
    "listTrades": "api/trade_list",
    "listLedger": "api/ledger",
}
QUOTE_SCHEMAS = {"firm": "api/quote", "indicative": "api/quote_indicative"}


@dataclass(frozen=True, slots=True)
class Route:
    """One documented operation: its template compiled to a matcher."""

    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    literals: int


def _routes(document: dict[str, Any]) -> list[Route]:
    routes = []
    for template, item in document["paths"].items():
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        literals = sum(1 for part in template.split("/") if part and "{" not in part)
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                routes.append(Route(method.upper(), template, operation["operationId"],
                                    re.compile(regex), literals))
    # Literal segments (quotes, trades, funding, ledger) win over {id}.
    return sorted(routes, key=lambda route: -route.literals)


class Contract:
    """The OpenAPI document as a validator of (operation, status, body, headers)."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = load_openapi() if document is None else document
        resource = Resource(contents=self.document, specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(OPENAPI_URI, resource)
        self.routes = _routes(self.document)

    def route(self, method: str, path: str) -> Route:
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route
        raise AssertionError(f"{method} {path} is not a documented operation")

    def _deref(self, node: dict[str, Any]) -> tuple[dict[str, Any], str]:
        pointer = ""
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.document
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def response(self, route: Route, status: int) -> tuple[dict[str, Any], str]:
        """The documented response object for ``status`` and its JSON pointer."""
        responses = self.document["paths"][route.template][route.method.lower()]["responses"]
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                node, pointer = self._deref(responses[key])
                if not pointer:
                    escaped = route.template.replace("~", "~0").replace("/", "~1")
                    pointer = f"/paths/{escaped}/{route.method.lower()}/responses/{key}"
                return node, pointer
        raise AssertionError(f"{route.operation_id} does not document status {status}")

    def body_validator(self, pointer: str) -> Draft202012Validator:
        ref = f"{OPENAPI_URI}#{pointer}/content/application~1json/schema"
        return Draft202012Validator(
            {"$ref": ref}, registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def check(self, method: str, path: str, response: httpx.Response) -> str:
        """Assert ``response`` conforms; returns the operationId it answered."""
        route = self.route(method, path)
        documented, pointer = self.response(route, response.status_code)
        where = f"{route.operation_id} {response.status_code}"
        request_id = response.headers.get("x-request-id", "")
        assert REQUEST_ID.match(request_id), f"{where}: X-Request-Id {request_id!r}"
        for name, header in documented.get("headers", {}).items():
            header, _ = self._deref(header)
            if header.get("required"):
                assert name.lower() in response.headers, f"{where}: missing header {name}"
        assert response.headers.get("content-type", "").startswith("application/json"), where
        body = response.json()
        errors = sorted(self.body_validator(pointer).iter_errors(body), key=str)
        assert not errors, f"{where}: {[e.message for e in errors][:5]} in {body}"
        if response.status_code >= 400:
            assert body["request_id"] == request_id, f"{where}: request_id != X-Request-Id"
            assert body["statusCode"] == response.status_code, where
            api_validator("api/error").validate(body)
        elif route.operation_id == "createQuote":
            name = "api/quote_unavailable" if body["available"] is False else \
                QUOTE_SCHEMAS[body["type"]]
            api_validator(name).validate(body)
        elif route.operation_id in SUCCESS_SCHEMA:
            api_validator(SUCCESS_SCHEMA[route.operation_id]).validate(body)
        return route.operation_id


@dataclass
class ContractClient:
    """An httpx client on the simulator's ``/v1`` that checks every answer it gets."""

    api_url: str
    key: str | None
    contract: Contract
    seen: set[tuple[str, int]] = field(default_factory=set)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.api_url, timeout=10.0)

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = ...,  # type: ignore[assignment]
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        token = self.key if key is ... else key
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        response = self.http.request(method, path, json=json, params=params, headers=sent,
                                     content=content)
        operation = self.contract.check(method, path, response)
        self.seen.add((operation, response.status_code))
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook request as the receiver got it: raw body and headers."""

    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers 200 and keeps what it was sent."""

    def __init__(self) -> None:
        import http.server
        import threading

        received: list[Delivery] = []
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with lock:
                    received.append(Delivery({k.lower(): v for k, v in self.headers.items()},
                                             body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self._received = received
        self._lock = lock
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"

    @property
    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self._received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
