"""HTTP primitives shared by the partner API and the control plane: request, response, router."""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from conformance.simulator import ids
from conformance.simulator.errors import ApiError, envelope_bytes, invalid
from conformance.simulator.models import Partner

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON = "application/json"
NOT_PARSED: Any = object()  # a body not (yet) parsed, or not JSON; None is JSON's null


def encode_json(data: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON bytes, keys sorted if asked: orjson (UTF-8), or for what it refuses
    (integers over 64 bits, lone surrogates, keys that are not strings) the standard
    library, with ``\\u`` escapes. The same value always takes the same way."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:
        return json.dumps(data, separators=(",", ":"), sort_keys=sort_keys).encode()


@dataclass(slots=True, kw_only=True)
class Request:
    """What a handler sees: the decoded request and the partner already authenticated."""

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: bytes
    request_id: str
    params: dict[str, str] = field(default_factory=dict)
    partner: Partner | None = None
    notes: list[str] = field(default_factory=list)
    _parsed: Any = NOT_PARSED

    def json(self) -> Any:
        """The body as JSON; a clear 400 naming the problem otherwise (parsed once)."""
        if self._parsed is NOT_PARSED:
            if not self.body.strip():
                raise invalid("body", "a JSON object is required")
            self._parsed = parse_json(self.body)
        return self._parsed

    def parsed(self) -> Any:
        """The body's JSON value, or NOT_PARSED when it is empty or not strict JSON."""
        if self._parsed is NOT_PARSED and self.body:
            try:
                self.json()
            except ApiError:
                pass
        return self._parsed


@dataclass(slots=True, kw_only=True)
class Response:
    """An answer to send; ``finish`` runs once it is committed to the wire (or abandoned)."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    finish: Callable[[], None] | None = None
    replayed: bool = False


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse, parse_float=_finite)


def _without_float(value: Any) -> bool:
    """True when no number in the value is a float (orjson reads an integer beyond 64 bits as
    a float, where the standard library keeps it exact)."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return kind is not float
    kinds = set(map(type, value.values() if kind is dict else value))  # one level, in C
    if float in kinds:
        return False
    if dict not in kinds and list not in kinds:
        return True  # the common body: an object of strings
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            return False
    return True


def parse_json(body: bytes) -> Any:
    """Strict JSON (no NaN, no infinities); a 400 naming the problem otherwise.

    orjson reads it first (several times faster); what it refuses, and any value holding a
    float, is read again by the standard library, which decides and names the problem.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        if _without_float(value):
            return value
    try:
        return _DECODER.decode(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise invalid("body", "must be UTF-8 encoded JSON") from None
    except RecursionError:
        raise invalid("body", "JSON is nested too deeply") from None
    except ValueError as exc:
        raise invalid("body", f"malformed JSON ({exc})") from None


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = encode_json(data)
    return Response(status=status, body=body, headers=list(headers) if headers else [])


def error_response(exc: ApiError, request_id: str) -> Response:
    body = envelope_bytes(exc.status, exc.code, exc.message, request_id)
    return Response(status=exc.status, body=body, headers=list(exc.headers.items()))


_JSON_HEADER = (b"content-type", JSON.encode())


def head(response: Response, request_id: str) -> list[tuple[bytes, bytes]]:
    """The response's headers on the wire (lower-case names), the framing ones first."""
    headers = [_JSON_HEADER, (b"content-length", b"%d" % len(response.body)),
               (b"x-request-id", request_id.encode())]
    if response.headers:
        headers += [(k.lower().encode(), v.encode()) for k, v in response.headers]
    return headers


def head_framing() -> list[tuple[bytes, bytes]]:
    """The framing headers head() writes first, with ``%d`` for the length and ``%s`` for the
    request id (for servers that format them in one go)."""
    return [_JSON_HEADER, (b"content-length", b"%d"), (b"x-request-id", b"%s")]


def bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def read_request(scope: Scope, receive: Receive, limit: int) -> tuple[Request, bool]:
    """The ASGI request as a Request, and whether its body was over ``limit`` (then empty)."""
    too_large = bool(scope.get("extensions", {}).get("zeropools.body_too_large"))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            too_large = True
        elif chunk:
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
               for k, v in scope.get("headers", ())}
    body = b"" if too_large else b"".join(chunks)
    request = make_request(scope["method"], scope["path"],
                           scope.get("query_string", b"").decode("latin-1"), headers, body)
    return request, too_large


