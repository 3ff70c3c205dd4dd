"""Each flaw switch really changes behaviour (the flawless partner is in test_flow.py)."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from reference_partner.flaws import (
    CHECKLIST_FLAWS,
    DESIGN_FLAWS,
    EXTENSION_FLAWS,
    FLAWS,
    LEDGER_SHAPE_FLAWS,
)

from conformance.simulator import FaultMatch, FaultSpec, OutcomePlan

from .conftest import Partner

TRANSACT = "/v1/pools/*/transact"
SLOW_POLL = {"REFERENCE_PARTNER_POLL_INTERVAL": "30"}


def _quoted(p: Partner, amount: str = "25.00", account: str = "acct_a") -> dict:
    resp = p.quote(amount, account=account)
    assert resp.status_code == 201 and resp.json()["status"] == "quoted", resp.text
    return dict(resp.json())


def _fault(p: Partner, **kw: object) -> None:
    p.sim.control.inject_fault(FaultSpec(
        match=FaultMatch(method="POST", path=TRANSACT, partner_id=p.pid), **kw  # type: ignore[arg-type]
    ))


def _held_settled_event(p: Partner, account: str = "acct_a") -> tuple[dict, str, str]:
    """A trade settled at the provider whose settled webhook is held, not yet delivered."""
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="reserved")])
    p.sim.control.hold_webhooks(p.pid, True)
    order = _quoted(p, account=account)
    trade_id = p.accept(order["orderRef"], account).json()["tradeId"]
    p.sim.control.script_outcome(trade_id, "settled", now=True)
    event = p.wait_for(lambda: p.sim.control.held_events(p.pid))[0]
    return order, trade_id, event.id


def test_every_flaw_in_the_design_table_is_switchable() -> None:
    assert len(DESIGN_FLAWS) == 28
    assert len(EXTENSION_FLAWS) == 3 and not DESIGN_FLAWS & EXTENSION_FLAWS
    assert "secret_in_mobile_config" in CHECKLIST_FLAWS  # issue 12
    assert {"secret_in_logs", "logs_without_ids", "raw_states_on_screen",
            "firm_quote_on_load", "offers_unsupported_network"} <= CHECKLIST_FLAWS  # issue 12
    assert len(CHECKLIST_FLAWS) == 6  # one flaw per checklist row of issue 12
    assert FLAWS == (DESIGN_FLAWS | EXTENSION_FLAWS | CHECKLIST_FLAWS
                     | set(LEDGER_SHAPE_FLAWS))  # test_ledger_styles


# -- RQ1 expiry -------------------------------------------------------------------------

def test_no_backend_expiry_check_sends_the_expired_transact(start) -> None:
    p = start("no_backend_expiry_check")
    p.sim.control.set_next_quote_ttl(p.pid, 1.0)
    order = _quoted(p)
    time.sleep(1.3)
    resp = p.accept(order["orderRef"])
    sent = p.transacts(order["quoteId"])
    assert sent and sent[0].status == 409  # reached the provider after expiry
    assert resp.status_code == 409


def test_overcautious_expiry_refuses_a_quote_well_inside_its_window(start) -> None:
    p = start("overcautious_expiry")
    p.sim.control.set_next_quote_ttl(p.pid, 6.0)
    order = _quoted(p)
    resp = p.accept(order["orderRef"])  # about 6 s left, yet refused as expired
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "quote_expired"
    assert p.transacts(order["quoteId"]) == []
    fresh = _quoted(p)  # the default 15 s quote leaves more than the margin: accepted
    assert p.accept(fresh["orderRef"]).status_code == 200


# -- RQ2 secrets (bundle, map, config) -----------------------------------------------------

def test_secret_in_bundle(start) -> None:
    p = start("secret_in_bundle")
    assert p.creds.secret_key in p.http.get("/app.js").text


def test_secret_in_sourcemap_only_in_sources_content(start) -> None:
    p = start("secret_in_sourcemap")
    assert p.creds.secret_key not in p.http.get("/app.js").text
    source_map = p.http.get("/app.js.map").json()
    assert any(p.creds.secret_key in text for text in source_map["sourcesContent"])


def test_secret_base64_in_config(start) -> None:
    p = start("secret_base64_in_config")
    config = p.http.get("/config.json").text
    assert p.creds.secret_key not in config
    assert base64.b64encode(p.creds.secret_key.encode()).decode() in config


def test_browser_executes_ships_the_key_and_provider_call(start) -> None:
    p = start("browser_executes")
    config = p.http.get("/config.json").json()
    assert config["execution"]["key"] == p.creds.secret_key
    assert "/transact" in p.http.get("/app.js").text


def test_ui_accept_after_expiry_ships_a_countdown_that_never_disables(start) -> None:
    p = start("ui_accept_after_expiry")
    script = p.http.get("/app.js").text
    assert "remaining < 0" in script and "remainingMs <= 0" not in script


# -- RQ3 duplicates ------------------------------------------------------------------------

def test_requote_on_accept_makes_two_trades(start) -> None:
    p = start("requote_on_accept")
    order = _quoted(p)
    first = p.accept(order["orderRef"]).json()["tradeId"]
    second = p.accept(order["orderRef"]).json()["tradeId"]
    assert first != second
    assert len(p.trades()) == 2


def test_new_key_per_attempt(start) -> None:
    p = start("new_key_per_attempt")
    _fault(p, action="reset_after_commit")
    order = _quoted(p)
    assert p.accept(order["orderRef"]).status_code == 200
    keys = [e.idempotency_key for e in p.transacts(order["quoteId"])]
    assert len(keys) >= 2 and len(set(keys)) == len(keys)


def test_no_retry_on_timeout_marks_the_order_failed(start) -> None:
    p = start("no_retry_on_timeout")
    _fault(p, action="reset_after_commit")
    order = _quoted(p)
    resp = p.accept(order["orderRef"])
    assert resp.status_code == 504
    assert len(p.transacts(order["quoteId"])) == 1
    assert p.order(order["orderRef"])["status"] == "failed"
    assert len(p.trades()) == 1  # the provider did make the trade


def test_ignores_conflict_reports_success(start) -> None:
    p = start("ignores_conflict")
    _fault(p, action="error", status=409, code="idempotency_key_reused")
    order = _quoted(p)
    resp = p.accept(order["orderRef"])
    assert resp.status_code == 200 and resp.json()["status"] == "pending"
    assert resp.json()["tradeId"] is None and p.trades() == []


# -- RQ4 ledger ------------------------------------------------------------------------------

def test_credit_on_reserved(start) -> None:
    p = start("credit_on_reserved")
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="released")])
    order = _quoted(p)
    p.accept(order["orderRef"])
    p.wait_status(order["orderRef"], "released")
    assert [e["kind"] for e in p.ledger()] == ["credit"]


def test_no_event_dedupe_posts_a_replay_again(start) -> None:
    p = start("no_event_dedupe")
    order = _quoted(p)
    trade_id = p.accept(order["orderRef"]).json()["tradeId"]
    p.wait_status(order["orderRef"], "settled")
    event = p.wait_for(lambda: [e for e in p.sim.control.events(p.pid)
                                if e.transact_id == trade_id])[0]
    p.sim.control.redeliver(event.id)
    assert len(p.ledger()) >= 2


def test_dedupe_not_atomic_double_posts_concurrent_replays_only(start) -> None:
    p = start("dedupe_not_atomic", env=SLOW_POLL)
    order, _, event_id = _held_settled_event(p)
    # A slow provider read (the partner confirms the trade between its check and its
    # insert) keeps every concurrent replay inside the window: the race is not left to luck.
    slow_read = FaultMatch(method="GET", path="/v1/pools/trades/*", partner_id=p.pid)
    p.sim.control.inject_fault(
        FaultSpec(match=slow_read, action="delay", delay_seconds=0.5, times=6)
    )
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: p.sim.control.redeliver(event_id), range(6)))
    p.sim.control.clear_faults()
    posted = len(p.ledger())
    assert posted >= 2
    p.sim.control.redeliver(event_id)  # a sequential replay is still caught
    assert len(p.ledger()) == posted


def test_no_signature_check_accepts_a_forgery(start) -> None:
    p = start("no_signature_check", env=SLOW_POLL)
    order, _, event_id = _held_settled_event(p)
    forged = p.sim.control.forge(event_id, "bad_signature")
    assert forged.status_code == 200
    assert len(p.ledger()) == 1


def test_no_timestamp_tolerance_accepts_a_stale_delivery(start) -> None:
    p = start("no_timestamp_tolerance", env=SLOW_POLL)
    order, _, event_id = _held_settled_event(p)
    assert p.sim.control.forge(event_id, "bad_signature").status_code == 400  # HMAC still checked
    assert p.sim.control.forge(event_id, "stale_timestamp").status_code == 200
    assert len(p.ledger()) == 1


def test_status_regression_after_returned(start) -> None:
    p = start("status_regression")
    p.sim.control.hold_webhooks(p.pid, True)
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="returned")])
    order = _quoted(p)
    p.accept(order["orderRef"])
    p.wait_status(order["orderRef"], "returned")
    event = p.wait_for(lambda: p.sim.control.held_events(p.pid))[0]
    p.sim.control.redeliver(event.id)
    assert p.order(order["orderRef"])["status"] == "settled"


def test_drops_early_webhook_never_settles(start) -> None:
    p = start("drops_early_webhook")
    _fault(p, action="webhook_before_response")
    order = _quoted(p)
    assert p.accept(order["orderRef"]).status_code == 200
    p.call("POST", "/api/reconcile")
    time.sleep(1.0)  # several poll intervals: the dropped event is never applied
    assert p.order(order["orderRef"])["status"] == "pending"
    assert p.sim.control.trade_for_quote(order["quoteId"]).status == "settled"
    assert p.ledger() == []


def test_ignores_returned(start) -> None:
    p = start("ignores_returned")
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="returned")])
    order = _quoted(p)
    p.accept(order["orderRef"])
    p.wait_status(order["orderRef"], "settled")
    p.call("POST", "/api/reconcile")
    time.sleep(0.8)
    assert p.order(order["orderRef"])["status"] == "settled"
    assert [e["kind"] for e in p.ledger()] == ["credit"]


def test_webhook_only_never_advances_a_trade(start) -> None:
    p = start("webhook_only", spec={"webhook_url": None})
    order = _quoted(p)
    p.accept(order["orderRef"])
    p.call("POST", "/api/reconcile")
    time.sleep(0.8)
    assert p.order(order["orderRef"])["status"] == "pending"
    assert p.journal("/transactions/" + order["quoteId"]) == []


# -- RQ5/RQ6 trace and recon -------------------------------------------------------------------

def test_secret_in_order_record(start) -> None:
    p = start("secret_in_order_record")
    order = _quoted(p)
    p.accept(order["orderRef"])
    assert p.creds.secret_key in p.call("GET", f"/api/orders/{order['orderRef']}").text


def test_no_trade_id_in_record(start) -> None:
    p = start("no_trade_id_in_record")
    order = _quoted(p)
    assert p.accept(order["orderRef"]).json()["tradeId"] is None
    assert len(p.trades()) == 1


def test_float_amounts_drift_by_a_cent(start) -> None:
    p = start("float_amounts")
    refs = [_quoted(p, amount)["orderRef"] for amount in ("10.20", "16.40", "19.99")]
    for ref in refs:
        p.accept(ref)
    for ref in refs:
        p.wait_status(ref, "settled")
    amounts = sorted(Decimal(e["amount"]) for e in p.ledger())
    assert amounts != [Decimal("10.20"), Decimal("16.40"), Decimal("19.99")]
    assert Decimal("10.19") in amounts


# -- guards ------------------------------------------------------------------------------------

def test_no_owner_check(start) -> None:
    p = start("no_owner_check")
    order = _quoted(p, account="acct_owner")
    assert p.accept(order["orderRef"], account="acct_thief").status_code == 200
    assert len(p.transacts(order["quoteId"])) == 1


def test_no_limit_check_sends_the_quote(start) -> None:
    p = start("no_limit_check")
    resp = p.quote("1.00")
    assert resp.status_code == 400
    assert len(p.journal("/quote")) == 1


def test_no_network_check_sends_the_quote(start) -> None:
    p = start("no_network_check")
    p.quote("25.00", "solana")
    assert len(p.journal("/quote")) == 1


def test_no_balance_check_hides_the_402(start) -> None:
    p = start("no_balance_check", spec={"initial_balance": Decimal("20")})
    order = _quoted(p)  # no balance gate before the quote
    resp = p.accept(order["orderRef"])
    assert resp.status_code == 200 and resp.json()["status"] == "submitted"
    assert [e.status for e in p.transacts(order["quoteId"])] == [402]


def test_retry_storm_on_429_ignores_retry_after(start) -> None:
    p = start("retry_storm_on_429")
    _fault(p, action="error", status=429, code="velocity_cap_exceeded", retry_after=1, times=10)
    order = _quoted(p)
    resp = p.accept(order["orderRef"])
    sent = p.transacts(order["quoteId"])
    assert [e.status for e in sent] == [429] * 10 + [200]  # hammered until the cap let go
    assert len({e.idempotency_key for e in sent}) == 1
    assert (sent[-1].at - sent[0].at).total_seconds() < 1.0  # Retry-After: 1 was ignored
    assert resp.status_code == 200 and resp.json()["tradeId"]


def test_alerts_miss_stuck_reserved_while_it_is_polled(start) -> None:
    p = start("alerts_miss_stuck_reserved")  # REFERENCE_PARTNER_STUCK_AFTER=1
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status="reserved")])
    order = _quoted(p)
    trade_id = p.accept(order["orderRef"]).json()["tradeId"]
    polled = p.wait_for(lambda: (
        polls := p.journal("/transactions/" + order["quoteId"], "GET")
    ) and (polls[-1].at - polls[0].at).total_seconds() > 2.0 and polls)
    assert len(polled) >= 3 and p.order(order["orderRef"])["tradeStatus"] == "reserved"
    alerts = p.call("GET", "/api/alerts").json()["alerts"]
    assert all(a["tradeId"] != trade_id for a in alerts)
    p.sim.control.script_outcome(trade_id, "released", now=True)


def test_crash_on_unavailable(start) -> None:
    p = start("crash_on_unavailable")
    p.sim.control.make_next_quote_unavailable(p.pid, "pool_dry")
    assert p.quote().status_code == 500


def test_crash_on_bad_input(start) -> None:
    p = start("crash_on_bad_input")
    assert p.call("POST", "/api/quotes", json={"amount": "10.00"}).status_code == 500
    assert p.journal("/quote") == []
