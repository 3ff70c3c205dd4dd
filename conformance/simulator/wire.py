"""What both HTTP/1.1 connection handlers share: the ASGI scope, the socket handle, a 400."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import unquote

from conformance.simulator import ids
from conformance.simulator.errors import envelope
from conformance.simulator.http import Request, Response

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]],
     Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


class WebApp(Protocol):
    """The app as both servers call it: ASGI (h11 path) or directly (httptools path)."""

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None: ...

    async def respond(
        self, request: Request, too_large: bool, socket: SocketHandle | None
    ) -> Response | None: ...


READ_CHUNK = 65536
MAX_HEADER_BYTES = 64 * 1024
SERVER_HEADER = (b"server", b"zeropools-simulator")
_LINGER_RESET = struct.pack("ii", 1, 0)


class SocketHandle:
    """Given to the app in the ASGI scope: ``abort()`` resets the TCP connection (RST)."""

    __slots__ = ("_transport", "aborted")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            try:  # linger 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            except OSError:
                pass
        self._transport.abort()


def split_target(target: str) -> tuple[str, str]:
    """The percent-decoded path and the raw query of a request target."""
    raw_path, _, query = target.partition("?")
    return (unquote(raw_path) if "%" in raw_path else raw_path), query


def scope_for(
    *, method: str, target: str, headers: list[tuple[bytes, bytes]], http_version: str,
    server: tuple[str, int], client: Any, handle: SocketHandle, too_large: bool,
) -> dict[str, Any]:
    """The ASGI HTTP scope of one request; header names are lower case."""
    raw_path, _, query = target.partition("?")
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": http_version,
        "method": method, "scheme": "http",
        "path": unquote(raw_path) if "%" in raw_path else raw_path,
        "raw_path": raw_path.encode("latin-1"),
        "query_string": query.encode("latin-1"), "root_path": "",
        "headers": headers, "server": server, "client": client,
        "extensions": {"zeropools.socket": handle, "zeropools.body_too_large": too_large},
    }


def malformed_body(status: int, problem: str) -> tuple[bytes, str]:
    """The error envelope for a request that could not be parsed, and its request id."""
    request_id = ids.request_id()
    body = json.dumps(envelope(status, "invalid_request",
                               f"malformed HTTP request: {problem}", request_id)).encode()
    return body, request_id
