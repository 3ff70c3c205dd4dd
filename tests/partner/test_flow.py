"""The flawless reference partner against the real simulator: happy path and each safeguard."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from conformance.simulator import FaultMatch, FaultSpec, OutcomePlan

from .conftest import FIXTURES, Partner

TRANSACT = "/v1/pools/*/transact"


def _quoted(p: Partner, amount: str = "25.00", account: str = "acct_a") -> dict:
    resp = p.quote(amount, account=account)
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert order["status"] == "quoted" and order["quoteId"].startswith("pq_")
    return dict(order)


def test_happy_path_settles_by_webhook_with_one_posting(start) -> None:
    p = start(env={"REFERENCE_PARTNER_POLL_INTERVAL": "30"})  # only the webhook can settle
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="reserved")])
    order = _quoted(p)
    accepted = p.accept(order["orderRef"])
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "pending" and body["tradeId"].startswith("txn_")
    assert body["idempotencyKey"] == f"pool-execution:{order['quoteId']}"
    assert p.ledger() == []  # nothing while reserved
    p.sim.control.script_outcome(body["tradeId"], "settled", now=True)
    settled = p.wait_status(order["orderRef"], "settled")
    event = next(e for e in p.sim.control.events(p.pid) if e.transact_id == body["tradeId"])
    assert event.id in settled["eventIds"]
    entries = p.ledger()
    assert [(e["kind"], e["amount"], e["tradeId"], e["eventId"]) for e in entries] == [
        ("credit", "25.00", body["tradeId"], event.id)
    ]
    # the journal shows discovery before the quote, and one transact
    paths = [e.path for e in p.journal()]
    assert paths.index("/v1/pools") < paths.index("/v1/pools/EUR-USDT/quote")
    assert len(p.transacts()) == 1


def test_standard_webhooks_scheme(start) -> None:
    p = start(scheme="standard", env={"REFERENCE_PARTNER_POLL_INTERVAL": "30"})
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="reserved")])
    order = _quoted(p)
    trade_id = p.accept(order["orderRef"]).json()["tradeId"]
    p.sim.control.script_outcome(trade_id, "settled", now=True)
    p.wait_status(order["orderRef"], "settled")
    assert len(p.ledger()) == 1


def test_poller_settles_without_webhooks(clean) -> None:
    p = clean
    p.sim.control.update_partner(p.pid, webhook_url=None)
    try:
        order = _quoted(p, "12.00")
        assert p.accept(order["orderRef"]).status_code == 200
        p.wait_status(order["orderRef"], "settled")
        assert p.journal(f"/transactions/{order['quoteId']}")
    finally:
        p.sim.control.update_partner(p.pid, webhook_url=f"{p.url}/webhooks/0pools")


def test_expired_quote_is_refused_without_transact(clean) -> None:
    p = clean
    p.sim.control.set_next_quote_ttl(p.pid, 1.0)
    order = _quoted(p)
    time.sleep(1.3)  # bounded: just past expiresAt
    resp = p.accept(order["orderRef"])
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "quote_expired"
    assert p.order(order["orderRef"])["status"] == "expired"
    assert p.transacts(order["quoteId"]) == []


def test_only_the_owner_can_accept(clean) -> None:
    p = clean
    order = _quoted(p, account="acct_owner")
    resp = p.accept(order["orderRef"], account="acct_other")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "not_order_owner"
    assert p.call("GET", f"/api/orders/{order['orderRef']}", "acct_other").status_code == 404
    assert p.transacts(order["quoteId"]) == []


@pytest.mark.parametrize(
    ("amount", "network", "code"),
    [
        pytest.param("1.00", "tron", "amount_out_of_range", id="below-min"),
        pytest.param("600000.00", "tron", "amount_out_of_range", id="above-max"),
        pytest.param("25.00", "solana", "unsupported_network", id="network"),
    ],
)
def test_guards_block_before_quote(clean, amount: str, network: str, code: str) -> None:
    p = clean
    before = len(p.journal("/quote"))
    resp = p.quote(amount, network)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == code
    assert len(p.journal("/quote")) == before


def test_prefunded_balance_blocks_before_quote(start) -> None:
    p = start(spec={"initial_balance": Decimal("20")})
    resp = p.quote("25.00")
    assert resp.status_code == 402 and resp.json()["error"]["code"] == "insufficient_balance"
    assert p.journal("/quote") == []


@pytest.mark.parametrize("reason", ["pool_dry", "engine_unavailable", "rate_unavailable"])
def test_fail_soft_unavailable_is_a_normal_state(clean, reason: str) -> None:
    p = clean
    p.sim.control.make_next_quote_unavailable(p.pid, reason)
    resp = p.quote()
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert order["status"] == "unavailable" and order["unavailableReason"] == reason
    assert order["quoteId"] is None
    refused = p.accept(order["orderRef"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "quote_unavailable"


def test_concurrent_accepts_make_one_trade(clean) -> None:
    p = clean
    order = _quoted(p)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: p.accept(order["orderRef"]), range(8)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len({a.json()["tradeId"] for a in answers}) == 1
    assert len([t for t in p.trades() if t.quote_id == order["quoteId"]]) == 1


def test_reset_after_commit_is_retried_with_the_same_key(clean) -> None:
    p = clean
    p.sim.control.inject_fault(FaultSpec(
        match=FaultMatch(method="POST", path=TRANSACT, partner_id=p.pid),
        action="reset_after_commit",
    ))
    order = _quoted(p)
    resp = p.accept(order["orderRef"])
    assert resp.status_code == 200, resp.text
    sent = p.transacts(order["quoteId"])
    assert len(sent) >= 2 and sent[0].reset
    assert {e.idempotency_key for e in sent} == {f"pool-execution:{order['quoteId']}"}
    assert len({e.body_digest for e in sent}) == 1
    trades = [t for t in p.trades() if t.quote_id == order["quoteId"]]
    assert len(trades) == 1 and resp.json()["tradeId"] == trades[0].id


@pytest.mark.parametrize("status", [502, 503])
def test_5xx_is_retried_with_the_same_key(clean, status: int) -> None:
    p = clean
    p.sim.control.inject_fault(FaultSpec(
        match=FaultMatch(method="POST", path=TRANSACT, partner_id=p.pid),
        action="error", status=status, code="api_error",
    ))
    order = _quoted(p)
    resp = p.accept(order["orderRef"])
    assert resp.status_code == 200 and resp.json()["tradeId"]
    assert len({e.idempotency_key for e in p.transacts(order["quoteId"])}) == 1


def test_conflict_starts_a_new_quote_flow(clean) -> None:
    p = clean
    p.sim.control.inject_fault(FaultSpec(
        match=FaultMatch(method="POST", path=TRANSACT, partner_id=p.pid),
        action="error", status=409, code="idempotency_key_reused",
    ))
    order = _quoted(p)
    resp = p.accept(order["orderRef"])
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "requote_required"
    assert p.order(order["orderRef"])["status"] == "conflict"


def test_velocity_429_honours_retry_after(clean) -> None:
    p = clean
    p.sim.control.inject_fault(FaultSpec(
        match=FaultMatch(method="POST", path=TRANSACT, partner_id=p.pid),
        action="error", status=429, code="velocity_limit_exceeded", retry_after=30,
    ))
    order = _quoted(p)
    first = p.accept(order["orderRef"])
    assert first.status_code == 429 and int(first.headers["retry-after"]) >= 1
    again = p.accept(order["orderRef"])
    assert again.status_code == 429
    assert len(p.transacts(order["quoteId"])) == 1  # no retry storm


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        pytest.param("kyc_status", "pending", "kyc_not_approved", id="kyc"),
        pytest.param("enabled", False, "pools_not_enabled", id="not-enabled"),
        pytest.param("status", "suspended", "pool_access_suspended", id="suspended"),
    ],
)
def test_denial_codes_are_answered_clearly(start, field: str, value: object, code: str) -> None:
    p = start()
    p.sim.control.update_partner(p.pid, **{field: value})
    resp = p.quote()
    assert resp.status_code == 403 and resp.json()["error"]["code"] == code


def test_off_ramp_501(start) -> None:
    p = start()
    resp = p.quote(side="off_ramp")
    assert resp.status_code == 201, resp.text
    answer = p.accept(resp.json()["orderRef"])
    assert answer.status_code == 501 and answer.json()["error"]["code"] == "off_ramp_not_enabled"


@pytest.mark.parametrize(
    "kind", ["bad_signature", "wrong_secret", "tampered_body", "stale_timestamp",
             "missing_headers"],
)
def test_forged_webhooks_are_refused(start, kind: str) -> None:
    p = start(env={"REFERENCE_PARTNER_POLL_INTERVAL": "30"})
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="reserved")])
    p.sim.control.hold_webhooks(p.pid, True)
    order = _quoted(p)
    trade_id = p.accept(order["orderRef"]).json()["tradeId"]
    p.sim.control.script_outcome(trade_id, "settled", now=True)
    event = p.wait_for(lambda: p.sim.control.held_events(p.pid))[0]
    forged = p.sim.control.forge(event.id, kind)
    assert forged.status_code is not None and forged.status_code >= 400
    assert p.ledger() == [] and p.order(order["orderRef"])["status"] == "pending"
    assert p.sim.control.redeliver(event.id).status_code == 200  # a valid one still works
    assert len(p.ledger()) == 1


def test_replayed_event_posts_once(clean) -> None:
    p = clean
    order = _quoted(p, "19.99", account="acct_replay")
    trade_id = p.accept(order["orderRef"], "acct_replay").json()["tradeId"]
    p.wait_status(order["orderRef"], "settled", account="acct_replay")
    event = p.wait_for(lambda: [e for e in p.sim.control.events(p.pid)
                                if e.transact_id == trade_id])[0]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: p.sim.control.redeliver(event.id), range(4)))
    p.sim.control.redeliver(event.id)
    assert len(p.ledger("acct_replay")) == 1


def test_event_before_transact_answer_is_kept(clean) -> None:
    p = clean
    p.sim.control.inject_fault(FaultSpec(
        match=FaultMatch(method="POST", path=TRANSACT, partner_id=p.pid),
        action="webhook_before_response",
    ))
    order = _quoted(p, account="acct_early")
    assert p.accept(order["orderRef"], "acct_early").status_code == 200
    p.wait_status(order["orderRef"], "settled", account="acct_early")
    assert len(p.ledger("acct_early")) == 1


def test_returned_is_reversed_once(clean) -> None:
    p = clean
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="returned")])
    order = _quoted(p, "16.40", account="acct_ret")
    assert p.accept(order["orderRef"], "acct_ret").status_code == 200
    p.wait_status(order["orderRef"], "returned", account="acct_ret")
    p.call("POST", "/api/reconcile")
    kinds = [(e["kind"], e["signedAmount"]) for e in p.ledger("acct_ret")]
    assert kinds == [("credit", "16.40"), ("reversal", "-16.40")]
    assert p.call("GET", "/api/balance", "acct_ret").json()["balance"] == "0.00"


@pytest.mark.parametrize("outcome", ["failed", "released"])
def test_failed_and_released_post_nothing(clean, outcome: str) -> None:
    p = clean
    account = f"acct_{outcome}"
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status=outcome)])
    order = _quoted(p, account=account)
    p.accept(order["orderRef"], account)
    p.wait_status(order["orderRef"], outcome, account=account)
    assert p.ledger(account) == []


def test_stuck_reserved_trade_raises_an_alert(clean) -> None:
    p = clean
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="reserved")])
    order = _quoted(p, account="acct_stuck")
    trade_id = p.accept(order["orderRef"], "acct_stuck").json()["tradeId"]
    alerts = p.wait_for(lambda: [a for a in p.call("GET", "/api/alerts").json()["alerts"]
                                 if a["tradeId"] == trade_id])
    assert alerts[0]["orderRef"] == order["orderRef"] and alerts[0]["polls"] >= 1
    p.sim.control.script_outcome(trade_id, "settled", now=True)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(json.dumps({"amount": 10.2, "network": "tron", "destAddress": "T1"}).encode(),
                     id="float-amount"),
        pytest.param(json.dumps({"amount": "10.205", "network": "tron"}).encode(), id="3dp"),
        pytest.param(json.dumps({"amount": "-5", "network": "tron", "destAddress": "T"}).encode(),
                     id="negative"),
        pytest.param(json.dumps({"amount": "10", "network": None, "destAddress": "T"}).encode(),
                     id="null-network"),
        pytest.param(json.dumps({"amount": "10", "network": "tron", "destAddress": "a b"}).encode(),
                     id="space-address"),
    ],
)
def test_bad_input_is_a_clear_400(clean, body: bytes) -> None:
    resp = clean.call("POST", "/api/quotes", content=body,
                      headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["message"]


def test_missing_account_is_refused(clean) -> None:
    resp = clean.http.post("/api/quotes", json={"amount": "10.00"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "account_required"


def test_page_bundle_and_source_map_hold_no_secret(clean) -> None:
    p = clean
    page = p.http.get("/").text
    script = p.http.get("/app.js").text
    source_map = p.http.get("/app.js.map").json()
    config = p.http.get("/config.json").text
    assert 'data-testid="accept"' in page and "/app.js" in page
    assert script.rstrip().endswith("//# sourceMappingURL=app.js.map")
    assert source_map["version"] == 3 and len(source_map["sources"]) == len(
        source_map["sourcesContent"])
    _assert_map_points_at_sources(script, source_map)
    for secret in (p.creds.secret_key, p.creds.webhook_secret):
        for text in (page, script, json.dumps(source_map), config):
            assert secret not in text
    assert "sk_test_" not in script + json.dumps(source_map) + config


def _decode_vlq(segment: str) -> list[int]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    values, shift, acc = [], 0, 0
    for char in segment:
        digit = alphabet.index(char)
        acc += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(acc >> 1) if acc & 1 else acc >> 1)
        shift, acc = 0, 0
    return values


def _assert_map_points_at_sources(script: str, source_map: dict) -> None:
    """Every mapped generated line is its source line (export keyword aside)."""
    generated = script.split("\n")
    src, line, mapped = 0, 0, 0
    for number, segments in enumerate(source_map["mappings"].split(";")):
        if not segments:
            continue
        _, d_src, d_line, _ = _decode_vlq(segments.split(",")[0])
        src, line = src + d_src, line + d_line
        original = source_map["sourcesContent"][src].split("\n")[line]
        assert generated[number] == original.replace("export ", "", 1), (number, original)
        mapped += 1
    assert mapped > 50


def test_unknown_flaw_stops_the_app_with_a_clear_error(clean) -> None:
    env = dict(clean.env, REFERENCE_PARTNER_FLAWS="no_such_flaw", PORT="1")
    done = subprocess.run([sys.executable, "-m", "reference_partner"], cwd=FIXTURES, env=env,
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 2
    assert "unknown flaw name(s) no_such_flaw" in done.stderr
