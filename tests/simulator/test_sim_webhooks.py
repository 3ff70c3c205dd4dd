"""Webhook signing, delivery, retries and dead letters against a real receiver; interop."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
from sim_helpers import firm_quote, transact
from standardwebhooks.webhooks import Webhook

from conformance.simulator import PartnerSpec, Simulator, sign, verify
from conformance.simulator.webhooks import FORGE_KINDS
from conftest import Receiver, make_sim

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def settle_one(sim: Simulator, secret_key: str) -> str:
    with httpx.Client(base_url=sim.api_url,
                      headers={"Authorization": f"Bearer {secret_key}"}) as c:
        quote = firm_quote(c)
        trade = transact(c, quote["quoteId"], f"key-{quote['quoteId']}").json()
        c.get(f"/pools/transactions/{quote['quoteId']}")
    return str(trade["transactId"])


def wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_0bit_signature_exactly(receiver: Receiver) -> None:
    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        transact_id = settle_one(sim, creds.secret_key)
        wait_for(lambda: receiver.received)
        got = receiver.received[0]
        event = json.loads(got.body)
        expected_id = hashlib.sha256(f"{transact_id}:pool.transaction.settled".encode())
        assert event["eventId"] == expected_id.hexdigest()
        assert event["type"] == "pool.transaction.settled"
        assert set(event["data"]) == {"transactId", "quoteId", "poolId", "status", "fiatAmount",
                                      "cryptoAmount", "ledgerRef"}
        assert event["data"]["ledgerRef"] == event["data"]["quoteId"]
        headers = {k.lower(): v for k, v in got.headers.items()}
        ts, v1 = (part.split("=", 1)[1] for part in headers["x-0bit-signature"].split(","))
        assert headers["x-0bit-timestamp"] == ts
        assert abs(int(ts) - time.time()) < 30  # real Unix time
        mac = hmac.new(creds.webhook_secret.encode(), f"{ts}.".encode() + got.body,
                       hashlib.sha256).hexdigest()
        assert v1 == mac
        assert headers["x-0bit-event-id"] == event["eventId"]
        assert headers["x-0bit-event-type"] == event["type"]
        assert verify("0bit", creds.webhook_secret, got.body, got.headers)


def test_webhook_timestamp_is_real_even_with_clock_offset(receiver: Receiver) -> None:
    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        sim.control.advance_clock(7200)
        settle_one(sim, creds.secret_key)
        wait_for(lambda: receiver.received)
        got = receiver.received[0]
        assert verify("0bit", creds.webhook_secret, got.body, got.headers)
        created = json.loads(got.body)["createdAt"]
        assert created > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3600))


def test_retries_then_dead_letter(receiver: Receiver) -> None:
    receiver.default = 500
    with make_sim(webhook_retry_delays=(0.1, 0.2, 0.3)) as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        settle_one(sim, creds.secret_key)
        wait_for(lambda: any(a.dead_letter for a in sim.control.deliveries()))
        attempts = [a for a in sim.control.deliveries() if not a.dead_letter]
        assert [a.attempt for a in attempts] == [1, 2, 3, 4]
        assert all(a.status_code == 500 for a in attempts)
        assert len(receiver.received) == 4
        assert len({json.loads(r.body)["eventId"] for r in receiver.received}) == 1


def test_retry_stops_on_success(receiver: Receiver) -> None:
    receiver.statuses = [503, 400]
    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        settle_one(sim, creds.secret_key)
        wait_for(lambda: len(receiver.received) == 3)
        sim.control.wait_deliveries()
        assert [a.status_code for a in sim.control.deliveries()] == [503, 400, 200]
        assert not any(a.dead_letter for a in sim.control.deliveries())


def test_unreachable_receiver_records_errors() -> None:
    with make_sim(webhook_retry_delays=(0.1,)) as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url="http://127.0.0.1:9/x"))
        settle_one(sim, creds.secret_key)
        wait_for(lambda: any(a.dead_letter for a in sim.control.deliveries()))
        assert all(a.error for a in sim.control.deliveries())


def test_redeliver_same_event_id_fresh_signature(receiver: Receiver) -> None:
    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        settle_one(sim, creds.secret_key)
        wait_for(lambda: receiver.received)
        event = sim.control.events(creds.partner_id)[0]
        attempt = sim.control.redeliver(event.id)
        assert attempt.kind == "redelivery" and attempt.status_code == 200
        assert len(receiver.received) == 2
        first, second = receiver.received
        assert first.body == second.body
        assert verify("0bit", creds.webhook_secret, second.body, second.headers)


@pytest.mark.parametrize("kind", FORGE_KINDS)
def test_forgeries_do_not_verify(receiver: Receiver, kind: str) -> None:
    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        settle_one(sim, creds.secret_key)
        wait_for(lambda: receiver.received)
        event = sim.control.events(creds.partner_id)[0]
        attempt = sim.control.forge(event.id, kind)
        assert attempt.kind == kind
        forged = receiver.received[-1]
        assert not verify("0bit", creds.webhook_secret, forged.body, forged.headers)
        if kind == "tampered_body":
            assert json.loads(forged.body)["eventId"] == event.id
        with pytest.raises(ValueError):
            sim.control.forge(event.id, "nonsense")


def test_hold_and_release_reorders(receiver: Receiver) -> None:
    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        sim.control.hold_webhooks(creds.partner_id)
        first = settle_one(sim, creds.secret_key)
        second = settle_one(sim, creds.secret_key)
        assert receiver.received == []
        held = sim.control.held_events(creds.partner_id)
        assert [e.transact_id for e in held] == [first, second]
        order = sim.control.release_held(creds.partner_id, [held[1].id])
        assert order == [held[1].id, held[0].id]
        got = [json.loads(r.body)["data"]["transactId"] for r in receiver.received]
        assert got == [second, first]


def test_standard_webhooks_interop() -> None:
    body = b'{"eventId":"e1","type":"pool.transaction.settled"}'
    ts = int(time.time())
    ours = sign("standard", SECRET, body, ts, event_id="msg_1")
    theirs = Webhook(SECRET)
    assert theirs.verify(body, ours) == json.loads(body)
    from datetime import UTC, datetime

    signature = theirs.sign("msg_2", datetime.fromtimestamp(ts, UTC), body.decode())
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(ts),
               "webhook-signature": signature}
    assert verify("standard", SECRET, body, headers)
    assert not verify("standard", SECRET, body + b" ", headers)


def test_standard_scheme_delivery_verifies_with_the_library(receiver: Receiver) -> None:
    with make_sim(signature_scheme="standard") as sim:
        creds = sim.control.provision_partner(PartnerSpec(webhook_url=receiver.url))
        settle_one(sim, creds.secret_key)
        wait_for(lambda: receiver.received)
        got = receiver.received[0]
        headers = {k.lower(): v for k, v in got.headers.items()}
        payload = Webhook(creds.webhook_secret).verify(got.body, headers)
        assert payload["type"] == "pool.transaction.settled"
        assert headers["webhook-id"] == payload["eventId"]


def test_verify_rejects_stale_and_missing() -> None:
    body = b"{}"
    old = int(time.time()) - 301
    assert not verify("0bit", SECRET, body, sign("0bit", SECRET, body, old))
    assert verify("0bit", SECRET, body, sign("0bit", SECRET, body, int(time.time())))
    assert not verify("0bit", SECRET, body, {})
    assert not verify("0bit", SECRET, body, {"X-0bit-Signature": "garbage"})
    with pytest.raises(ValueError):
        sign("other", SECRET, body, 1)


def test_no_webhook_url_means_no_delivery() -> None:
    with make_sim() as sim:
        creds = sim.control.provision_partner(PartnerSpec())
        settle_one(sim, creds.secret_key)
        assert len(sim.control.events(creds.partner_id)) == 1
        assert sim.control.deliveries() == ()
