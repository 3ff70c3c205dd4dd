"""The wire, on both servers: httptools on uvloop (default) and h11 on asyncio (the original).

Keep-alive, pipelined requests answered in order, the body limit, chunked bodies, requests
that cannot be parsed (400 in the envelope, never a traceback), and the reset-after-commit
fault as a real TCP reset.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from sim_helpers import DEST

from conformance.errors import ControlError, UnknownObject
from conformance.simulator import FaultMatch, FaultSpec, PartnerSpec, Simulator, SimulatorSettings
from conftest import make_sim

SERVERS = [
    pytest.param(("httptools", "uvloop"), id="httptools-uvloop"),
    pytest.param(("h11", "asyncio"), id="h11-asyncio"),
    pytest.param(("httptools", "asyncio"), id="httptools-asyncio"),
]
QUOTE = json.dumps({"side": "on_ramp", "amount": "100.00", "destAddress": DEST}).encode()


@pytest.fixture(params=SERVERS)
def wired(request: pytest.FixtureRequest) -> Iterator[tuple[Simulator, str]]:
    parser, loop = request.param
    with make_sim(http_parser=parser, event_loop=loop, max_body_bytes=4096) as sim:
        creds = sim.control.provision_partner(PartnerSpec(name="wire"))
        yield sim, creds.secret_key
    assert not sim.bugs, sim.bugs


def _request(method: str, path: str, key: str, body: bytes = b"", *extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {key}",
             "Content-Type: application/json", *extra]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _responses(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """Read ``count`` complete responses (Content-Length framed) from a socket."""
    data = b""
    out: list[tuple[int, dict[str, str], bytes]] = []
    while len(out) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed after {len(out)} responses: {data[:200]!r}")
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        length = int(headers.get("content-length", "0"))
        while len(data) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a body")
            data += chunk
        out.append((int(status_line.split()[1]), headers, data[:length]))
        data = data[length:]
    return out


def _connect(sim: Simulator) -> socket.socket:
    return socket.create_connection(("127.0.0.1", sim.port), timeout=10)


def test_keep_alive_serves_many_requests_on_one_connection(
        wired: tuple[Simulator, str]) -> None:
    sim, key = wired
    with _connect(sim) as sock:
        for _ in range(3):
            sock.sendall(_request("GET", "/v1/pools", key))
            [(status, headers, body)] = _responses(sock, 1)
            assert status == 200 and json.loads(body)["pools"]
            assert headers["x-request-id"].startswith("req_") and "connection" not in headers
    assert [e.status for e in sim.control.journal()] == [200, 200, 200]


def test_pipelined_requests_are_answered_in_order(wired: tuple[Simulator, str]) -> None:
    sim, key = wired
    with _connect(sim) as sock:
        sock.sendall(_request("POST", "/v1/pools/EUR-USDT/quote", key, QUOTE)
                     + _request("GET", "/v1/pools/nope/balance", key)
                     + _request("GET", "/v1/pools", key))
        answers = _responses(sock, 3)
    assert [status for status, _, _ in answers] == [200, 404, 200]
    assert "quoteId" in json.loads(answers[0][2])
    journal = sim.control.journal()
    assert [e.path for e in journal] == ["/v1/pools/EUR-USDT/quote", "/v1/pools/nope/balance",
                                         "/v1/pools"]
    assert [e.request_id for e in journal] == [h["x-request-id"] for _, h, _ in answers]


def test_connection_close_is_honoured(wired: tuple[Simulator, str]) -> None:
    sim, key = wired
    with _connect(sim) as sock:
        sock.sendall(_request("GET", "/v1/pools", key, b"", "Connection: close"))
        [(status, headers, _)] = _responses(sock, 1)
        assert status == 200 and headers["connection"] == "close"
        assert sock.recv(10) == b""


def test_body_over_the_limit_is_413_and_the_connection_survives(
        wired: tuple[Simulator, str]) -> None:
    sim, key = wired
    with _connect(sim) as sock:
        sock.sendall(_request("POST", "/v1/pools/EUR-USDT/quote", key, b"x" * 10_000))
        [(status, _, body)] = _responses(sock, 1)
        assert status == 413 and json.loads(body)["code"] == "payload_too_large"
        sock.sendall(_request("GET", "/v1/pools", key))
        assert _responses(sock, 1)[0][0] == 200
    assert sim.control.journal()[0].status == 413


def test_chunked_body(wired: tuple[Simulator, str]) -> None:
    sim, key = wired
    half = len(QUOTE) // 2
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                       for part in (QUOTE[:half], QUOTE[half:])) + b"0\r\n\r\n"
    head = _request("POST", "/v1/pools/EUR-USDT/quote", key).replace(
        b"Content-Length: 0", b"Transfer-Encoding: chunked")
    with _connect(sim) as sock:
        sock.sendall(head + chunked)
        [(status, _, body)] = _responses(sock, 1)
    assert status == 200 and json.loads(body)["fiatAmount"] == "100.00"


def test_expect_100_continue(wired: tuple[Simulator, str]) -> None:
    sim, key = wired
    with _connect(sim) as sock:
        sock.sendall(_request("POST", "/v1/pools/EUR-USDT/quote", key, b"",
                              "Expect: 100-continue").replace(
            b"Content-Length: 0", f"Content-Length: {len(QUOTE)}".encode()))
        assert sock.recv(4096).startswith(b"HTTP/1.1 100")
        sock.sendall(QUOTE)
        assert _responses(sock, 1)[0][0] == 200


@pytest.mark.parametrize("raw, status", [
    pytest.param(b"THIS IS NOT HTTP\r\n\r\n", 400, id="garbage"),
    pytest.param(b"GET /v1/pools HTTP/1.1\r\n\r\n", 400, id="no-host"),
    pytest.param(b"GET /v1/pools HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n", 400,
                 id="bad-length"),
    pytest.param(b"GET /v1/pools HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
                 431, id="headers-too-large"),
])
def test_unparseable_request_is_answered_in_the_envelope(
        wired: tuple[Simulator, str], raw: bytes, status: int) -> None:
    sim, _ = wired
    with _connect(sim) as sock:
        sock.sendall(raw)
        [(got, headers, body)] = _responses(sock, 1)
        assert got == status
        envelope = json.loads(body)
        assert envelope["statusCode"] == status and envelope["code"] == "invalid_request"
        assert envelope["message"].startswith("malformed HTTP request")
        assert headers["x-request-id"] == envelope["request_id"]
        assert headers["connection"] == "close"
        try:  # closed; a reset when unread request bytes were left in the server's buffer
            assert sock.recv(10) == b""
        except ConnectionResetError:
            pass
    assert not sim.bugs


def test_reset_after_commit_is_a_tcp_reset(wired: tuple[Simulator, str]) -> None:
    sim, key = wired
    sim.control.inject_fault(FaultSpec(match=FaultMatch(path="/v1/pools/*/quote"),
                                       action="reset_after_commit"))
    with _connect(sim) as sock:
        sock.sendall(_request("POST", "/v1/pools/EUR-USDT/quote", key, QUOTE))
        with pytest.raises(ConnectionResetError):
            while sock.recv(65536):
                pass
    entry = sim.control.journal()[-1]
    assert entry.reset is True and entry.status == 200 and entry.fault == "reset_after_commit"
    [quote] = sim.control.quotes(entry.partner_id or "")
    assert quote.id  # committed: the quote exists although the answer never arrived


def test_settings_name_the_server() -> None:
    assert (SimulatorSettings().http_parser, SimulatorSettings().event_loop) == (
        "httptools", "uvloop")
    with pytest.raises(ValueError, match="http_parser"):
        SimulatorSettings(http_parser="nope")
    with pytest.raises(ValueError, match="event_loop"):
        SimulatorSettings(event_loop="nope")


def test_control_errors_are_typed(sim: Simulator) -> None:
    with pytest.raises(UnknownObject):
        sim.control.trade("txn_test_nope")
    with pytest.raises(UnknownObject):
        sim.control.partner("ptn_test_nope")
    with pytest.raises(UnknownObject):
        sim.control.script_outcome("txn_test_nope", "settled")
    with pytest.raises(ControlError) as refused:
        sim.control.advance_clock(-1)
    assert not isinstance(refused.value, UnknownObject)
