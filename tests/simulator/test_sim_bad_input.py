"""Bad input anywhere: the envelope, an X-Request-Id, a journal entry, never a 500."""

from __future__ import annotations

import socket

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_helpers import assert_envelope, firm_quote

from conformance.hypothesis_profiles import examples
from conformance.simulator import PartnerCredentials, Simulator


@pytest.mark.parametrize("content", [b"{", b"[1,2", b"\xff\xfe", b"NaN", b'{"side": NaN}',
                                     b'{"amount": 1e400}',
                                     b"[" * 5000 + b"]" * 5000, b"", b"null", b"[]", b'"x"'])
def test_malformed_quote_bodies(sim: Simulator, client: httpx.Client, content: bytes) -> None:
    response = client.post("/pools/EUR-USDT/quote", content=content,
                           headers={"Content-Type": "application/json"})
    body = assert_envelope(response, 400, "invalid_request")
    assert str(body["message"]).startswith("body:")
    entry = sim.control.journal()[-1]
    assert entry.status == 400 and entry.request_id == response.headers["x-request-id"]
    assert len(entry.body_digest) == 64


def test_malformed_transact_body(sim: Simulator, client: httpx.Client) -> None:
    response = client.post("/pools/EUR-USDT/transact", content=b"{oops",
                           headers={"Idempotency-Key": "k"})
    assert_envelope(response, 400, "invalid_request")
    assert sim.control.trades() == ()


def test_huge_body_is_413(sim: Simulator, client: httpx.Client) -> None:
    response = client.post("/pools/EUR-USDT/quote", content=b"x" * (2 * 1024 * 1024))
    body = assert_envelope(response, 413, "payload_too_large")
    assert body["type"] == "invalid_request"
    assert sim.control.journal()[-1].status == 413
    assert client.get("/pools").status_code == 200  # the connection survives


def test_unknown_route_and_wrong_method(sim: Simulator, client: httpx.Client) -> None:
    assert_envelope(client.get("/pools/EUR-USDT/nothing"), 404, "not_found")
    assert_envelope(client.get("/nope"), 404, "not_found")
    wrong = client.delete("/pools")
    assert_envelope(wrong, 405, "method_not_allowed")
    assert wrong.headers["allow"] == "GET"
    assert [e.status for e in sim.control.journal()] == [404, 404, 405]


def test_partner_key_on_control_plane_is_401(sim: Simulator, creds: PartnerCredentials) -> None:
    for token in (creds.secret_key, creds.publishable_key, "nonsense"):
        response = httpx.get(f"{sim.base_url}/_sim/clock",
                             headers={"Authorization": f"Bearer {token}"})
        assert_envelope(response, 401, "unauthorized")
    assert_envelope(httpx.get(f"{sim.base_url}/_sim/journal"), 401, "unauthorized")


def test_raw_garbage_on_the_socket(sim: Simulator) -> None:
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 400")
    assert b"x-request-id: req_" in data.lower()


def test_secrets_are_redacted_in_the_journal(sim: Simulator, creds: PartnerCredentials,
                                             client: httpx.Client) -> None:
    client.post("/pools/EUR-USDT/quote", json={"side": "on_ramp", "amount": "100",
                                               "destAddress": creds.secret_key})
    client.post("/pools/EUR-USDT/quote", json={"side": "on_ramp",
                                               "note": creds.webhook_secret},
                params={"k": creds.publishable_key})
    text = str([e.to_json() for e in sim.control.journal()])
    for secret in (creds.secret_key, creds.publishable_key, creds.webhook_secret):
        assert secret not in text
    assert "[REDACTED]" in text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)
quote_bodies = st.fixed_dictionaries(
    {}, optional={name: json_values | st.sampled_from(["on_ramp", "off_ramp", "100", "tron",
                                                      "EUR", "USDT", "firm", "indicative"])
                  for name in ("side", "amount", "currency", "cryptoNetwork", "destAddress",
                               "type", "fiatCurrency", "cryptoCurrency", "destNetwork")}
) | json_values


@settings(max_examples=examples(80), deadline=None, suppress_health_check=list(HealthCheck))
@given(body=quote_bodies)
def test_no_input_produces_a_5xx(sim: Simulator, client: httpx.Client, body: object) -> None:
    for path in ("/pools/EUR-USDT/quote", "/pools/EUR-USDT/transact",
                 "/pools/quotes/x/reject"):
        response = client.post(path, json=body, headers={"Idempotency-Key": "prop"})
        assert response.status_code < 500, response.text
        assert response.headers["x-request-id"].startswith("req_")
    assert not sim.bugs


@settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck))
@given(params=st.dictionaries(st.sampled_from(["limit", "cursor", "status", "side",
                                               "created_after", "created_before", "currency"]),
                              st.text(max_size=30), max_size=4))
def test_no_query_produces_a_5xx(sim: Simulator, client: httpx.Client,
                                 params: dict[str, str]) -> None:
    for path in ("/pools/trades", "/pools/ledger", "/pools/funding"):
        assert client.get(path, params=params).status_code < 500
    assert not sim.bugs


def test_quote_still_works_after_bad_input(client: httpx.Client) -> None:
    client.post("/pools/EUR-USDT/quote", content=b"{")
    assert firm_quote(client)["available"] is True
