"""The 12 operations over real HTTP: documented behaviour and every DESIGN §2 error case."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sim_helpers import DEST, assert_envelope, firm_quote, transact

from conformance.simulator import OutcomePlan, PartnerCredentials, PartnerSpec, Simulator


def test_list_pools_with_secret_and_publishable_keys(
    sim: Simulator, creds: PartnerCredentials, client: httpx.Client
) -> None:
    body = client.get("/pools").json()
    assert [p["id"] for p in body["pools"]] == ["EUR-USDT", "EUR-USDC"]
    assert body["pools"][0] == {"id": "EUR-USDT", "pair": "EUR/USDT", "fiatCurrency": "EUR",
                                "cryptoCurrency": "USDT", "available": True}
    pk = httpx.get(f"{sim.api_url}/pools",
                   headers={"Authorization": f"Bearer {creds.publishable_key}"})
    assert pk.status_code == 200 and pk.json() == body
    assert pk.headers["x-request-id"].startswith("req_")


def test_only_entitled_pools_are_listed(sim: Simulator) -> None:
    other = sim.control.provision_partner(PartnerSpec(pools=("EUR-USDC",)))
    with httpx.Client(base_url=sim.api_url,
                      headers={"Authorization": f"Bearer {other.secret_key}"}) as c:
        assert [p["id"] for p in c.get("/pools").json()["pools"]] == ["EUR-USDC"]
        assert_envelope(c.get("/pools/EUR-USDT/capabilities"), 404, "pool_not_found")


@pytest.mark.parametrize("path", ["/pools/EUR-USDT/capabilities", "/pools/EUR-USDT/balance",
                                  "/pools/funding", "/pools/trades", "/pools/ledger",
                                  "/pools/quotes/pq_test_x", "/pools/trades/txn_test_x",
                                  "/pools/transactions/pq_test_x"])
def test_publishable_key_refused_off_list_pools(
    sim: Simulator, creds: PartnerCredentials, path: str
) -> None:
    response = httpx.get(f"{sim.api_url}{path}",
                         headers={"Authorization": f"Bearer {creds.publishable_key}"})
    assert_envelope(response, 403, "publishable_key_not_allowed")
    assert sim.control.journal()[-1].key_kind == "publishable"


def test_publishable_key_cannot_quote(sim: Simulator, creds: PartnerCredentials) -> None:
    response = httpx.post(f"{sim.api_url}/pools/EUR-USDT/quote", json={},
                          headers={"Authorization": f"Bearer {creds.publishable_key}"})
    assert_envelope(response, 403, "publishable_key_not_allowed")


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer sk_test_unknown", "Basic abc",
                                    "Bearer pk_test_nope"])
def test_missing_or_unknown_key_is_401(sim: Simulator, creds: PartnerCredentials,
                                       header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = httpx.get(f"{sim.api_url}/pools", headers=headers)
    body = assert_envelope(response, 401, "unauthorized")
    assert body["type"] == "unauthorized"
    entry = sim.control.journal()[-1]
    assert entry.status == 401 and entry.partner_id is None
    assert entry.request_id == response.headers["x-request-id"]


@pytest.mark.parametrize("key", ["sk_live_abcdef123", "pk_live_abcdef123"])
def test_live_keys_are_key_mode_mismatch(sim: Simulator, key: str) -> None:
    response = httpx.get(f"{sim.api_url}/pools", headers={"Authorization": f"Bearer {key}"})
    body = assert_envelope(response, 403, "key_mode_mismatch")
    assert body["type"] == "forbidden"
    assert sim.control.journal()[-1].key_kind == "live"


def test_control_token_is_401_on_v1(sim: Simulator) -> None:
    response = httpx.get(f"{sim.api_url}/pools",
                         headers={"Authorization": f"Bearer {sim.control_token}"})
    assert_envelope(response, 401, "unauthorized")
    entry = sim.control.journal()[-1]
    assert entry.key_kind == "control"
    assert sim.control_token not in str(entry.to_json())


def test_capabilities_balance_funding(client: httpx.Client) -> None:
    caps = client.get("/pools/EUR-USDT/capabilities").json()
    assert caps == {
        "poolId": "EUR-USDT", "pair": "EUR/USDT", "fiatCurrency": "EUR",
        "cryptoCurrency": "USDT", "supportedNetworks": ["tron", "ethereum", "polygon"],
        "sides": ["on_ramp", "off_ramp"], "tier": "standard", "drawFeeBps": 30,
        "spreadCapBps": 50, "minOrderUsdt": "10", "maxOrderUsdt": "50000",
    }
    balance = client.get("/pools/EUR-USDT/balance").json()
    assert balance["balance"] == "100000.00" and balance["available"] is True
    assert balance["allowedPools"] == ["EUR-USDT", "EUR-USDC"] and balance["tier"] == "standard"
    funding = client.get("/pools/funding").json()
    assert funding["currency"] == "EUR" and funding["iban"] and funding["reference"]
    assert client.get("/pools/funding", params={"currency": "EUR"}).status_code == 200
    body = assert_envelope(client.get("/pools/funding", params={"currency": "USD"}), 400,
                           "invalid_request")
    assert "only EUR funding is supported" in str(body["message"])


def test_balance_is_null_with_the_gate_off(sim: Simulator, creds: PartnerCredentials,
                                           client: httpx.Client) -> None:
    sim.control.update_partner(creds.partner_id, balance_gate=False)
    assert client.get("/pools/EUR-USDT/balance").json()["balance"] is None


@pytest.mark.parametrize(("fields", "code"), [
    ({"enabled": False}, "pools_not_enabled"),
    ({"status": "suspended"}, "pool_access_suspended"),
    ({"kyc_status": "pending"}, "kyc_not_approved"),
    ({"allowed_pools": ("EUR-USDC",)}, "pool_not_allowed"),
])
def test_entitlement_denials(sim: Simulator, creds: PartnerCredentials, client: httpx.Client,
                             fields: dict[str, object], code: str) -> None:
    quote = firm_quote(client)
    sim.control.update_partner(creds.partner_id, **fields)
    for response in (
        client.get("/pools/EUR-USDT/capabilities"),
        client.get("/pools/EUR-USDT/balance"),
        client.post("/pools/EUR-USDT/quote", json={"side": "on_ramp", "amount": "100"}),
        transact(client, quote["quoteId"]),
    ):
        assert_envelope(response, 403, code)
    assert sim.control.trades(creds.partner_id) == ()


def test_firm_quote_fields_and_pricing(client: httpx.Client) -> None:
    quote = firm_quote(client, "100.00")
    assert quote["available"] is True and quote["type"] == "firm" and quote["executable"] is True
    assert str(quote["quoteId"]).startswith("pq_test_")
    assert quote["spreadBps"] == 25 and quote["feeBps"] == 30 and quote["totalBps"] == 55
    rate = Decimal(str(quote["rate"]))
    assert rate == (Decimal("1.0850") * Decimal("0.9945")).quantize(Decimal("0.000001"))
    assert quote["cryptoAmount"] == str((Decimal("100") * rate).quantize(Decimal("0.000001")))
    assert quote["fiatAmount"] == "100.00" and quote["cryptoNetwork"] == "tron"
    assert quote["status"] == "active" and quote["expiresAt"] > quote["createdAt"]


def test_quote_in_crypto_currency(client: httpx.Client) -> None:
    quote = firm_quote(client, "50.123456", currency="USDT")
    assert quote["cryptoAmount"] == "50.123456"
    assert Decimal(str(quote["fiatAmount"])) > 0


def test_indicative_quote_has_no_id(sim: Simulator, creds: PartnerCredentials,
                                    client: httpx.Client) -> None:
    body = client.post("/pools/EUR-USDT/quote",
                       json={"side": "on_ramp", "amount": "20", "type": "indicative"}).json()
    assert body["type"] == "indicative" and body["executable"] is False
    assert "quoteId" not in body and "expiresAt" not in body
    assert set(body) >= {"available", "rate", "spreadBps", "feeBps", "totalBps"}
    assert sim.control.quotes(creds.partner_id) == ()


@pytest.mark.parametrize("reason", ["pool_dry", "engine_unavailable", "rate_unavailable"])
def test_fail_soft_quote(sim: Simulator, creds: PartnerCredentials, client: httpx.Client,
                         reason: str) -> None:
    sim.control.make_next_quote_unavailable(creds.partner_id, reason)
    response = client.post("/pools/EUR-USDT/quote",
                           json={"side": "on_ramp", "amount": "100", "destAddress": DEST})
    assert response.status_code == 200
    body = response.json()
    assert body["available"] is False and body["unavailableReason"] == reason
    assert "quoteId" not in body
    assert firm_quote(client)["available"] is True  # only the next quote


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "100", "destAddress": DEST}, "side"),
    ({"side": "sideways", "amount": "100", "destAddress": DEST}, "side"),
    ({"side": "on_ramp", "destAddress": DEST}, "amount"),
    ({"side": "on_ramp", "amount": 100.5, "destAddress": DEST}, "amount"),
    ({"side": "on_ramp", "amount": 100, "destAddress": DEST}, "amount"),
    ({"side": "on_ramp", "amount": "100.123", "destAddress": DEST}, "amount"),
    ({"side": "on_ramp", "amount": "-5", "destAddress": DEST}, "amount"),
    ({"side": "on_ramp", "amount": "1e3", "destAddress": DEST}, "amount"),
    ({"side": "on_ramp", "amount": "1", "destAddress": DEST}, "amount"),
    ({"side": "on_ramp", "amount": "999999", "destAddress": DEST}, "amount"),
    ({"side": "on_ramp", "amount": "100"}, "destAddress"),
    ({"side": "on_ramp", "amount": "100", "destAddress": "has space"}, "destAddress"),
    ({"side": "on_ramp", "amount": "100", "destAddress": "x" * 129}, "destAddress"),
    ({"side": "on_ramp", "amount": "100", "destAddress": DEST, "cryptoNetwork": "bitcoin"},
     "cryptoNetwork"),
    ({"side": "on_ramp", "amount": "100", "destAddress": DEST, "currency": "GBP"}, "currency"),
    ({"side": "on_ramp", "amount": "100", "destAddress": DEST, "fiatCurrency": "GBP"},
     "fiatCurrency"),
    ({"side": "on_ramp", "amount": "100", "destAddress": DEST, "cryptoCurrency": "USDC"},
     "cryptoCurrency"),
    ({"side": "on_ramp", "amount": "100", "destAddress": DEST, "type": "soft"}, "type"),
    ({"side": "on_ramp", "amount": "100", "destAddress": DEST, "bogus": 1}, "bogus"),
    ({"side": 7, "amount": "100", "destAddress": DEST}, "side"),
])
def test_quote_validation_names_the_field(sim: Simulator, client: httpx.Client,
                                          body: dict[str, object], field: str) -> None:
    response = client.post("/pools/EUR-USDT/quote", json=body)
    message = str(assert_envelope(response, 400, "invalid_request")["message"])
    assert message.startswith(f"{field}:"), message
    assert sim.control.journal()[-1].status == 400


def test_quote_limits_are_inclusive_in_usdt(client: httpx.Client) -> None:
    assert firm_quote(client, "10", currency="USDT")["available"] is True
    assert firm_quote(client, "50000", currency="USDT")["available"] is True
    response = client.post("/pools/EUR-USDT/quote", json={
        "side": "on_ramp", "amount": "9.999999", "currency": "USDT", "destAddress": DEST})
    assert_envelope(response, 400, "invalid_request")


def test_unknown_fields_can_be_ignored(creds: PartnerCredentials) -> None:
    from conftest import make_sim

    with make_sim(unknown_fields="ignore") as sim2:
        c = sim2.control.provision_partner(PartnerSpec())
        response = httpx.post(f"{sim2.api_url}/pools/EUR-USDT/quote",
                              headers={"Authorization": f"Bearer {c.secret_key}"},
                              json={"side": "on_ramp", "amount": "100", "destAddress": DEST,
                                    "extra": True})
        assert response.status_code == 200
        quote_id = response.json()["quoteId"]
        assert sim2.control.journal()[-1].notes == (
            "ignored unknown field extra",
            f"created quote {quote_id}",
        )


def test_quote_read_is_pure_and_status_precedence(sim: Simulator, client: httpx.Client) -> None:
    quote = firm_quote(client)
    qid = quote["quoteId"]
    first = client.get(f"/pools/quotes/{qid}").json()
    assert first == client.get(f"/pools/quotes/{qid}").json()
    assert first["status"] == "active"
    assert transact(client, qid).status_code == 200
    assert client.get(f"/pools/quotes/{qid}").json()["status"] == "consumed"
    other = firm_quote(client)
    sim.control.advance_clock(60)
    assert client.get(f"/pools/quotes/{qid}").json()["status"] == "consumed"
    assert client.get(f"/pools/quotes/{other['quoteId']}").json()["status"] == "expired"
    assert_envelope(client.get("/pools/quotes/pq_test_nope"), 404, "quote_not_found")


def test_reject_is_compare_and_swap(sim: Simulator, client: httpx.Client) -> None:
    quote = firm_quote(client)
    qid = quote["quoteId"]
    rejected = client.post(f"/pools/quotes/{qid}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert_envelope(client.post(f"/pools/quotes/{qid}/reject"), 409, "quote_rejected")
    assert_envelope(transact(client, qid), 409, "quote_rejected")
    consumed = firm_quote(client)["quoteId"]
    assert transact(client, consumed, "k-consumed").status_code == 200
    assert_envelope(client.post(f"/pools/quotes/{consumed}/reject"), 409, "quote_consumed")
    expired = firm_quote(client)["quoteId"]
    sim.control.advance_clock(16)
    assert_envelope(client.post(f"/pools/quotes/{expired}/reject"), 409, "quote_expired")
    # rejected wins over expired in the derived status
    assert client.get(f"/pools/quotes/{qid}").json()["status"] == "rejected"


def test_transact_creates_reserved_trade_and_debit(sim: Simulator, creds: PartnerCredentials,
                                                   client: httpx.Client) -> None:
    quote = firm_quote(client, "16.40")
    response = transact(client, quote["quoteId"])
    trade = response.json()
    assert response.status_code == 200 and trade["status"] == "reserved"
    assert str(trade["transactId"]).startswith("txn_test_")
    assert set(trade) >= {"transactId", "quoteId", "poolId", "side", "status", "fiatAmount",
                          "cryptoAmount", "rate", "cryptoNetwork", "destAddress", "createdAt",
                          "updatedAt"}
    ledger = client.get("/pools/ledger").json()
    assert ledger["entries"][0]["reason"] == "buy_debit"
    assert ledger["entries"][0]["delta"] == "-16.40"
    assert ledger["entries"][0]["ref"] == quote["quoteId"]
    assert ledger["available"] == "99983.60"
    assert sim.control.balance(creds.partner_id) == Decimal("99983.60")


def test_transact_replay_and_conflicts(sim: Simulator, client: httpx.Client) -> None:
    quote = firm_quote(client)
    first = transact(client, quote["quoteId"], "key-a")
    again = transact(client, quote["quoteId"], "key-a")
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert sim.control.journal()[-1].replayed is True
    other = firm_quote(client)
    assert_envelope(transact(client, other["quoteId"], "key-a"), 409, "idempotency_key_reused")
    new_key = transact(client, quote["quoteId"], "key-b")
    assert new_key.status_code == 200
    assert new_key.json()["transactId"] == first.json()["transactId"]
    assert len(sim.control.trades()) == 1


def test_transact_consumed_strict_setting() -> None:
    from conftest import make_sim

    with make_sim(consumed_quote_new_key="strict") as strict:
        c = strict.control.provision_partner(PartnerSpec())
        with httpx.Client(base_url=strict.api_url,
                          headers={"Authorization": f"Bearer {c.secret_key}"}) as cl:
            qid = firm_quote(cl)["quoteId"]
            assert transact(cl, qid, "a").status_code == 200
            assert_envelope(transact(cl, qid, "b"), 409, "quote_consumed")
            assert transact(cl, qid, "a").status_code == 200


def test_idempotency_keys_live_24_hours_of_simulator_time(
    sim: Simulator, client: httpx.Client
) -> None:
    first = firm_quote(client)["quoteId"]
    assert transact(client, first, "kept").status_code == 200
    sim.control.advance_clock(24 * 3600 - 1)
    replay = transact(client, first, "kept")
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert_envelope(transact(client, firm_quote(client)["quoteId"], "kept"), 409,
                    "idempotency_key_reused")
    sim.control.advance_clock(1)
    fresh = transact(client, firm_quote(client)["quoteId"], "kept")
    assert fresh.status_code == 200 and "idempotent-replayed" not in fresh.headers
    assert len(sim.control.trades()) == 2


def test_transact_errors(sim: Simulator, creds: PartnerCredentials,
                         client: httpx.Client) -> None:
    quote = firm_quote(client)
    qid = quote["quoteId"]
    no_key = client.post("/pools/EUR-USDT/transact", json={"quoteId": qid})
    assert_envelope(no_key, 400, "idempotency_key_required")
    assert_envelope(transact(client, "pq_test_unknown"), 404, "quote_not_found")
    assert_envelope(transact(client, qid, pool="EUR-USDC"), 404, "quote_not_found")
    extra = client.post("/pools/EUR-USDT/transact", json={"quoteId": qid, "amount": "1"},
                        headers={"Idempotency-Key": "x1"})
    assert str(assert_envelope(extra, 400, "invalid_request")["message"]).startswith("amount:")
    wrong = client.post("/pools/EUR-USDT/transact", json={"quoteId": 5},
                        headers={"Idempotency-Key": "x2"})
    assert str(assert_envelope(wrong, 400, "invalid_request")["message"]).startswith("quoteId:")
    sim.control.advance_clock(15)
    assert_envelope(transact(client, qid, "x3"), 409, "quote_expired")
    assert sim.control.trades() == ()


def test_transact_insufficient_balance(sim: Simulator, creds: PartnerCredentials,
                                       client: httpx.Client) -> None:
    sim.control.update_partner(creds.partner_id, max_order_usdt=None)
    quote = firm_quote(client, "200000.00")
    assert_envelope(transact(client, quote["quoteId"]), 402, "insufficient_balance")
    sim.control.update_partner(creds.partner_id, balance_gate=False)
    assert transact(client, quote["quoteId"], "k2").status_code == 200
    assert sim.control.balance(creds.partner_id) == Decimal("-100000.00")


def test_transact_velocity_cap(sim: Simulator, creds: PartnerCredentials,
                               client: httpx.Client) -> None:
    sim.control.update_partner(creds.partner_id, velocity_cap=Decimal("300"))
    assert transact(client, firm_quote(client, "200")["quoteId"], "v1").status_code == 200
    refused = transact(client, firm_quote(client, "100")["quoteId"], "v2")
    assert_envelope(refused, 429, "velocity_cap_exceeded")
    assert 1 <= int(refused.headers["retry-after"]) <= 86400
    sim.control.advance_clock(86400)
    assert transact(client, firm_quote(client, "100")["quoteId"], "v3").status_code == 200


def test_off_ramp_transact_is_501_until_enabled(sim: Simulator, creds: PartnerCredentials,
                                                client: httpx.Client) -> None:
    quote = client.post("/pools/EUR-USDT/quote",
                        json={"side": "off_ramp", "amount": "100"}).json()
    assert quote["side"] == "off_ramp"
    assert_envelope(transact(client, quote["quoteId"]), 501, "off_ramp_not_enabled")
    sim.control.update_partner(creds.partner_id, off_ramp_enabled=True)
    assert transact(client, quote["quoteId"], "k2").json()["status"] == "reserved"


def test_poll_advances_and_converges(sim: Simulator, creds: PartnerCredentials,
                                     client: httpx.Client) -> None:
    sim.control.script_next_trades(creds.partner_id, [OutcomePlan(status="settled", polls=2)])
    quote = firm_quote(client)
    trade = transact(client, quote["quoteId"]).json()
    poll = f"/pools/transactions/{quote['quoteId']}"
    assert client.get(f"/pools/trades/{trade['transactId']}").json()["status"] == "reserved"
    assert client.get(poll).json()["status"] == "reserved"
    # reads never advance
    for _ in range(3):
        assert client.get(f"/pools/trades/{trade['transactId']}").json()["status"] == "reserved"
    assert client.get(poll).json()["status"] == "settled"
    assert client.get(poll).json()["status"] == "settled"
    assert len(sim.control.events(creds.partner_id)) == 1
    reasons = [e.reason for e in sim.control.ledger(creds.partner_id)]
    assert reasons == ["payin_credit", "buy_debit"]


@pytest.mark.parametrize("status", ["failed", "released"])
def test_failed_and_released_refund(sim: Simulator, creds: PartnerCredentials,
                                    client: httpx.Client, status: str) -> None:
    sim.control.script_next_trades(creds.partner_id, [OutcomePlan(status=status)])
    quote = firm_quote(client, "19.99")
    transact(client, quote["quoteId"])
    assert client.get(f"/pools/transactions/{quote['quoteId']}").json()["status"] == status
    entries = client.get("/pools/ledger").json()["entries"]
    assert [e["reason"] for e in entries[:2]] == ["buy_refund", "buy_debit"]
    assert entries[0]["delta"] == "19.99" and entries[0]["ref"] == quote["quoteId"]
    assert sim.control.balance(creds.partner_id) == Decimal("100000.00")
    event = sim.control.events(creds.partner_id)[0]
    assert event.type == f"pool.transaction.{status}"


def test_returned_follows_settled(sim: Simulator, creds: PartnerCredentials,
                                  client: httpx.Client) -> None:
    sim.control.script_next_trades(creds.partner_id, [OutcomePlan(status="returned")])
    quote = firm_quote(client, "10.20")
    transact(client, quote["quoteId"])
    poll = f"/pools/transactions/{quote['quoteId']}"
    assert client.get(poll).json()["status"] == "settled"
    assert client.get(poll).json()["status"] == "returned"
    assert client.get(poll).json()["status"] == "returned"
    reasons = [e.reason for e in sim.control.ledger(creds.partner_id)]
    assert reasons == ["payin_credit", "buy_debit", "buy_refund"]
    assert [e.type for e in sim.control.events(creds.partner_id)] == ["pool.transaction.settled"]


def test_reserved_plan_and_script_outcome(sim: Simulator, creds: PartnerCredentials,
                                          client: httpx.Client) -> None:
    sim.control.script_next_trades(creds.partner_id, [OutcomePlan(status="reserved")] * 2)
    q1, q2 = firm_quote(client), firm_quote(client)
    t1 = transact(client, q1["quoteId"], "a").json()
    t2 = transact(client, q2["quoteId"], "b").json()
    for _ in range(3):
        assert client.get(f"/pools/transactions/{q1['quoteId']}").json()["status"] == "reserved"
    moved = sim.control.script_outcome(t1["transactId"], "released", now=True)
    assert moved.status == "released"
    assert client.get(f"/pools/trades/{t1['transactId']}").json()["status"] == "released"
    sim.control.script_outcome(t2["transactId"], "returned")
    assert client.get(f"/pools/transactions/{q2['quoteId']}").json()["status"] == "settled"
    assert client.get(f"/pools/transactions/{q2['quoteId']}").json()["status"] == "returned"
    with pytest.raises(ValueError):
        sim.control.script_outcome(t1["transactId"], "settled", now=True)


def test_poll_without_trade_and_cross_partner_404(sim: Simulator, client: httpx.Client) -> None:
    quote = firm_quote(client)
    assert_envelope(client.get(f"/pools/transactions/{quote['quoteId']}"), 404,
                    "trade_not_found")
    trade = transact(client, quote["quoteId"]).json()
    other = sim.control.provision_partner(PartnerSpec(name="other"))
    with httpx.Client(base_url=sim.api_url,
                      headers={"Authorization": f"Bearer {other.secret_key}"}) as c:
        assert c.get(f"/pools/quotes/{quote['quoteId']}").status_code == 404
        assert c.post(f"/pools/quotes/{quote['quoteId']}/reject").status_code == 404
        assert c.get(f"/pools/transactions/{quote['quoteId']}").status_code == 404
        assert c.get(f"/pools/trades/{trade['transactId']}").status_code == 404
        assert transact(c, quote["quoteId"], "steal").status_code == 404
        assert c.get("/pools/trades").json()["trades"] == []
    assert client.get(f"/pools/trades/{trade['transactId']}").json()["status"] == "reserved"


def test_trade_list_pagination_and_filters(sim: Simulator, creds: PartnerCredentials,
                                           client: httpx.Client) -> None:
    sim.control.script_next_trades(creds.partner_id,
                                   [OutcomePlan(status="failed")] + [OutcomePlan()] * 4)
    ids = []
    for index in range(5):
        quote = firm_quote(client)
        ids.append(transact(client, quote["quoteId"], f"k{index}").json()["transactId"])
        client.get(f"/pools/transactions/{quote['quoteId']}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/pools/trades", params=params).json()
        seen += [t["transactId"] for t in page["trades"]]
        assert page["hasMore"] == (page["nextCursor"] is not None)
        if not page["hasMore"]:
            break
        cursor = page["nextCursor"]
    assert seen == list(reversed(ids))
    failed = client.get("/pools/trades", params={"status": "failed"}).json()["trades"]
    assert [t["transactId"] for t in failed] == [ids[0]]
    assert client.get("/pools/trades", params={"side": "off_ramp"}).json()["trades"] == []
    future = "2999-01-01T00:00:00Z"
    assert client.get("/pools/trades", params={"created_after": future}).json()["trades"] == []
    assert len(client.get("/pools/trades",
                          params={"created_before": future}).json()["trades"]) == 5
    for params, field in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                          ({"limit": "x"}, "limit"), ({"status": "odd"}, "status"),
                          ({"side": "up"}, "side"), ({"created_after": "yesterday"},
                                                     "created_after"),
                          ({"cursor": "txn_test_nope"}, "cursor")):
        body = assert_envelope(client.get("/pools/trades", params=params), 400,
                               "invalid_request")
        assert str(body["message"]).startswith(f"{field}:")


def test_ledger_clamp_and_cursor(sim: Simulator, creds: PartnerCredentials,
                                 client: httpx.Client) -> None:
    for _ in range(4):
        sim.control.credit_balance(creds.partner_id, "1.00")
    assert len(client.get("/pools/ledger", params={"limit": 0}).json()["entries"]) == 1
    assert len(client.get("/pools/ledger", params={"limit": 999}).json()["entries"]) == 5
    first = client.get("/pools/ledger", params={"limit": 3}).json()
    assert first["hasMore"] is True and first["nextCursor"]
    rest = client.get("/pools/ledger", params={"limit": 3, "cursor": first["nextCursor"]}).json()
    assert len(rest["entries"]) == 2 and rest["nextCursor"] is None
    assert rest["entries"][-1]["reason"] == "payin_credit"
    assert_envelope(client.get("/pools/ledger", params={"cursor": "le_nope"}), 400,
                    "invalid_request")
    assert_envelope(client.get("/pools/ledger", params={"limit": "ten"}), 400,
                    "invalid_request")
