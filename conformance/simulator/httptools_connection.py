"""One HTTP/1.1 connection parsed by httptools (llhttp, in C) as an asyncio protocol.

Requests are answered one at a time and in order, pipelined ones included; a request that
cannot be parsed is answered 400 (431 for oversized headers) after the ones before it, then
the connection closes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import httptools

from conformance.simulator.http import Request, Response, head, head_framing, make_request
from conformance.simulator.wire import (
    MAX_HEADER_BYTES,
    SERVER_HEADER,
    SocketHandle,
    WebApp,
    malformed_body,
    split_target,
)

MAX_QUEUED = 32  # pipelined requests held before reading pauses
# A head of at most this many bytes on the wire is within MAX_HEADER_BYTES as counted (each
# header line takes at least 4 bytes and is counted at most one more), so it is not measured.
_UNMEASURED = MAX_HEADER_BYTES * 4 // 5
_REASONS = {int(s): s.phrase.encode() for s in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_SERVER_LINE = b"%s: %s\r\n" % SERVER_HEADER


def _status_line(status: int) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))


_STATUS_LINES = {status: _status_line(status) for status in _REASONS}
# What head() and _write() put on the wire for an answer without headers of its own.
_PLAIN = (b"%s" + b"".join(b"%s: %s\r\n" % h for h in head_framing())
          + _SERVER_LINE.replace(b"%", b"%%") + b"\r\n%s")


@dataclass(slots=True)
class _Parsed:
    """A complete request, or a parse failure (``error`` set) to answer in turn."""

    method: str = ""
    target: str = ""
    headers: dict[str, str] | None = None
    body: bytes = b""
    size: int = 0
    keep_alive: bool = True
    http_version: str = "1.1"
    error: tuple[int, str] | None = None


class _HeaderNames(dict[bytes, str]):
    """Header names as they arrive → their lower-case str, remembered (a bounded cache:
    decoding and lower-casing every name of every request was a measurable share of a
    request's cost); one subscript per header."""

    def __missing__(self, raw: bytes) -> str:
        name = raw.decode("latin-1").lower()
        if len(self) < _HEADER_NAMES_MAX:
            self[raw] = name
        return name


_HEADER_NAMES_MAX = 512
_HEADER_NAMES = _HeaderNames()


class _HeadersTooLarge(Exception):
    """More than MAX_HEADER_BYTES of request line and headers (h11 answers 431 too)."""


class _MissingHost(Exception):
    """HTTP/1.1 requires a Host header (RFC 9112 §3.2), as h11 enforces."""


class HttpToolsConnection(asyncio.Protocol):
    """The protocol of one connection; a worker task runs the app for queued requests."""

    def __init__(self, app: WebApp, *, server: tuple[str, int], max_body_bytes: int,
                 connections: set[HttpToolsConnection]) -> None:
        self.app = app
        self.server = server
        self.max_body_bytes = max_body_bytes
        self.connections = connections
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.queue: deque[_Parsed] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.closed = False
        self.failed = False  # the parser is in an error state: ignore further bytes
        self.eof = False
        self.reading_paused = False
        self.writing_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        # the app's synchronous path, when it has one (see App.respond_now)
        self._respond_now: Callable[[Request, bool], Response | None] | None = getattr(
            app, "respond_now", None)
        self._chunks: list[bytes] = []
        self._size = 0
        # Bytes fed since the last head was complete, and the size of the chunk being fed: a
        # head is no larger than what was fed while it arrived, so it is only measured when
        # that is over _UNMEASURED (no counting per header on the common path).
        self._fed_bytes = 0
        self._chunk_bytes = 0
        self._in_head = False  # a request line has begun and its head is not complete

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.connections.discard(self)
        self._wake_drain()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_drain()

    def data_received(self, data: bytes) -> None:
        if self.failed:
            return
        self._chunk_bytes = size = len(data)
        self._fed_bytes += size
        try:
            self.parser.feed_data(data)
            if self._in_head and self._fed_bytes > _UNMEASURED:
                self._check_head_size()  # a head still arriving: bound what it holds
        except _HeadersTooLarge:
            self._fail(431, "request headers are too large")
        except httptools.HttpParserUpgrade:
            self._fail(400, "protocol upgrades are not supported")
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadersTooLarge):
                self._fail(431, "request headers are too large")
            elif isinstance(exc.__context__, _MissingHost):
                self._fail(400, "Missing mandatory Host header")
            else:
                self._fail(400, str(exc))
        except httptools.HttpParserError as exc:
            self._fail(400, str(exc) or "invalid HTTP/1.1")

    def eof_received(self) -> bool | None:
        self.eof = True
        if self.worker is None and not self.queue and self.transport is not None:
            self.transport.close()
        return True  # keep the write side open until queued answers are sent

    # -- parser callbacks ------------------------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._in_head = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[_HEADER_NAMES[name]] = value.decode("latin-1")

    def _check_head_size(self) -> None:
        """MAX_HEADER_BYTES of target and headers (each ``name: value`` and its CRLF)."""
        size = len(self._url) + sum(len(name) + len(value) + 4
                                    for name, value in self._headers.items())
        if size > MAX_HEADER_BYTES:
            raise _HeadersTooLarge

    def on_headers_complete(self) -> None:
        if self._fed_bytes > _UNMEASURED:
            self._check_head_size()
        # The next head lies in what is left of this chunk and the chunks after it.
        self._fed_bytes = self._chunk_bytes
        self._in_head = False
        headers = self._headers
        if "host" not in headers and self.parser.get_http_version() == "1.1":
            raise _MissingHost
        if "expect" in headers and headers["expect"].lower() == "100-continue":
            assert self.transport is not None
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= self.max_body_bytes:
            self._chunks.append(body)

    def on_message_complete(self) -> None:
        # Take this message's parts and start the next one afresh (no on_message_begin: one
        # callback less per request).
        parser = self.parser
        chunks, headers, url, size = self._chunks, self._headers, self._url, self._size
        self._chunks, self._headers, self._url, self._size = [], {}, b"", 0
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        method = parser.get_method().decode("latin-1")
        keep_alive = parser.should_keep_alive()
        respond_now = self._respond_now
        if (respond_now is not None and self.worker is None and not self.queue
                and not self.writing_paused and not self.closed):
            # Nothing is waiting before it: answer at once when the app need not wait.
            too_large = size > self.max_body_bytes
            path, query = split_target(url.decode("latin-1"))
            request = make_request(method, path, query, headers, b"" if too_large else body)
            response = respond_now(request, too_large)
            if response is not None:
                if (not self._write(keep_alive, method, request, response)
                        and self.transport is not None):
                    self.transport.close()
                    self.failed = True  # answer nothing more on this connection
                return
            self.queue.append(_Parsed(
                method=method, target=url.decode("latin-1"), headers=headers, body=body,
                size=size, keep_alive=keep_alive, http_version=parser.get_http_version()))
            self.worker = asyncio.get_running_loop().create_task(self._work(request))
            return
        self.queue.append(_Parsed(
            method=method, target=url.decode("latin-1"), headers=headers, body=body,
            size=size, keep_alive=keep_alive, http_version=parser.get_http_version()))
        self._start()

    # -- answering ---------------------------------------------------------------------------

    def _fail(self, status: int, problem: str) -> None:
        self.failed = True
        self.queue.append(_Parsed(error=(status, problem), keep_alive=False))
        self._start()

    def _start(self) -> None:
        if self.worker is None:
            self.worker = asyncio.get_running_loop().create_task(self._work())
        if len(self.queue) > MAX_QUEUED and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()

    async def _work(self, first: Request | None = None) -> None:
        """Answer queued requests in order; ``first``: the first one's request, already made."""
        try:
            while self.queue and not self.closed:
                item = self.queue.popleft()
                if self.reading_paused and len(self.queue) <= MAX_QUEUED // 2:
                    self.reading_paused = False
                    if self.transport is not None:
                        self.transport.resume_reading()
                if item.error is not None:
                    self._reject(*item.error)
                    return
                request, first = first, None
                if not await self._answer(item, request):
                    if self.transport is not None and not self.transport.is_closing():
                        self.transport.close()
                    return
        finally:
            self.worker = None
            if self.closed:
                self.queue.clear()
            elif self.eof and not self.queue and self.transport is not None:
                self.transport.close()

    def _request(self, item: _Parsed) -> tuple[Request, bool]:
        assert item.headers is not None
        too_large = item.size > self.max_body_bytes
        path, query = split_target(item.target)
        return make_request(item.method, path, query, item.headers,
                            b"" if too_large else item.body), too_large

    async def _answer(self, item: _Parsed, request: Request | None = None) -> bool:
        """Run the app for one request; False when the connection must not be reused."""
        transport = self.transport
        assert transport is not None
        handle = SocketHandle(transport)
        if request is None:
            request, too_large = self._request(item)
        else:
            too_large = item.size > self.max_body_bytes
        response = await self.app.respond(request, too_large, handle)
        if response is None or handle.aborted or self.closed:
            return False
        keep = self._write(item.keep_alive, item.method, request, response)
        if self.writing_paused:
            await self._drain()
        return keep

    def _write(self, keep_alive: bool, method: str, request: Request,
               response: Response) -> bool:
        """Put an answer on the wire; False when the connection must not be reused."""
        transport = self.transport
        assert transport is not None
        keep = keep_alive
        if not response.headers and keep:  # the common answer: one formatting, one write
            transport.write(_PLAIN % (
                _STATUS_LINES.get(response.status) or _status_line(response.status),
                len(response.body), request.request_id.encode(),
                b"" if method == "HEAD" else response.body))
            return True
        lines = [_STATUS_LINES.get(response.status) or _status_line(response.status)]
        for name, value in head(response, request.request_id):
            if name == b"connection" and value.lower() == b"close":
                keep = False
            else:
                lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(_SERVER_LINE if keep else _SERVER_LINE + b"connection: close\r\n")
        lines.append(b"\r\n")
        if method != "HEAD":
            lines.append(response.body)
        transport.write(b"".join(lines))
        return keep

    def _reject(self, status: int, problem: str) -> None:
        """Answer a request that could not be parsed in the envelope, and close."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        body, request_id = malformed_body(status, problem)
        transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"x-request-id: %s\r\n%s: %s\r\nconnection: close\r\n\r\n%s"
            % (status, _REASONS.get(status, b""), len(body), request_id.encode(),
               *SERVER_HEADER, body))
        transport.close()

    async def _drain(self) -> None:
        if self.closed or not self.writing_paused:
            return
        waiter = asyncio.get_running_loop().create_future()
        self.drain_waiter = waiter
        await waiter

    def _wake_drain(self) -> None:
        waiter, self.drain_waiter = self.drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def abort(self) -> None:
        """Close at once (server shutdown)."""
        if self.transport is not None:
            self.transport.abort()
        if self.worker is not None:
            self.worker.cancel()

