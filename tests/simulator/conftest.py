"""Fixtures for the simulator's own tests: a real server on 127.0.0.1 and a webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conformance.simulator import PartnerCredentials, PartnerSpec, Simulator, SimulatorSettings


@dataclass
class Received:
    """One webhook request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny real webhook endpoint; answers ``statuses`` in turn, then ``default``."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
            status = state.next_status()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def make_sim(**settings: object) -> Simulator:
    defaults: dict[str, object] = {"webhook_retry_delays": (0.2, 0.4), "webhook_timeout_seconds": 2}
    defaults.update(settings)
    return Simulator(SimulatorSettings(**defaults))  # type: ignore[arg-type]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with make_sim() as simulator:
        yield simulator
    assert not simulator.bugs, simulator.bugs


@pytest.fixture
def creds(sim: Simulator) -> PartnerCredentials:
    return sim.control.provision_partner(PartnerSpec(name="acme"))


@pytest.fixture
def client(sim: Simulator, creds: PartnerCredentials) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.api_url, timeout=10,
                      headers={"Authorization": f"Bearer {creds.secret_key}"}) as c:
        yield c
