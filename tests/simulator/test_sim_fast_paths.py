"""The simulator's request-path shortcuts give exactly what the plain ways give.

orjson reads and writes JSON, timestamps are formatted from a per-second cache, records are
built by a generated ``__init__``, heads are measured only when they could be too large:
each must agree with the standard library / dataclass behaviour it replaces.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.simulator import Simulator
from conformance.simulator.clock import Clock, iso
from conformance.simulator.errors import ApiError
from conformance.simulator.http import encode_json, parse_json
from conformance.simulator.idempotency import fingerprint
from conformance.simulator.models import OutcomePlan, Trade
from conformance.simulator.wire import MAX_HEADER_BYTES

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.text()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _typed(value: Any) -> Any:
    """The value with each number's type kept, so 1 and 1.0 differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


@given(JSON_VALUES)
def test_parse_json_reads_what_the_standard_library_reads(value: Any) -> None:
    body = json.dumps(value).encode()
    assert _typed(parse_json(body)) == _typed(json.loads(body))


@pytest.mark.parametrize("body, kept", [
    (b'{"amount": 123456789012345678901234567890}', 123456789012345678901234567890),
    (b'{"amount": -9223372036854775809}', -9223372036854775809),
    (b'{"amount": 18446744073709551615}', 18446744073709551615),
])
def test_integers_beyond_64_bits_stay_exact(body: bytes, kept: int) -> None:
    value = parse_json(body)["amount"]
    assert type(value) is int and value == kept


@pytest.mark.parametrize("body, problem", [
    (b"NaN", "malformed JSON"),
    (b'{"a": 1e400}', "out of range"),
    (b"\xef\xbb\xbf{}", "malformed JSON"),
    (b'"\xff"', "UTF-8"),
    (b"[1,]", "malformed JSON"),
])
def test_what_json_refuses_is_named(body: bytes, problem: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_json(body)
    assert caught.value.status == 400 and problem in caught.value.message


@given(JSON_VALUES)
def test_encode_json_round_trips(value: Any) -> None:
    assert _typed(json.loads(encode_json(value))) == _typed(value)


def test_what_orjson_refuses_is_still_written() -> None:
    for value in ({"a": "T\ud800x"}, {"a": 10**30}, {1: "x"}):
        assert json.loads(encode_json(value)) == json.loads(json.dumps(value))
    assert encode_json({"b": 1, "a": 10**30}, sort_keys=True) == b'{"a":%d,"b":1}' % 10**30


def test_fingerprint_ignores_key_order_and_takes_big_integers() -> None:
    one = fingerprint("POST", "/t", b'{"b": 1, "a": {"y": 2, "x": "\xc3\xa9"}}')
    other = fingerprint("POST", "/t", b'{"a": {"x": "\\u00e9", "y": 2}, "b": 1}')
    assert one == other
    big = fingerprint("POST", "/t", b'{"a": 123456789012345678901234567890}')
    assert big == fingerprint("POST", "/t", b'{ "a" : 123456789012345678901234567890 }')
    assert big != fingerprint("POST", "/t", b'{"a": 123456789012345678901234567891}')


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(UTC)))
def test_iso_is_isoformat_with_a_z(moment: datetime) -> None:
    assert iso(moment) == moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_iso_converts_other_offsets() -> None:
    moment = datetime(2026, 12, 2, 12, 30, 1, 999_999, tzinfo=timezone(timedelta(hours=5)))
    assert iso(moment) == "2026-12-02T07:30:01.999Z"


def test_now_seconds_is_now_without_a_datetime() -> None:
    clock = Clock(3600.123_456_7)
    before = clock.now()
    middle = datetime.fromtimestamp(clock.now_seconds(), UTC)
    after = clock.now()
    assert before - timedelta(microseconds=1) <= middle <= after + timedelta(microseconds=1)


def _trade(**changes: Any) -> dict[str, Any]:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    fields = dict(id="txn_1", seq=1, partner_id="ptn", quote_id="pq", pool_id="EUR-USDT",
                  side="on_ramp", status="reserved", fiat_currency="EUR",
                  crypto_currency="USDT", fiat_amount=Decimal("1.00"),
                  crypto_amount=Decimal("1.07"), rate=Decimal("1.07"), crypto_network="tron",
                  dest_address=None, idempotency_key="k", created_at=now, updated_at=now)
    fields.update(changes)
    return fields


def test_generated_init_keeps_defaults_factories_and_frozenness() -> None:
    trade = Trade(**_trade())
    assert (trade.plan, trade.polls, trade.return_pending) == (OutcomePlan(), 0, False)
    assert Trade(**_trade()).plan is not trade.plan  # a factory, called each time
    assert Trade(**_trade(polls=3)).polls == 3
    assert trade == dataclasses.replace(trade)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trade.status = "settled"  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing"):
        Trade(id="txn_1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Trade(**_trade(), nonsense=1)


def _answer(sim: Simulator, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


@pytest.mark.parametrize("complete", [True, False], ids=["whole-head", "head-still-arriving"])
def test_many_small_headers_over_the_limit_are_431(sim: Simulator, complete: bool) -> None:
    lines = b"".join(b"X-H%d: v\r\n" % n for n in range(MAX_HEADER_BYTES // 8))
    raw = b"GET /v1/pools HTTP/1.1\r\nHost: x\r\n" + lines + (b"\r\n" if complete else b"")
    assert _answer(sim, raw).startswith(b"HTTP/1.1 431")
    assert not sim.bugs


def test_a_head_just_under_the_limit_is_answered(sim: Simulator) -> None:
    raw = (b"GET /v1/pools HTTP/1.1\r\nHost: x\r\nX-Big: "
           + b"a" * (MAX_HEADER_BYTES - 200) + b"\r\n\r\n")
    assert _answer(sim, raw).startswith(b"HTTP/1.1 401")  # read whole: no key, so 401
