"""The control plane over HTTP under /_sim/, the in-process contract, and the sim command."""

from __future__ import annotations

import argparse
import threading
import time

import httpx
import pytest
from sim_helpers import DEST, assert_envelope, firm_quote, transact

import conformance.simulator as simulator_package
from conformance.commands import sim as sim_command
from conformance.errors import ConformanceError
from conformance.simulator import PartnerCredentials, Simulator


@pytest.fixture
def ctl(sim: Simulator) -> httpx.Client:
    return httpx.Client(base_url=f"{sim.base_url}/_sim",
                        headers={"Authorization": f"Bearer {sim.control_token}"})


def test_public_names_are_sorted() -> None:
    assert simulator_package.__all__ == sorted(simulator_package.__all__)
    for name in ("Simulator", "SimulatorSettings", "PartnerSpec", "FaultSpec", "OutcomePlan"):
        assert hasattr(simulator_package, name)


def test_clock_read_and_advance(sim: Simulator, ctl: httpx.Client) -> None:
    before = ctl.get("/clock").json()
    assert before["offsetSeconds"] == 0 and before["now"].endswith("Z")
    after = ctl.post("/clock/advance", json={"seconds": 90}).json()
    assert after["offsetSeconds"] == 90 and after["now"] > before["now"]
    assert_envelope(ctl.post("/clock/advance", json={"seconds": "x"}), 400, "invalid_request")
    assert_envelope(ctl.post("/clock/advance", json={"seconds": -1}), 400, "invalid_request")


def test_provision_script_and_read_over_http(sim: Simulator, ctl: httpx.Client) -> None:
    made = ctl.post("/partners", json={"name": "http", "max_order_usdt": "1000"}).json()
    assert made["secretKey"].startswith("sk_test_")
    pid = made["partnerId"]
    assert ctl.post(f"/partners/{pid}/next-trades",
                    json={"plans": [{"status": "reserved"}]}).status_code == 200
    with httpx.Client(base_url=sim.api_url,
                      headers={"Authorization": f"Bearer {made['secretKey']}"}) as c:
        assert c.post("/pools/EUR-USDT/quote", json={"side": "on_ramp", "amount": "2000",
                                                     "destAddress": DEST}).status_code == 400
        quote = firm_quote(c)
        trade = transact(c, quote["quoteId"]).json()
        assert c.get(f"/pools/transactions/{quote['quoteId']}").json()["status"] == "reserved"
        moved = ctl.post(f"/trades/{trade['transactId']}/outcome",
                         json={"status": "failed", "now": True})
        assert moved.status_code == 200 and moved.json()["status"] == "failed"
        assert_envelope(ctl.post(f"/trades/{trade['transactId']}/outcome",
                                 json={"status": "settled", "now": True}), 409, "conflict")
        assert_envelope(ctl.post("/trades/txn_test_nope/outcome", json={"status": "settled"}),
                        404, "not_found")
        ctl.post(f"/partners/{pid}/unavailable", json={"reason": "rate_unavailable"})
        soft = c.post("/pools/EUR-USDT/quote",
                      json={"side": "on_ramp", "amount": "100", "destAddress": DEST}).json()
        assert soft["unavailableReason"] == "rate_unavailable"
    listed = ctl.get("/trades", params={"partner_id": pid}).json()["trades"]
    assert [t["transactId"] for t in listed] == [trade["transactId"]]
    ledger = ctl.get("/ledger", params={"partner_id": pid}).json()["entries"]
    assert [e["reason"] for e in ledger] == ["payin_credit", "buy_debit", "buy_refund"]
    events = ctl.get("/events", params={"partner_id": pid}).json()["events"]
    assert [e["type"] for e in events] == ["pool.transaction.failed"]
    assert_envelope(ctl.post("/partners", json={"nope": 1}), 400, "invalid_request")
    assert_envelope(ctl.patch(f"/partners/{pid}", json={"id": "x"}), 409, "conflict")
    assert ctl.patch(f"/partners/{pid}", json={"kyc_status": "pending"}).status_code == 200
    assert_envelope(ctl.get("/nothing"), 404, "not_found")


