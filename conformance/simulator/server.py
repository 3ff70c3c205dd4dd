"""The HTTP/1.1 server on 127.0.0.1 that can reset a socket, as a real network would.

Two parsers serve the same ASGI app: httptools (C, an asyncio protocol: the default) and
h11 (pure Python on asyncio streams: the original path, kept for comparison).
"""

from __future__ import annotations

import asyncio

from conformance.simulator.h11_connection import H11Connection
from conformance.simulator.httptools_connection import HttpToolsConnection
from conformance.simulator.wire import READ_CHUNK, SocketHandle, WebApp

__all__ = ["Server", "SocketHandle"]


class Server:
    """Serves one ASGI app with keep-alive and a body size limit."""

    def __init__(self, app: WebApp, *, host: str, port: int, max_body_bytes: int,
                 parser: str = "httptools") -> None:
        if parser not in ("httptools", "h11"):
            raise ValueError(f"parser: must be httptools or h11, not {parser!r}")
        self.app = app
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self.parser = parser
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._protocols: set[HttpToolsConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self.parser == "httptools":
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(self._protocol, self.host, self.port,
                                                    backlog=1024)
        else:
            self._server = await asyncio.start_server(
                self._on_connect, self.host, self.port, backlog=1024, limit=READ_CHUNK)
        self.port = self._server.sockets[0].getsockname()[1]

    def _protocol(self) -> HttpToolsConnection:
        return HttpToolsConnection(self.app, server=(self.host, self.port),
                                   max_body_bytes=self.max_body_bytes,
                                   connections=self._protocols)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for protocol in list(self._protocols):
            protocol.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve_h11(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_h11(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await H11Connection(self.app, server=(self.host, self.port),
                                max_body_bytes=self.max_body_bytes, reader=reader,
                                writer=writer).serve()
        finally:
            self._writers.discard(writer)
