"""The Simulator facade: wires the parts and runs the server on its own thread and loop."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from conformance.errors import SimulatorError
from conformance.simulator.app import App
from conformance.simulator.control import Control
from conformance.simulator.core import Core
from conformance.simulator.server import Server
from conformance.simulator.settings import SimulatorSettings

START_TIMEOUT = 10.0


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A fresh event loop: uvloop's (libuv) or the standard library's."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class Simulator:
    """A simulated 0Pools provider on 127.0.0.1, in a background thread."""

    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self.core = Core(self.settings)
        self.control = Control(self.core)
        self.app = App(self.core, self.control)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def control_token(self) -> str:
        return self.core.control_token

    @property
    def port(self) -> int:
        if self._server is None:
            raise SimulatorError("the simulator is not started")
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def bugs(self) -> tuple[str, ...]:
        """Tracebacks of internal errors (each answered 500 api_error); empty in a good run."""
        return tuple(self.app.bugs)

    def start(self) -> Simulator:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="zeropools-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self._failure is not None:
            raise SimulatorError(f"the simulator did not start: {self._failure!r}")
        return self

    def _run(self) -> None:
        loop = new_loop(self.settings.event_loop)
        asyncio.set_event_loop(loop)
        self.core.loop = loop
        self.core.loop_thread_id = threading.get_ident()
        self._server = Server(self.app, host=self.settings.host, port=self.settings.port,
                              max_body_bytes=self.settings.max_body_bytes,
                              parser=self.settings.http_parser)
        try:
            loop.run_until_complete(self._server.start())
            self.core.dispatcher.bind(loop)
        except BaseException as exc:  # reported to start()
            self._failure = exc
            self._ready.set()
            loop.close()
            return
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            await self._server.close()
        await self.core.dispatcher.aclose()

    def stop(self) -> None:
        loop, thread = self.core.loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT)
        self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