def test_faults_over_http(sim: Simulator, creds: PartnerCredentials, client: httpx.Client,
                          ctl: httpx.Client) -> None:
    armed = ctl.post("/faults", json={"match": {"method": "GET", "path": "/v1/pools"},
                                      "action": "error", "status": 429,
                                      "code": "rate_limited", "retry_after": 3})
    assert armed.status_code == 200 and armed.json()["faultId"]
    response = client.get("/pools")
    assert_envelope(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "3"
    assert_envelope(ctl.post("/faults", json={"action": "explode"}), 400, "invalid_request")
    ctl.post("/faults", json={"action": "error"})
    assert ctl.delete("/faults").status_code == 200
    assert client.get("/pools").status_code == 200


def test_journal_cursor_oldest_first(sim: Simulator, client: httpx.Client,
                                     ctl: httpx.Client) -> None:
    for _ in range(5):
        client.get("/pools")
    httpx.get(f"{sim.api_url}/pools")  # refused at auth, journaled too
    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = ctl.get("/journal", params=params).json()
        pages.append(body["entries"])
        cursor = body["nextCursor"]
        if cursor is None:
            break
    seqs = [e["seq"] for page in pages for e in page]
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert pages[-1][-1]["status"] == 401
    assert_envelope(ctl.get("/journal", params={"cursor": "abc"}), 400, "invalid_request")
    # the control plane's own requests are not partner traffic
    assert all(not e.path.startswith("/_sim") for e in sim.control.journal())


def test_redeliver_and_forge_unknown_event(ctl: httpx.Client) -> None:
    assert_envelope(ctl.post("/webhooks/nope/redeliver"), 404, "not_found")
    assert_envelope(ctl.post("/webhooks/nope/forge", json={"kind": "bad_signature"}), 404,
                    "not_found")


def test_openapi_served_or_404(sim: Simulator) -> None:
    response = httpx.get(f"{sim.api_url}/openapi.json")
    if response.status_code == 200:
        assert "openapi" in response.json()
    else:
        assert_envelope(response, 404, "not_found")


def test_sim_command_serves_until_stopped() -> None:
    parser = argparse.ArgumentParser()
    sim_command.add_arguments(parser)
    args = parser.parse_args(["--port", "0", "--secret-key", "sk_test_fixedkey123",
                              "--control-token", "simctl_fixed_token_1"])
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(sim_command.run(args, stop)))
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        thread.start()
        deadline = time.monotonic() + 10
        while "listening on" not in out.getvalue():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        url = out.getvalue().split("listening on ")[1].split()[0]
        headers = {"Authorization": "Bearer sk_test_fixedkey123"}
        quote = httpx.post(f"{url}/pools/EUR-USDT/quote", headers=headers,
                           json={"side": "on_ramp", "amount": "50", "destAddress": DEST}).json()
        httpx.post(f"{url}/pools/EUR-USDT/transact", json={"quoteId": quote["quoteId"]},
                   headers={**headers, "Idempotency-Key": "cli"})
        polled = httpx.get(f"{url}/pools/transactions/{quote['quoteId']}", headers=headers)
        assert polled.json()["status"] == "settled"
        stop.set()
        thread.join(10)
    assert result == [0]
    assert "sk_test_fixedkey123" in out.getvalue() and "whsec_" in out.getvalue()


@pytest.mark.parametrize(("flag", "value"), [("--secret-key", "sk_live_abc"),
                                             ("--publishable-key", "sk_test_abc"),
                                             ("--webhook-secret", "secret"),
                                             ("--quote-ttl", "0")])
def test_sim_command_refuses_bad_options(flag: str, value: str) -> None:
    parser = argparse.ArgumentParser()
    sim_command.add_arguments(parser)
    with pytest.raises(ConformanceError, match=flag):
        sim_command.run(parser.parse_args(["--port", "0", flag, value]))


def test_journal_position_marks_what_comes_after(sim: Simulator, client: httpx.Client) -> None:
    mark = sim.control.journal_position()
    assert mark == (sim.control.journal()[-1].seq if sim.control.journal() else 0)
    client.get("/pools")
    after = sim.control.journal(since_seq=mark)
    assert [e.path for e in after] == ["/v1/pools"]
    assert sim.control.journal_position() == after[-1].seq
