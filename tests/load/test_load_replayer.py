"""The load replayer against a real simulator and a real webhook endpoint.

A trade still reserved becomes the partner's news by two concurrent first deliveries; when no
trade stays reserved (a partner that polls at once), the newest settled event is delivered
again twice at once once the replayer's patience is out, so such a partner still has its
case observed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conformance.driver.timings import Timings
from conformance.load.run import CONCURRENT_REPLAYS, _Replayer
from conformance.simulator import PartnerSpec, Simulator

TIMINGS = Timings(timeout_s=1.0, poll_interval_s=0.1)
QUOTE = {"side": "on_ramp", "amount": "20.00", "destAddress": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"}


@pytest.fixture
def hook_url() -> Iterator[tuple[str, list[str]]]:
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            received.append(self.rfile.read(int(self.headers.get("Content-Length", "0")))
                            .decode())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def _trade(sim: Simulator, key: str, n: int) -> str:
    with httpx.Client(base_url=sim.api_url, headers={"Authorization": f"Bearer {key}"}) as c:
        quote = c.post("/pools/EUR-USDT/quote", json=QUOTE).json()
        trade = c.post("/pools/EUR-USDT/transact", json={"quoteId": quote["quoteId"]},
                       headers={"Idempotency-Key": f"k-{n}"}).json()
    return str(trade["transactId"])


def _partner(sim: Simulator, url: str) -> tuple[str, str]:
    creds = sim.control.provision_partner(PartnerSpec(
        name="replayed", initial_balance=Decimal(10_000), webhook_url=url))
    return creds.partner_id, creds.secret_key


def _settled_trade(sim: Simulator, key: str, n: int) -> str:
    """A trade settled at once, its event delivered (what makes a replay due)."""
    trade = _trade(sim, key, n)
    sim.control.script_outcome(trade, "settled", now=True)
    sim.control.wait_deliveries()
    return trade


def test_a_reserved_trade_is_settled_as_two_concurrent_first_deliveries(
        hook_url: tuple[str, list[str]]) -> None:
    url, received = hook_url
    with Simulator() as sim:
        pid, key = _partner(sim, url)
        _settled_trade(sim, key, 1)  # the event that makes one due
        reserved = _trade(sim, key, 2)
        replayer = _Replayer(sim.control, pid, 0.5, timings=TIMINGS)
        replayer.tick()
        sim.control.wait_deliveries()
        assert list(replayer.replayed.values()) == [reserved]
        assert replayer.delivered == CONCURRENT_REPLAYS
        assert sim.control.trade(reserved).status == "settled"
        assert sim.control.faults() == ()  # the slow reads are gone again
        # two concurrent deliveries of its event, one on release, one for the first trade
        assert sum(reserved in body for body in received) == CONCURRENT_REPLAYS + 1


def test_without_a_reserved_trade_the_newest_settled_event_is_delivered_again(
        hook_url: tuple[str, list[str]]) -> None:
    url, received = hook_url
    with Simulator() as sim:
        pid, key = _partner(sim, url)
        settled = _settled_trade(sim, key, 1)
        waiting = _Replayer(sim.control, pid, 0.5, timings=TIMINGS, patience_s=3600)
        waiting.tick()
        assert waiting.replayed == {}  # still waiting for a reserved trade
        impatient = _Replayer(sim.control, pid, 0.5, timings=TIMINGS, patience_s=0)
        impatient.tick()
        assert list(impatient.replayed.values()) == [settled]
        assert impatient.delivered == CONCURRENT_REPLAYS
        assert sum(settled in body for body in received) == 1 + CONCURRENT_REPLAYS