def make_request(method: str, path: str, raw_query: str, headers: dict[str, str],
                 body: bytes) -> Request:
    """A Request with a fresh request id; ``path`` already percent-decoded."""
    return Request(
        method=method.upper(), path=path,
        query=dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True)) if raw_query
        else {},
        raw_query=raw_query, headers=headers, body=body, request_id=ids.request_id(),
    )


_PARAM = re.compile(r"\(\?P<(\w+)>\[\^/\]\+\)")


class Router:
    """Method and path pattern to a handler name; 404 for no route, 405 for the wrong method.

    Patterns made of literal segments and ``(?P<name>[^/]+)`` segments are compiled into
    templates looked up by method and segment count, then tried in order (no regular
    expression runs); other patterns are tried in order after their literal prefix matches.
    """

    def __init__(self, routes: Iterable[tuple[str, str, str]]) -> None:
        self.routes: tuple[tuple[str, str, str], ...] = tuple(routes)
        self._routes: list[tuple[str, str, re.Pattern[str], str]] = []
        self._by_method: dict[str, list[tuple[str, re.Pattern[str], str]]] = {}
        self._exact: dict[tuple[str, str], str] = {}
        # (method, segment count) → [(segments → params or None, handler name)], in order
        self._shapes: dict[tuple[str, int],
                           list[tuple[Callable[[list[str]], dict[str, str] | None], str]]] = {}
        self._templated = True
        for method, pattern, name in self.routes:
            compiled = re.compile(pattern)
            literal = pattern.removeprefix("^").removesuffix("$")
            shadowed = any(r[0] == method and r[2].match(literal) for r in self._routes)
            if compiled.groups == 0 and re.escape(literal) == literal and not shadowed:
                self._exact.setdefault((method, literal), name)
            prefix = re.split(r"[(\[\\.*+?$]", pattern.removeprefix("^"), maxsplit=1)[0]
            self._routes.append((method, prefix, compiled, name))
            self._by_method.setdefault(method, []).append((prefix, compiled, name))
            template = self._template(pattern)
            if template is None:
                self._templated = False  # keep the order exact: fall back to the patterns
            else:
                literals, params = template
                self._shapes.setdefault((method, len(literals) + len(params)), []).append(
                    (self._matcher(literals, params), name))

    @staticmethod
    def _matcher(
        literals: tuple[tuple[int, str], ...], params: tuple[tuple[int, str], ...],
    ) -> Callable[[list[str]], dict[str, str] | None]:
        """One template as a function of the path's segments: its params, or None."""
        tests = [f"parts[{i}] == {text!r}" for i, text in reversed(literals)]
        tests += [f"parts[{i}] != ''" for i, _ in params]  # [^/]+: a param is never empty
        found = ", ".join(f"{key!r}: parts[{i}]" for i, key in params)
        code = (f"def match(parts):\n    if {' and '.join(tests) or 'True'}:\n"
                f"        return {{{found}}}\n    return None\n")
        scope: dict[str, Any] = {}
        exec(code, scope)  # noqa: S102 - built from the router's own literal patterns
        matcher: Callable[[list[str]], dict[str, str] | None] = scope["match"]
        return matcher

    @staticmethod
    def _template(
        pattern: str,
    ) -> tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]] | None:
        if not (pattern.startswith("^/") and pattern.endswith("$")):
            return None
        literals: list[tuple[int, str]] = []
        params: list[tuple[int, str]] = []
        body = _PARAM.sub(lambda found: "\0" + found.group(1), pattern[1:-1])
        for index, segment in enumerate(body.split("/")):
            if segment.startswith("\0"):
                params.append((index, segment[1:]))
            elif re.fullmatch(r"[\w-]*", segment):
                literals.append((index, segment))
            else:
                return None
        return tuple(literals), tuple(params)

    def match(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        """The handler name and path params for a request."""
        exact = self._exact.get((method, path))
        if exact is not None:
            return exact, {}
        if self._templated and "\n" not in path:  # ``$`` also matches before a final \n
            parts = path.split("/")
            for matcher, name in self._shapes.get((method, len(parts)), ()):
                params = matcher(parts)
                if params is not None:
                    return name, params
        else:
            for prefix, pattern, name in self._by_method.get(method, ()):
                if path.startswith(prefix):
                    found = pattern.match(path)
                    if found:
                        return name, found.groupdict()
        allowed: list[str] = []
        for route_method, prefix, pattern, _name in self._routes:
            if not path.startswith(prefix):
                continue
            if pattern.match(path):
                allowed.append(route_method)
        if allowed:
            raise ApiError(405, "method_not_allowed", f"{method} is not allowed on {path}",
                           headers={"Allow": ", ".join(sorted(set(allowed)))})
        raise ApiError(404, "not_found", f"no route {method} {path}")
