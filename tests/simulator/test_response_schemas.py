"""Drive every documented (operation, status) pair over real HTTP and validate every body.

Each answer is checked by ``ContractClient`` against the OpenAPI response schema for its
status and against the shipped ``api/*.json`` schema; the test then proves that no
documented pair was left undriven, so a status the simulator cannot produce shows up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from _contract import Contract, ContractClient, Receiver

from conformance.schemas import validator
from conformance.simulator import FaultMatch, FaultSpec, PartnerSpec, Simulator, SimulatorSettings
from conformance.simulator.models import OutcomePlan

POOL = "EUR-USDT"
DEST = "TXYZexampleAddress000000000000000"
FIRM = {"side": "on_ramp", "amount": "100.00", "destAddress": DEST}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorSettings()) as simulator:
        yield simulator
        assert simulator.bugs == (), simulator.bugs


def documented_pairs(document: dict[str, Any]) -> set[tuple[str, int]]:
    return {
        (operation["operationId"], int(status))
        for item in document["paths"].values()
        for operation in item.values()
        for status in operation["responses"]
        if status.isdigit()
    }


def test_every_documented_answer_conforms(sim: Simulator) -> None:
    contract = Contract()
    seen: set[tuple[str, int]] = set()
    clients: list[ContractClient] = []
    control = sim.control

    def partner(**spec: Any) -> tuple[Any, ContractClient]:
        creds = control.provision_partner(PartnerSpec(**spec))
        client = ContractClient(sim.api_url, creds.secret_key, contract, seen)
        clients.append(client)
        return creds, client

    def key(value: str) -> dict[str, str]:
        return {"Idempotency-Key": value}

    try:
        creds, api = partner(velocity_cap=Decimal("250"))
        _, denied = partner(enabled=False)
        _, poor = partner(initial_balance=Decimal("50"))
        _, stranger = partner(pools=("EUR-USDC",))

        # 200s (firm, indicative, unavailable quotes; every read; the poll; a reject)
        api.get("/pools")
        api.get(f"/pools/{POOL}/capabilities")
        api.get(f"/pools/{POOL}/balance")
        api.get("/pools/funding")
        api.post(f"/pools/{POOL}/quote", json={**FIRM, "type": "indicative"})
        control.make_next_quote_unavailable(creds.partner_id, "engine_unavailable")
        api.post(f"/pools/{POOL}/quote", json=FIRM)
        firm = api.post(f"/pools/{POOL}/quote", json=FIRM).json()
        api.get(f"/pools/quotes/{firm['quoteId']}")
        trade = api.post(f"/pools/{POOL}/transact", json={"quoteId": firm["quoteId"]},
                         headers=key("a")).json()
        api.get(f"/pools/transactions/{firm['quoteId']}")
        api.get(f"/pools/trades/{trade['transactId']}")
        api.get("/pools/trades", params={"limit": 1})
        api.get("/pools/ledger", params={"limit": 2})
        spare = api.post(f"/pools/{POOL}/quote", json=FIRM).json()
        api.post(f"/pools/quotes/{spare['quoteId']}/reject")

        # 400s
        api.get("/pools/funding", params={"currency": "GBP"})
        api.post(f"/pools/{POOL}/quote", json={"side": "on_ramp"})
        api.post(f"/pools/{POOL}/transact", json={"quoteId": firm["quoteId"]})
        api.get("/pools/trades", params={"limit": 0})
        api.get("/pools/ledger", params={"currency": "USD"})

        # 401 and 403 on every operation
        paths = {
            "listPools": ("GET", "/pools"),
            "getCapabilities": ("GET", f"/pools/{POOL}/capabilities"),
            "getBalance": ("GET", f"/pools/{POOL}/balance"),
            "getFunding": ("GET", "/pools/funding"),
            "createQuote": ("POST", f"/pools/{POOL}/quote"),
            "getQuote": ("GET", f"/pools/quotes/{firm['quoteId']}"),
            "rejectQuote": ("POST", f"/pools/quotes/{firm['quoteId']}/reject"),
            "transact": ("POST", f"/pools/{POOL}/transact"),
            "getTransactionByQuote": ("GET", f"/pools/transactions/{firm['quoteId']}"),
            "getTrade": ("GET", f"/pools/trades/{trade['transactId']}"),
            "listTrades": ("GET", "/pools/trades"),
            "listLedger": ("GET", "/pools/ledger"),
        }
        for operation, (method, path) in paths.items():
            api.request(method, path, key="sk_test_not_a_key")
            forbidden = "sk_live_nope" if operation == "listPools" else creds.publishable_key
            api.request(method, path, key=forbidden, json=FIRM, headers=key("b"))
        denied.get(f"/pools/{POOL}/capabilities")
        denied.get(f"/pools/{POOL}/balance")
        denied.post(f"/pools/{POOL}/quote", json=FIRM)
        denied.post(f"/pools/{POOL}/transact", json={"quoteId": "pq_x"}, headers=key("c"))

        # 404s: cross-tenant and unknown
        stranger.get(f"/pools/{POOL}/capabilities")
        stranger.get(f"/pools/{POOL}/balance")
        stranger.post(f"/pools/{POOL}/quote", json=FIRM)
        stranger.get(f"/pools/quotes/{firm['quoteId']}")
        stranger.post(f"/pools/quotes/{spare['quoteId']}/reject")
        stranger.post("/pools/EUR-USDC/transact", json={"quoteId": spare["quoteId"]},
                      headers=key("d"))
        stranger.get(f"/pools/transactions/{firm['quoteId']}")
        stranger.get(f"/pools/trades/{trade['transactId']}")

        # 402, 409, 429, 501 on transact; 409 on reject
        poor_quote = poor.post(f"/pools/{POOL}/quote", json=FIRM).json()
        poor.post(f"/pools/{POOL}/transact", json={"quoteId": poor_quote["quoteId"]},
                  headers=key("e"))
        api.post(f"/pools/quotes/{spare['quoteId']}/reject")
        api.post(f"/pools/{POOL}/transact", json={"quoteId": spare["quoteId"]}, headers=key("a"))
        second = api.post(f"/pools/{POOL}/quote", json=FIRM).json()
        api.post(f"/pools/{POOL}/transact", json={"quoteId": second["quoteId"]},
                 headers=key("f"))
        third = api.post(f"/pools/{POOL}/quote", json=FIRM).json()
        capped = api.post(f"/pools/{POOL}/transact", json={"quoteId": third["quoteId"]},
                          headers=key("g"))
        assert capped.status_code == 429
        off = api.post(f"/pools/{POOL}/quote", json={"side": "off_ramp", "amount": "20.00"})
        api.post(f"/pools/{POOL}/transact", json={"quoteId": off.json()["quoteId"]},
                 headers=key("h"))

        # 5XX: an injected provider failure still answers the envelope with X-Request-Id
        control.inject_fault(FaultSpec(match=FaultMatch(method="GET", path="/v1/pools"),
                                       action="error", status=503, code="api_error"))
        failed = api.get("/pools")
        assert failed.status_code == 503 and failed.json()["type"] == "api_error"
    finally:
        control.clear_faults()
        for client in clients:
            client.close()

    missing = documented_pairs(contract.document) - seen
    assert missing == set()


def test_webhook_bodies_conform(sim: Simulator) -> None:
    receiver = Receiver()
    try:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        sim.control.script_next_trades(creds.partner_id, [
            OutcomePlan(status="settled"), OutcomePlan(status="failed"),
            OutcomePlan(status="released")])
        client = ContractClient(sim.api_url, creds.secret_key, Contract())
        for index in range(3):
            firm = client.post(f"/pools/{POOL}/quote", json=FIRM).json()
            client.post(f"/pools/{POOL}/transact", json={"quoteId": firm["quoteId"]},
                        headers={"Idempotency-Key": f"w{index}"})
            client.get(f"/pools/transactions/{firm['quoteId']}")
        client.close()
        sim.control.wait_deliveries()
        bodies = [json.loads(delivery.body) for delivery in receiver.received]
        assert sorted(body["type"] for body in bodies) == [
            "pool.transaction.failed", "pool.transaction.released", "pool.transaction.settled"]
        for body in bodies:
            validator("api/event").validate(body)
        for event in sim.control.events(creds.partner_id):
            validator("api/event").validate(event.to_json())
    finally:
        receiver.close()


@pytest.mark.parametrize(
    ("name", "instance"),
    [
        pytest.param("api/error", {"type": "forbidden", "code": "x", "message": "m",
                                   "request_id": "req_1", "doc_url": None, "statusCode": 404},
                     id="type-not-matching-status"),
        pytest.param("api/trade_list", {"trades": [], "nextCursor": "txn_1", "hasMore": False},
                     id="cursor-without-more"),
        pytest.param("api/quote_unavailable", {"available": False, "unavailableReason": "x"},
                     id="unknown-reason"),
        pytest.param("api/ledger_entry", {"id": "le_1", "delta": "1e3", "reason": "payin_credit",
                                          "ref": "r", "transactId": None, "currency": "EUR",
                                          "balanceAfter": "1.00",
                                          "createdAt": "2026-01-01T00:00:00.000Z"},
                     id="exponent-money"),
    ],
)
def test_schemas_refuse_what_the_contract_forbids(name: str, instance: dict[str, Any]) -> None:
    assert not validator(name).is_valid(instance)
