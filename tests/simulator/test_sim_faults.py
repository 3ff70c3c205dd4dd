"""Concurrency through real HTTP, and faults at the socket level: reset, delay, error."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sim_helpers import assert_envelope, firm_quote, transact

from conformance.simulator import (
    FaultMatch,
    FaultSpec,
    OutcomePlan,
    PartnerCredentials,
    PartnerSpec,
    Simulator,
)
from conftest import Receiver

TRANSACT = FaultMatch(method="POST", path="/v1/pools/*/transact")


@pytest.mark.parametrize("keys", ["same", "different", "mixed"])
async def test_200_concurrent_transacts_make_one_trade(
    sim: Simulator, creds: PartnerCredentials, client: httpx.Client, keys: str
) -> None:
    quote = firm_quote(client)
    headers = {"Authorization": f"Bearer {creds.secret_key}"}

    def key(index: int) -> str:
        if keys == "same":
            return "one-key"
        if keys == "different":
            return f"key-{index}"
        return "one-key" if index % 2 else f"key-{index}"

    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=sim.api_url, headers=headers, limits=limits,
                                 timeout=30) as ac:
        responses = await asyncio.gather(*(
            ac.post("/pools/EUR-USDT/transact", json={"quoteId": quote["quoteId"]},
                    headers={"Idempotency-Key": key(i)}) for i in range(200)))
    statuses = {r.status_code for r in responses}
    assert statuses <= {200, 409}, statuses
    trades = sim.control.trades(creds.partner_id)
    assert len(trades) == 1
    for response in responses:
        if response.status_code == 200:
            assert response.json()["transactId"] == trades[0].id
        else:
            assert response.json()["code"] == "idempotency_request_in_progress"
    debits = [e for e in sim.control.ledger(creds.partner_id) if e.reason == "buy_debit"]
    assert len(debits) == 1
    assert len([e for e in sim.control.journal() if e.path.endswith("/transact")]) == 200


async def test_concurrent_polls_make_one_transition_and_one_webhook(
    receiver: Receiver,
) -> None:
    from conftest import make_sim

    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        headers = {"Authorization": f"Bearer {creds.secret_key}"}
        with httpx.Client(base_url=sim.api_url, headers=headers) as c:
            quote = firm_quote(c)
            transact(c, quote["quoteId"])
        async with httpx.AsyncClient(base_url=sim.api_url, headers=headers, timeout=30,
                                     limits=httpx.Limits(max_connections=100)) as ac:
            polls = await asyncio.gather(*(
                ac.get(f"/pools/transactions/{quote['quoteId']}") for _ in range(100)))
        assert {p.json()["status"] for p in polls} == {"settled"}
        sim.control.wait_deliveries()
        assert len(sim.control.events(creds.partner_id)) == 1
        assert len(receiver.received) == 1
        refunds = [e for e in sim.control.ledger(creds.partner_id) if e.reason != "payin_credit"]
        assert len(refunds) == 1
        assert not sim.bugs


def test_reset_after_commit_is_a_transport_error(sim: Simulator, creds: PartnerCredentials,
                                                 client: httpx.Client) -> None:
    sim.control.inject_fault(FaultSpec(match=TRANSACT, action="reset_after_commit"))
    quote = firm_quote(client)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        transact(client, quote["quoteId"], "k-reset")
    trades = sim.control.trades(creds.partner_id)
    assert len(trades) == 1 and trades[0].quote_id == quote["quoteId"]
    entry = sim.control.journal()[-1]
    assert entry.reset is True and entry.fault == "reset_after_commit"
    retry = transact(client, quote["quoteId"], "k-reset")
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["transactId"] == trades[0].id
    # the fault was used once: the next request is answered normally
    assert client.get("/pools").status_code == 200


def test_delay_keeps_the_quote_in_flight(sim: Simulator, creds: PartnerCredentials) -> None:
    sim.control.inject_fault(FaultSpec(match=TRANSACT, action="delay", delay_seconds=1.5))
    headers = {"Authorization": f"Bearer {creds.secret_key}"}
    with httpx.Client(base_url=sim.api_url, headers=headers, timeout=10) as client:
        quote = firm_quote(client)
        with httpx.Client(base_url=sim.api_url, headers=headers, timeout=0.3) as impatient:
            with pytest.raises(httpx.ReadTimeout):
                transact(impatient, quote["quoteId"], "k-delay")
        for key in ("k-delay", "another-key"):
            assert_envelope(transact(client, quote["quoteId"], key), 409,
                            "idempotency_request_in_progress")
        deadline = time.monotonic() + 5
        while True:
            retry = transact(client, quote["quoteId"], "k-delay")
            if retry.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert len(sim.control.trades(creds.partner_id)) == 1


@pytest.mark.parametrize(("status", "code", "retry_after"), [
    (503, "api_error", None), (500, "api_error", None), (409, "idempotency_key_reused", None),
    (429, "rate_limited", 7),
])
def test_error_fault_commits_nothing(sim: Simulator, creds: PartnerCredentials,
                                     client: httpx.Client, status: int, code: str,
                                     retry_after: int | None) -> None:
    sim.control.inject_fault(FaultSpec(match=TRANSACT, action="error", status=status, code=code,
                                       retry_after=retry_after))
    quote = firm_quote(client)
    response = transact(client, quote["quoteId"], "k-err")
    body = assert_envelope(response, status, code)
    if status >= 500:
        assert body["type"] == "api_error"
    if retry_after:
        assert response.headers["retry-after"] == str(retry_after)
    assert sim.control.trades(creds.partner_id) == ()
    assert sim.control.journal()[-1].fault == f"error:{status}:{code}"
    assert transact(client, quote["quoteId"], "k-err").status_code == 200
    assert not sim.bugs or status >= 500  # an injected 5xx is not a bug


def test_fault_matches_partner_and_times(sim: Simulator, creds: PartnerCredentials,
                                         client: httpx.Client) -> None:
    other = sim.control.provision_partner(PartnerSpec(name="other"))
    match = FaultMatch(path="/v1/pools", partner_id=other.partner_id)
    sim.control.inject_fault(FaultSpec(match=match, action="error", times=2))
    assert client.get("/pools").status_code == 200
    with httpx.Client(base_url=sim.api_url,
                      headers={"Authorization": f"Bearer {other.secret_key}"}) as c:
        assert [c.get("/pools").status_code for _ in range(3)] == [503, 503, 200]
    assert sim.control.faults() == ()


def test_fault_matches_one_quote(sim: Simulator, creds: PartnerCredentials,
                                 client: httpx.Client) -> None:
    target, other = firm_quote(client)["quoteId"], firm_quote(client)["quoteId"]
    sim.control.inject_fault(FaultSpec(match=FaultMatch(quote_id=target), action="error",
                                       status=409, code="idempotency_request_in_progress",
                                       times=2))
    assert transact(client, other, "k-other").status_code == 200
    assert client.get(f"/pools/transactions/{other}").status_code == 200
    assert_envelope(transact(client, target, "k-target"), 409, "idempotency_request_in_progress")
    assert_envelope(client.get(f"/pools/quotes/{target}"), 409,
                    "idempotency_request_in_progress")
    assert transact(client, target, "k-target").status_code == 200
    assert sim.control.faults() == ()


def test_one_fault_is_removed_before_it_is_used_up(sim: Simulator, creds: PartnerCredentials,
                                                   client: httpx.Client) -> None:
    kept = sim.control.inject_fault(FaultSpec(match=FaultMatch(path="/v1/pools/ledger"),
                                              action="error", times=5))
    gone = sim.control.inject_fault(FaultSpec(match=FaultMatch(path="/v1/pools"),
                                              action="error", times=5))
    assert sim.control.remove_fault(gone) is True
    assert sim.control.remove_fault(gone) is False  # removed already
    assert client.get("/pools").status_code == 200
    assert [f.id for f in sim.control.faults()] == [kept]
    assert client.get("/pools/ledger").status_code == 503


def test_webhook_before_response(receiver: Receiver) -> None:
    from conftest import make_sim

    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        sim.control.script_next_trades(creds.partner_id, [OutcomePlan(status="reserved")])
        sim.control.inject_fault(FaultSpec(match=TRANSACT, action="webhook_before_response"))
        with httpx.Client(base_url=sim.api_url,
                          headers={"Authorization": f"Bearer {creds.secret_key}"}) as c:
            quote = firm_quote(c)
            response = transact(c, quote["quoteId"])
            assert len(receiver.received) == 1  # delivered and answered before the response
            trade = response.json()
        import json

        event = json.loads(receiver.received[0].body)
        assert event["type"] == "pool.transaction.settled"
        assert event["data"]["transactId"] == trade["transactId"]
        assert sim.control.trade(trade["transactId"]).status == "settled"
        assert not sim.bugs
