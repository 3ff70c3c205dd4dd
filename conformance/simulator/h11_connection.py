"""One HTTP/1.1 connection parsed by h11 on asyncio streams (the original, pure-Python path)."""

from __future__ import annotations

import asyncio
from typing import Any

import h11

from conformance.simulator.wire import (
    MAX_HEADER_BYTES,
    READ_CHUNK,
    SERVER_HEADER,
    ASGIApp,
    SocketHandle,
    malformed_body,
    scope_for,
)


class H11Connection:
    """Serves requests one after another on a keep-alive connection until it closes."""

    def __init__(self, app: ASGIApp, *, server: tuple[str, int], max_body_bytes: int,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.app = app
        self.server = server
        self.max_body_bytes = max_body_bytes
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)

    async def serve(self) -> None:
        try:
            while await self._one_request():
                pass
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            if not self.writer.transport.is_closing():
                self.writer.close()

    async def _next(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.conn.receive_data(await self.reader.read(READ_CHUNK))

    async def _one_request(self) -> bool:
        conn, writer = self.conn, self.writer
        try:
            event = await self._next()
            if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return False
            if not isinstance(event, h11.Request):
                return False
            if conn.they_are_waiting_for_100_continue:
                writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            chunks: list[bytes] = []
            size = 0
            while True:
                part = await self._next()
                if isinstance(part, h11.Data):
                    size += len(part.data)
                    if size <= self.max_body_bytes:
                        chunks.append(bytes(part.data))
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return False
        except h11.RemoteProtocolError as exc:
            await self._reject(exc)
            return False
        handle = SocketHandle(writer.transport)  # type: ignore[arg-type]
        await self._run_app(event, b"".join(chunks), size, handle)
        if handle.aborted or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return False
        conn.start_next_cycle()
        return True

    async def _run_app(self, request: h11.Request, body: bytes, size: int,
                       handle: SocketHandle) -> None:
        conn, writer = self.conn, self.writer
        scope = scope_for(
            method=request.method.decode("latin-1"), target=request.target.decode("latin-1"),
            headers=[(k.lower(), v) for k, v in request.headers], http_version="1.1",
            server=self.server, client=writer.get_extra_info("peername"), handle=handle,
            too_large=size > self.max_body_bytes)
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
                headers.append(SERVER_HEADER)
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

    async def _reject(self, exc: h11.RemoteProtocolError) -> None:
        """A request h11 cannot parse: answer 400 in the envelope and close."""
        conn, writer = self.conn, self.writer
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        status = exc.error_status_hint or 400
        body, request_id = malformed_body(status, str(exc))
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
