"""Each documented 0Pools rule, driven over real HTTP; FIDELITY.md cites these tests.

Every answer also passes through ``ContractClient``, so it is checked against the OpenAPI
document (status documented, body schema, X-Request-Id) as well as the rule itself.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from _contract import Contract, ContractClient, Receiver

from conformance.simulator import PartnerSpec, Simulator, SimulatorSettings
from conformance.simulator.clock import parse_iso
from conformance.simulator.models import OutcomePlan

POOL = "EUR-USDT"
DEST = "TXYZexampleAddress000000000000000"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorSettings()) as simulator:
        yield simulator
        assert simulator.bugs == (), simulator.bugs


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


@pytest.fixture
def connect(sim: Simulator, contract: Contract) -> Iterator[Any]:
    """Provision a partner and hand back (credentials, client)."""
    clients: list[ContractClient] = []

    def make(**spec: Any) -> tuple[Any, ContractClient]:
        creds = sim.control.provision_partner(PartnerSpec(**spec))
        client = ContractClient(sim.api_url, creds.secret_key, contract)
        clients.append(client)
        return creds, client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(connect: Any) -> ContractClient:
    return connect()[1]


def quote(api: ContractClient, pool: str = POOL, **body: Any) -> dict[str, Any]:
    payload = {"side": "on_ramp", "amount": "100.00", "destAddress": DEST, **body}
    answer = api.post(f"/pools/{pool}/quote", json=payload)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def transact(api: ContractClient, quote_id: str, key: str | None = None, pool: str = POOL,
             **kwargs: Any) -> Any:
    headers = {"Idempotency-Key": key or f"k-{uuid.uuid4()}"}
    return api.post(f"/pools/{pool}/transact", json={"quoteId": quote_id}, headers=headers,
                    **kwargs)


def error_code(answer: Any) -> str:
    return str(answer.json()["code"])


# -- auth ------------------------------------------------------------------------------------


def test_secret_key_calls_every_operation(api: ContractClient) -> None:
    assert api.get("/pools").status_code == 200
    assert api.get(f"/pools/{POOL}/capabilities").status_code == 200
    assert api.get(f"/pools/{POOL}/balance").status_code == 200
    assert api.get("/pools/funding").status_code == 200
    firm = quote(api)
    assert api.get(f"/pools/quotes/{firm['quoteId']}").status_code == 200
    trade = transact(api, firm["quoteId"])
    assert trade.status_code == 200
    assert api.get(f"/pools/transactions/{firm['quoteId']}").status_code == 200
    assert api.get(f"/pools/trades/{trade.json()['transactId']}").status_code == 200
    assert api.get("/pools/trades").status_code == 200
    assert api.get("/pools/ledger").status_code == 200
    other = quote(api)
    assert api.post(f"/pools/quotes/{other['quoteId']}/reject").status_code == 200
    assert len({operation for operation, status in api.seen if status == 200}) == 12


OTHER_ROUTES = [
    ("GET", f"/pools/{POOL}/capabilities"),
    ("GET", f"/pools/{POOL}/balance"),
    ("GET", "/pools/funding"),
    ("POST", f"/pools/{POOL}/quote"),
    ("GET", "/pools/quotes/pq_test_123"),
    ("POST", "/pools/quotes/pq_test_123/reject"),
    ("POST", f"/pools/{POOL}/transact"),
    ("GET", "/pools/transactions/pq_test_123"),
    ("GET", "/pools/trades/txn_test_0000000000abc"),
    ("GET", "/pools/trades"),
    ("GET", "/pools/ledger"),
]


def test_publishable_key_lists_pools_only(connect: Any) -> None:
    creds, api = connect()
    listed = api.get("/pools", key=creds.publishable_key)
    assert listed.status_code == 200
    assert [pool["id"] for pool in listed.json()["pools"]] == ["EUR-USDT", "EUR-USDC"]
    for method, path in OTHER_ROUTES:
        body = {"side": "on_ramp", "amount": "100.00"} if method == "POST" else None
        answer = api.request(method, path, key=creds.publishable_key, json=body,
                             headers={"Idempotency-Key": "k1"})
        assert answer.status_code == 403, (method, path)
        assert error_code(answer) == "publishable_key_not_allowed"


@pytest.mark.parametrize("token", ["sk_live_0123456789abcdef", "pk_live_0123456789abcdef"])
def test_live_key_is_key_mode_mismatch(api: ContractClient, token: str) -> None:
    for method, path in [("GET", "/pools"), *OTHER_ROUTES[:3]]:
        answer = api.request(method, path, key=token)
        assert answer.status_code == 403
        assert error_code(answer) == "key_mode_mismatch"
        assert answer.json()["type"] == "forbidden"


@pytest.mark.parametrize("header", [None, "Bearer sk_test_unknown", "Basic c2s6", "Bearer"])
def test_missing_or_unknown_key_is_401(api: ContractClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for method, path in [("GET", "/pools"), *OTHER_ROUTES]:
        answer = api.request(method, path, key=None, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["type"] == "unauthorized"


def test_other_partners_objects_are_404(connect: Any) -> None:
    _, alice = connect()
    _, bob = connect(pools=("EUR-USDC",))
    firm = quote(alice)
    trade = transact(alice, firm["quoteId"]).json()
    spare = quote(alice)
    for method, path in [
        ("GET", f"/pools/quotes/{spare['quoteId']}"),
        ("POST", f"/pools/quotes/{spare['quoteId']}/reject"),
        ("GET", f"/pools/transactions/{firm['quoteId']}"),
        ("GET", f"/pools/trades/{trade['transactId']}"),
        ("GET", f"/pools/{POOL}/capabilities"),
        ("GET", f"/pools/{POOL}/balance"),
    ]:
        assert bob.request(method, path).status_code == 404, (method, path)
    stolen = transact(bob, spare["quoteId"], pool="EUR-USDC")
    assert stolen.status_code == 404
    assert alice.get(f"/pools/quotes/{spare['quoteId']}").json()["status"] == "active"
    assert bob.get("/pools/trades").json()["trades"] == []


def test_transact_quote_of_another_pool_is_404(api: ContractClient) -> None:
    firm = quote(api)
    assert transact(api, firm["quoteId"], pool="EUR-USDC").status_code == 404


DENIALS = [
    pytest.param({"enabled": False}, "pools_not_enabled", id="not-enabled"),
    pytest.param({"status": "suspended"}, "pool_access_suspended", id="suspended"),
    pytest.param({"kyc_status": "pending"}, "kyc_not_approved", id="kyc"),
    pytest.param({"allowed_pools": ("EUR-USDC",)}, "pool_not_allowed", id="not-allowed"),
]


@pytest.mark.parametrize(("spec", "code"), DENIALS)
def test_entitlement_denials_are_403(connect: Any, spec: dict[str, Any], code: str) -> None:
    _, api = connect(**spec)
    answers = [
        api.get(f"/pools/{POOL}/capabilities"),
        api.get(f"/pools/{POOL}/balance"),
        api.post(f"/pools/{POOL}/quote", json={"side": "on_ramp", "amount": "100.00",
                                               "destAddress": DEST}),
        transact(api, "pq_test_123"),
    ]
    assert [(a.status_code, error_code(a)) for a in answers] == [(403, code)] * 4
    assert api.get("/pools/funding").status_code == 200
    assert api.get("/pools/trades").status_code == 200


# -- discovery, balance, funding -------------------------------------------------------------


def test_list_pools_shows_entitled_pools_only(connect: Any) -> None:
    _, api = connect(pools=("EUR-USDC",))
    assert api.get("/pools").json() == {"pools": [{
        "id": "EUR-USDC", "pair": "EUR/USDC", "fiatCurrency": "EUR", "cryptoCurrency": "USDC",
        "available": True}]}
    _, disabled = connect(enabled=False)
    assert disabled.get("/pools").json() == {"pools": []}


def test_capabilities_fields(api: ContractClient) -> None:
    body = api.get(f"/pools/{POOL}/capabilities").json()
    assert body["poolId"] == POOL and body["pair"] == "EUR/USDT"
    assert body["supportedNetworks"] == ["tron", "ethereum", "polygon"]
    assert set(body["sides"]) == {"on_ramp", "off_ramp"}
    assert isinstance(body["drawFeeBps"], int) and isinstance(body["spreadCapBps"], int)
    assert (body["minOrderUsdt"], body["maxOrderUsdt"]) == ("10", "50000")


def test_balance_null_when_gate_off(connect: Any) -> None:
    _, gated = connect()
    body = gated.get(f"/pools/{POOL}/balance").json()
    assert (body["available"], body["balance"]) == (True, "100000.00")
    assert body["allowedPools"] == ["EUR-USDT", "EUR-USDC"] and body["tier"] == "standard"
    _, open_ = connect(balance_gate=False)
    assert open_.get(f"/pools/{POOL}/balance").json()["balance"] is None


def test_funding_is_eur_only(api: ContractClient) -> None:
    body = api.get("/pools/funding").json()
    assert body["currency"] == "EUR" and body["reference"]
    assert api.get("/pools/funding", params={"currency": "EUR"}).status_code == 200
    refused = api.get("/pools/funding", params={"currency": "USD"})
    assert refused.status_code == 400
    assert "only EUR funding is supported" in refused.json()["message"]


# -- quotes -----------------------------------------------------------------------------------


def test_firm_quote_fields_and_ttl(api: ContractClient) -> None:
    body = quote(api)  # no Idempotency-Key: quote creation does not need one
    assert (body["available"], body["type"], body["executable"]) == (True, "firm", True)
    assert body["quoteId"].startswith("pq_")
    assert body["totalBps"] == body["spreadBps"] + body["feeBps"]
    ttl = parse_iso(body["expiresAt"]) - parse_iso(body["createdAt"])
    assert ttl.total_seconds() == pytest.approx(15, abs=0.01)
    assert api.get(f"/pools/quotes/{body['quoteId']}").json()["status"] == "active"


def test_indicative_quote_has_no_quote_id(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    body = quote(api, type="indicative")
    assert (body["type"], body["executable"]) == ("indicative", False)
    assert "quoteId" not in body and "expiresAt" not in body
    assert sim.control.quotes(creds.partner_id) == ()


@pytest.mark.parametrize("reason", ["pool_dry", "engine_unavailable", "rate_unavailable"])
def test_fail_soft_quote_is_200_without_quote_id(
    sim: Simulator, connect: Any, reason: str
) -> None:
    creds, api = connect()
    sim.control.make_next_quote_unavailable(creds.partner_id, reason)
    body = quote(api)
    assert (body["available"], body["unavailableReason"]) == (False, reason)
    assert "quoteId" not in body
    assert sim.control.quotes(creds.partner_id) == ()
    assert quote(api)["available"] is True


BAD_QUOTES = [
    pytest.param({"amount": "100.123"}, "amount", id="three-decimals"),
    pytest.param({"amount": 100}, "amount", id="number"),
    pytest.param({"amount": "5.00"}, "amount", id="below-min"),
    pytest.param({"amount": "60000.00"}, "amount", id="above-max"),
    pytest.param({"side": "sideways"}, "side", id="side"),
    pytest.param({"cryptoNetwork": "solana"}, "cryptoNetwork", id="network"),
    pytest.param({"currency": "GBP"}, "currency", id="currency"),
    pytest.param({"fiatCurrency": "GBP"}, "fiatCurrency", id="fiat-mismatch"),
    pytest.param({"cryptoCurrency": "USDC"}, "cryptoCurrency", id="crypto-mismatch"),
    pytest.param({"destAddress": None}, "destAddress", id="no-dest"),
    pytest.param({"destAddress": "has space"}, "destAddress", id="dest-space"),
    pytest.param({"slippage": "1"}, "slippage", id="unknown-field"),
]


@pytest.mark.parametrize(("change", "field"), BAD_QUOTES)
def test_quote_validation_names_the_field(
    api: ContractClient, change: dict[str, Any], field: str
) -> None:
    body = {"side": "on_ramp", "amount": "100.00", "destAddress": DEST, **change}
    body = {key: value for key, value in body.items() if value is not None}
    answer = api.post(f"/pools/{POOL}/quote", json=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request"
    assert field in answer.json()["message"]


def test_quote_read_is_pure(api: ContractClient) -> None:
    firm = quote(api)
    reads = [api.get(f"/pools/quotes/{firm['quoteId']}").json() for _ in range(3)]
    assert all(read == reads[0] for read in reads)
    assert reads[0]["expiresAt"] == firm["expiresAt"] and reads[0]["rate"] == firm["rate"]
    assert transact(api, firm["quoteId"]).status_code == 200


def test_quote_status_derivation_and_precedence(sim: Simulator, api: ContractClient) -> None:
    consumed, rejected, expiring = quote(api), quote(api), quote(api)
    transact(api, consumed["quoteId"])
    api.post(f"/pools/quotes/{rejected['quoteId']}/reject")

    def status(firm: dict[str, Any]) -> tuple[str, bool]:
        body = api.get(f"/pools/quotes/{firm['quoteId']}").json()
        return body["status"], body["executable"]

    assert status(consumed) == ("consumed", False)
    assert status(rejected) == ("rejected", False)
    assert status(expiring) == ("active", True)
    sim.control.advance_clock(15.001)  # expired when now ≥ expiresAt
    assert status(expiring) == ("expired", False)
    assert status(consumed) == ("consumed", False)  # consumed > expired
    assert status(rejected) == ("rejected", False)  # rejected > expired


def test_reject_is_compare_and_swap(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    active, consumed, expiring = quote(api), quote(api), quote(api)
    first = api.post(f"/pools/quotes/{active['quoteId']}/reject")
    assert (first.status_code, first.json()["status"]) == (200, "rejected")
    again = api.post(f"/pools/quotes/{active['quoteId']}/reject")
    assert (again.status_code, error_code(again)) == (409, "quote_rejected")
    assert (transact(api, active["quoteId"]).status_code, sim.control.trades(creds.partner_id)
            ) == (409, ())
    transact(api, consumed["quoteId"])
    late = api.post(f"/pools/quotes/{consumed['quoteId']}/reject")
    assert (late.status_code, error_code(late)) == (409, "quote_consumed")
    sim.control.advance_clock(16)
    gone = api.post(f"/pools/quotes/{expiring['quoteId']}/reject")
    assert (gone.status_code, error_code(gone)) == (409, "quote_expired")
    assert sim.control.events(creds.partner_id) == ()  # rejection is never a webhook


# -- transact ---------------------------------------------------------------------------------


def test_transact_creates_reserved_trade(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    firm = quote(api)
    trade = transact(api, firm["quoteId"]).json()
    assert trade["status"] == "reserved" and trade["transactId"].startswith("txn_")
    for name in ("quoteId", "poolId", "side", "fiatAmount", "cryptoAmount", "rate",
                 "cryptoNetwork", "destAddress"):
        assert trade[name] == firm[name], name
    assert api.get(f"/pools/quotes/{firm['quoteId']}").json()["status"] == "consumed"
    debit = api.get("/pools/ledger").json()["entries"][0]
    assert (debit["reason"], debit["ref"], debit["delta"]) == (
        "buy_debit", firm["quoteId"], "-100.00")


def test_transact_body_is_quote_id_only(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    firm = quote(api)
    headers = {"Idempotency-Key": "k-body"}
    for body, field in [({"quoteId": firm["quoteId"], "amount": "1.00"}, "amount"),
                        ({}, "quoteId"), (["pq"], "body")]:
        answer = api.post(f"/pools/{POOL}/transact", json=body, headers=headers)
        assert answer.status_code == 400 and field in answer.json()["message"], body
    answer = api.post(f"/pools/{POOL}/transact", content=b"{not json", headers=headers)
    assert answer.status_code == 400
    assert sim.control.trades(creds.partner_id) == ()


def test_transact_requires_idempotency_key(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    firm = quote(api)
    answer = api.post(f"/pools/{POOL}/transact", json={"quoteId": firm["quoteId"]})
    assert (answer.status_code, error_code(answer)) == (400, "idempotency_key_required")
    assert sim.control.trades(creds.partner_id) == ()


def test_same_quote_returns_same_trade(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    firm = quote(api)
    first = transact(api, firm["quoteId"], key="key-one").json()
    second = transact(api, firm["quoteId"], key="key-two").json()
    assert second["transactId"] == first["transactId"]
    assert len(sim.control.trades(creds.partner_id)) == 1
    debits = [e for e in sim.control.ledger(creds.partner_id) if e.reason == "buy_debit"]
    assert len(debits) == 1


def test_same_key_other_body_is_409(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    one, two = quote(api), quote(api)
    assert transact(api, one["quoteId"], key="shared").status_code == 200
    clash = transact(api, two["quoteId"], key="shared")
    assert (clash.status_code, error_code(clash)) == (409, "idempotency_key_reused")
    assert api.get(f"/pools/quotes/{two['quoteId']}").json()["status"] == "active"
    assert len(sim.control.trades(creds.partner_id)) == 1


def test_replay_is_identical(api: ContractClient) -> None:
    firm = quote(api)
    first = transact(api, firm["quoteId"], key="replay-me")
    api.get(f"/pools/transactions/{firm['quoteId']}")  # the trade moves on meanwhile
    second = transact(api, firm["quoteId"], key="replay-me")
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert second.headers["x-request-id"] != first.headers["x-request-id"]


def test_expired_quote_transact_is_409(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    done, late = quote(api), quote(api)
    trade = transact(api, done["quoteId"], key="before").json()
    sim.control.advance_clock(15)
    refused = transact(api, late["quoteId"])
    assert (refused.status_code, error_code(refused)) == (409, "quote_expired")
    assert len(sim.control.trades(creds.partner_id)) == 1
    again = transact(api, done["quoteId"], key="after-expiry")
    assert (again.status_code, again.json()["transactId"]) == (200, trade["transactId"])


def test_insufficient_balance_is_402(sim: Simulator, connect: Any) -> None:
    creds, api = connect(initial_balance=Decimal("50"))
    firm = quote(api)
    refused = transact(api, firm["quoteId"])
    assert (refused.status_code, error_code(refused)) == (402, "insufficient_balance")
    assert sim.control.trades(creds.partner_id) == ()
    assert api.get(f"/pools/quotes/{firm['quoteId']}").json()["status"] == "active"
    open_creds, open_api = connect(initial_balance=Decimal("50"), balance_gate=False)
    assert transact(open_api, quote(open_api)["quoteId"]).status_code == 200
    assert open_api.get("/pools/ledger").json()["available"] == "-50.00"  # debit posts


def test_velocity_cap_is_429_with_retry_after(sim: Simulator, connect: Any) -> None:
    creds, api = connect(velocity_cap=Decimal("150"))
    assert transact(api, quote(api)["quoteId"]).status_code == 200
    capped = transact(api, quote(api)["quoteId"])
    assert (capped.status_code, error_code(capped)) == (429, "velocity_cap_exceeded")
    assert int(capped.headers["retry-after"]) > 0
    assert len(sim.control.trades(creds.partner_id)) == 1


def test_off_ramp_transact_is_501_until_enabled(connect: Any) -> None:
    _, api = connect()
    firm = quote(api, side="off_ramp", destAddress=None)
    refused = transact(api, firm["quoteId"])
    assert (refused.status_code, error_code(refused)) == (501, "off_ramp_not_enabled")
    _, enabled = connect(off_ramp_enabled=True)
    assert transact(enabled, quote(enabled, side="off_ramp")["quoteId"]).status_code == 200


# -- settlement -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["settled", "failed", "released"])
def test_poll_advances_reserved_trade(sim: Simulator, connect: Any, outcome: str) -> None:
    creds, api = connect()
    sim.control.script_next_trades(creds.partner_id, [OutcomePlan(status=outcome, polls=2)])
    firm = quote(api)
    transact(api, firm["quoteId"])
    poll = f"/pools/transactions/{firm['quoteId']}"
    assert api.get(poll).json()["status"] == "reserved"
    assert api.get(poll).json()["status"] == outcome
    reasons = [e["reason"] for e in api.get("/pools/ledger").json()["entries"]]
    refunded = ["buy_refund", "buy_debit", "payin_credit"]
    assert reasons == (refunded if outcome != "settled" else refunded[1:])


def test_poll_is_idempotent_on_terminal(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    firm = quote(api)
    transact(api, firm["quoteId"])
    answers = [api.get(f"/pools/transactions/{firm['quoteId']}").json() for _ in range(4)]
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["status"] == "settled"
    assert len(sim.control.events(creds.partner_id)) == 1
    assert len(sim.control.ledger(creds.partner_id)) == 2


def test_concurrent_polls_converge(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    firm = quote(api)
    transact(api, firm["quoteId"])
    statuses: list[str] = []
    barrier = threading.Barrier(8)

    def poll() -> None:
        barrier.wait(timeout=10)
        statuses.append(api.get(f"/pools/transactions/{firm['quoteId']}").json()["status"])

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert statuses == ["settled"] * 8
    assert [e.type for e in sim.control.events(creds.partner_id)] == [
        "pool.transaction.settled"]


def test_poll_surfaces_returned(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    sim.control.script_next_trades(creds.partner_id, [OutcomePlan(status="returned")])
    firm = quote(api)
    transact(api, firm["quoteId"])
    poll = f"/pools/transactions/{firm['quoteId']}"
    assert [api.get(poll).json()["status"] for _ in range(3)] == [
        "settled", "returned", "returned"]
    refunds = [e for e in sim.control.ledger(creds.partner_id) if e.reason == "buy_refund"]
    assert [(e.ref, e.delta) for e in refunds] == [(firm["quoteId"], Decimal("100.00"))]
    assert [e.type for e in sim.control.events(creds.partner_id)] == [
        "pool.transaction.settled"]  # no webhook for returned


def test_poll_without_trade_is_404(api: ContractClient) -> None:
    firm = quote(api)
    answer = api.get(f"/pools/transactions/{firm['quoteId']}")
    assert (answer.status_code, error_code(answer)) == (404, "trade_not_found")


def test_trade_read_is_pure(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    firm = quote(api)
    trade = transact(api, firm["quoteId"]).json()
    reads = [api.get(f"/pools/trades/{trade['transactId']}").json() for _ in range(3)]
    assert [read["status"] for read in reads] == ["reserved"] * 3
    assert sim.control.events(creds.partner_id) == ()
    assert api.get(f"/pools/transactions/{firm['quoteId']}").json()["status"] == "settled"
    after = api.get(f"/pools/trades/{trade['transactId']}").json()
    assert after["status"] == "settled"


# -- lists ------------------------------------------------------------------------------------


def _trades(api: ContractClient, count: int, **quote_body: Any) -> list[str]:
    return [transact(api, quote(api, **quote_body)["quoteId"]).json()["transactId"]
            for _ in range(count)]


def test_trade_list_newest_first_with_cursor(api: ContractClient) -> None:
    made = _trades(api, 5)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(5):
        page = api.get("/pools/trades", params=params).json()
        seen += [trade["transactId"] for trade in page["trades"]]
        if not page["hasMore"]:
            assert page["nextCursor"] is None
            break
        assert page["nextCursor"] == seen[-1]
        params["cursor"] = page["nextCursor"]
    assert seen == list(reversed(made))
    whole = api.get("/pools/trades").json()
    assert [t["transactId"] for t in whole["trades"]] == seen and whole["hasMore"] is False


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_trade_list_limit_bounds(api: ContractClient, limit: str) -> None:
    answer = api.get("/pools/trades", params={"limit": limit})
    assert answer.status_code == 400 and "limit" in answer.json()["message"]


def test_trade_list_filters(sim: Simulator, connect: Any) -> None:
    creds, api = connect(off_ramp_enabled=True)
    on = _trades(api, 2)
    middle = sim.control.clock().now
    sim.control.advance_clock(1)
    off = _trades(api, 1, side="off_ramp", destAddress=None)
    api.get(f"/pools/transactions/{sim.control.trade(on[0]).quote_id}")  # settles one

    def ids(**params: Any) -> list[str]:
        return [t["transactId"] for t in api.get("/pools/trades", params=params).json()["trades"]]

    assert ids(side="off_ramp") == off
    assert ids(side="on_ramp") == list(reversed(on))
    assert ids(status="settled") == [on[0]]
    assert ids(status="reserved") == off + [on[1]]
    assert ids(created_after=middle.isoformat()) == off
    assert ids(created_before=middle.isoformat()) == list(reversed(on))
    assert api.get("/pools/trades", params={"created_after": "yesterday"}).status_code == 400


def test_ledger_newest_first_with_reasons(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    sim.control.script_next_trades(creds.partner_id, [OutcomePlan(status="failed")])
    firm = quote(api)
    transact(api, firm["quoteId"])
    api.get(f"/pools/transactions/{firm['quoteId']}")
    ledger = api.get("/pools/ledger").json()
    entries = ledger["entries"]
    assert [e["reason"] for e in entries] == ["buy_refund", "buy_debit", "payin_credit"]
    assert [e["delta"] for e in entries] == ["100.00", "-100.00", "100000.00"]
    assert entries[0]["ref"] == entries[1]["ref"] == firm["quoteId"]
    assert ledger["available"] == "100000.00" and ledger["currency"] == "EUR"
    assert sum(Decimal(e["delta"]) for e in entries) == Decimal(ledger["available"])


HUGE_LIMIT = pytest.param("1" + "0" * 40, 7, id="huge")


@pytest.mark.parametrize(("limit", "count"),
                         [("0", 1), ("-3", 1), ("1", 1), ("500", 7), HUGE_LIMIT])
def test_ledger_limit_is_clamped(sim: Simulator, connect: Any, limit: str, count: int) -> None:
    creds, api = connect()
    for _ in range(6):
        sim.control.credit_balance(creds.partner_id, Decimal("1.00"))
    answer = api.get("/pools/ledger", params={"limit": limit})
    assert answer.status_code == 200
    assert len(answer.json()["entries"]) == count


def test_ledger_cursor_pages(sim: Simulator, connect: Any) -> None:
    creds, api = connect()
    for _ in range(4):
        sim.control.credit_balance(creds.partner_id, Decimal("2.50"))
    first = api.get("/pools/ledger", params={"limit": 3}).json()
    assert first["hasMore"] is True and len(first["entries"]) == 3
    rest = api.get("/pools/ledger", params={"limit": 3, "cursor": first["nextCursor"]}).json()
    assert [e["reason"] for e in rest["entries"]] == ["payin_credit"] * 2
    assert rest["hasMore"] is False and rest["nextCursor"] is None


# -- webhooks ---------------------------------------------------------------------------------


def _wait_for(receiver: Receiver, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_webhooks_three_events_once(sim: Simulator, connect: Any) -> None:
    receiver = Receiver()
    try:
        creds, api = connect(webhook_url=receiver.url)
        outcomes = ["settled", "failed", "released", "returned"]
        sim.control.script_next_trades(creds.partner_id,
                                       [OutcomePlan(status=s) for s in outcomes])
        trades = {}
        for outcome in outcomes:
            firm = quote(api)
            trades[outcome] = transact(api, firm["quoteId"]).json()
            for _ in range(3):
                api.get(f"/pools/transactions/{firm['quoteId']}")
        api.post(f"/pools/quotes/{quote(api)['quoteId']}/reject")
        _wait_for(receiver, 4)
        sim.control.wait_deliveries()
        got = receiver.received
        expected = {
            (trades[s]["transactId"], f"pool.transaction.{s}")
            for s in ("settled", "failed", "released")
        } | {(trades["returned"]["transactId"], "pool.transaction.settled")}
        import json

        bodies = [json.loads(d.body) for d in got]
        assert {(b["data"]["transactId"], b["type"]) for b in bodies} == expected
        assert len(got) == 4  # one per terminal transition; none for returned or reject
        for delivery, body in zip(got, bodies, strict=True):
            txn, kind = body["data"]["transactId"], body["type"]
            assert body["eventId"] == hashlib.sha256(f"{txn}:{kind}".encode()).hexdigest()
            assert delivery.headers["x-0bit-event-id"] == body["eventId"]
            assert delivery.headers["x-0bit-event-type"] == kind
            stamp, _, mac = delivery.headers["x-0bit-signature"].partition(",v1=")
            stamp = stamp.removeprefix("t=")
            signed = hmac.new(creds.webhook_secret.encode(), f"{stamp}.".encode() + delivery.body,
                              hashlib.sha256).hexdigest()
            assert hmac.compare_digest(signed, mac)  # over the raw body bytes
            assert abs(int(stamp) - time.time()) < 60  # real time, not the shifted clock
            assert body["data"]["ledgerRef"] == body["data"]["quoteId"]
    finally:
        receiver.close()
