"""An HTTP/1.1 server on asyncio + h11 that can reset a socket, as a real network would."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import h11

from conformance.simulator import ids
from conformance.simulator.errors import envelope

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]],
     Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]
READ_CHUNK = 65536
MAX_HEADER_BYTES = 64 * 1024


class SocketHandle:
    """Given to the app in the ASGI scope: ``abort()`` resets the TCP connection (RST)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self._writer.transport.abort()


class Server:
    """Serves one ASGI app on 127.0.0.1 with keep-alive and a body size limit."""

    def __init__(self, app: ASGIApp, *, host: str, port: int, max_body_bytes: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, self.host, self.port, backlog=1024, limit=READ_CHUNK
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        try:
            while True:
                keep = await self._one_request(conn, reader, writer)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self._connections.discard(writer)
            if not writer.transport.is_closing():
                writer.close()

    async def _next(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(await reader.read(READ_CHUNK))

    async def _one_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        try:
            event = await self._next(conn, reader)
            if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return False
            if not isinstance(event, h11.Request):
                return False
            if conn.they_are_waiting_for_100_continue:
                writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            chunks: list[bytes] = []
            size = 0
            while True:
                part = await self._next(conn, reader)
                if isinstance(part, h11.Data):
                    size += len(part.data)
                    if size <= self.max_body_bytes:
                        chunks.append(bytes(part.data))
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return False
        except h11.RemoteProtocolError as exc:
            await self._reject(conn, writer, exc)
            return False
        handle = SocketHandle(writer)
        await self._run_app(conn, writer, event, b"".join(chunks), size, handle)
        if handle.aborted or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return False
        conn.start_next_cycle()
        return True

    async def _run_app(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request,
        body: bytes, size: int, handle: SocketHandle,
    ) -> None:
        target = request.target.decode("latin-1")
        raw_path, _, query = target.partition("?")
        from urllib.parse import unquote

        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": request.method.decode("latin-1"), "scheme": "http",
            "path": unquote(raw_path), "raw_path": raw_path.encode("latin-1"),
            "query_string": query.encode("latin-1"), "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers],
            "server": (self.host, self.port), "client": writer.get_extra_info("peername"),
            "extensions": {"zeropools.socket": handle,
                           "zeropools.body_too_large": size > self.max_body_bytes},
        }
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                await asyncio.Event().wait()  # a real disconnect is never signalled early
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        pending: list[bytes] = []  # the head waits for the body: one write per response

        async def send(message: dict[str, Any]) -> None:
            if handle.aborted or writer.transport.is_closing():
                return
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])]
                headers.append((b"server", b"zeropools-simulator"))
                pending.append(conn.send(h11.Response(status_code=message["status"],
                                                      headers=headers)))
            elif message["type"] == "http.response.body":
                data = message.get("body", b"")
                if data:
                    pending.append(conn.send(h11.Data(data=data)))
                if not message.get("more_body"):
                    pending.append(conn.send(h11.EndOfMessage()))
                writer.write(b"".join(pending))
                pending.clear()
                await writer.drain()

        await self.app(scope, receive, send)

    async def _reject(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, exc: h11.RemoteProtocolError
    ) -> None:
        """A request h11 cannot parse: answer 400 in the envelope and close."""
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        status = exc.error_status_hint or 400
        request_id = ids.request_id()
        body = json.dumps(envelope(status, "invalid_request",
                                   f"malformed HTTP request: {exc}", request_id)).encode()
        try:
            writer.write(conn.send(h11.Response(status_code=status, headers=[
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()), (b"connection", b"close")])))
            writer.write(conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
        except (h11.LocalProtocolError, ConnectionError, OSError):
            pass
