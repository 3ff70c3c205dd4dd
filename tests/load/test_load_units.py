"""The pieces of a load run that need no partner: the path schedule, percentiles, the judge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from conformance.driver.postings import Posting
from conformance.load.judge import Judge, ProviderView
from conformance.load.plan import DOUBLE, EXPIRED, NORMAL, PATHS, RESET, VELOCITY, schedule
from conformance.load.samples import AcceptSample, OrderRecord, RequestSample, percentiles

from .provider_records import T0, FakeQuote, FakeTrade


def test_the_schedule_takes_every_threat_first_then_keeps_the_shares() -> None:
    shares = {DOUBLE: 0.2, RESET: 0.1, EXPIRED: 0.1, VELOCITY: 0.1}
    order = schedule(shares)
    assert order[:4] == (DOUBLE, RESET, EXPIRED, VELOCITY)
    rest = order[4:]
    assert rest.count(DOUBLE) == 20 and rest.count(RESET) == 10
    assert rest.count(NORMAL) == 50
    assert set(order) <= set(PATHS)
    assert schedule(shares) == order  # deterministic


def test_a_path_with_no_share_never_runs() -> None:
    assert VELOCITY not in schedule({DOUBLE: 0.5, VELOCITY: 0.0})


def test_percentiles_are_nearest_rank() -> None:
    p = percentiles([float(n) for n in range(1, 101)])
    assert (p.count, p.p50_ms, p.p95_ms, p.p99_ms) == (100, 50.0, 95.0, 99.0)
    assert percentiles([]).p50_ms is None


@dataclass(frozen=True)
class _Entry:
    seq: int
    at: datetime
    status: int
    body: Any
    method: str = "POST"
    path: str = "/v1/pools/EUR-USDT/transact"
    reset: bool = False


def _order(ref: str, quote: str, *, path: str = NORMAL, accept_at: float | None = None,
           final: str = "done") -> OrderRecord:
    at = T0.timestamp()
    return OrderRecord(
        path=path, account="acct_1", at=at, ended=at + 2, arranged=True, quote_status=201,
        order_ref=ref, quote_id=quote, final=final,
        accepts=(AcceptSample(at=accept_at or at + 0.1, status=200, category="pending",
                              transact_id=None),),
    )


def _credit(trade: str, amount: str = "25.00") -> Posting:
    return Posting(amount=Decimal(amount), reversal=False, kind="credit", transact_id=trade,
                   quote_id=None, order_ref=None, event_id=None)


def _judge(orders: list[OrderRecord], quotes: list[FakeQuote], trades: list[FakeTrade],
           journal: list[_Entry], postings: list[Posting]) -> Judge:
    view = ProviderView(quotes={q.id: q for q in quotes}, trades=trades, journal=journal,
                        replayed={}, replays_delivered=0)
    requests = [RequestSample(action="accept", at=T0.timestamp(), ms=10.0, status=200)]
    return Judge(orders=orders, requests=requests, provider=view, postings=postings,
                 ledger_amount="fiatAmount", double_entry=False, retry_after_s=1,
                 error_budget=Decimal(0))


def test_a_requoted_order_is_tied_to_its_second_trade_by_destination() -> None:
    expires = T0 + timedelta(seconds=15)
    quotes = [FakeQuote("q1", "dest-1", expires), FakeQuote("q2", "dest-1", expires)]
    trades = [FakeTrade("t1", "q1", "dest-1"), FakeTrade("t2", "q2", "dest-1")]
    judge = _judge([_order("o1", "q1", path=DOUBLE)], quotes, trades, [],
                   [_credit("t1"), _credit("t2")])
    assert judge.one_trade_per_order().held is False
    assert judge.double_accept_one_trade().held is False
    assert judge.no_duplicate_posting().held is True


def test_a_customer_wallet_shared_by_its_orders_is_not_a_requote() -> None:
    # A partner that sends each customer's own fixed wallet (not the harness's per-order
    # address): two honest orders, one trade each, the same destination.
    expires = T0 + timedelta(seconds=15)
    quotes = [FakeQuote("q1", "wallet-1", expires), FakeQuote("q2", "wallet-1", expires)]
    trades = [FakeTrade("t1", "q1", "wallet-1"), FakeTrade("t2", "q2", "wallet-1")]
    judge = _judge([_order("o1", "q1"), _order("o2", "q2")], quotes, trades, [],
                   [_credit("t1"), _credit("t2")])
    held = judge.one_trade_per_order()
    assert held.held is True and held.observed == 2


def test_duplicate_credit_and_drift_are_broken_guarantees() -> None:
    quotes = [FakeQuote("q1", "dest-1", T0 + timedelta(seconds=15))]
    trades = [FakeTrade("t1", "q1", "dest-1")]
    judge = _judge([_order("o1", "q1")], quotes, trades, [], [_credit("t1"), _credit("t1")])
    assert judge.one_trade_per_order().held is True
    assert judge.no_duplicate_posting().held is False
    assert judge.reconciliation().held is False


def test_a_transact_after_expiry_and_an_early_retry_after_429_are_caught() -> None:
    expires = T0 + timedelta(seconds=1)
    quotes = [FakeQuote("q1", "dest-1", expires),
              FakeQuote("q2", "dest-2", T0 + timedelta(hours=1))]
    journal = [
        _Entry(1, expires + timedelta(seconds=0.5), 409, {"quoteId": "q1"}),
        _Entry(2, T0, 429, {"quoteId": "q2"}),
        _Entry(3, T0 + timedelta(seconds=0.2), 429, {"quoteId": "q2"}),
    ]
    late = (expires + timedelta(seconds=0.4)).timestamp()
    orders = [_order("o1", "q1", path=EXPIRED, accept_at=late, final="refused"),
              _order("o2", "q2", path=VELOCITY, final="refused")]
    judge = _judge(orders, quotes, [], journal, [])
    expiry = judge.no_execution_after_expiry()
    assert (expiry.held, expiry.observed) == (False, 1)
    velocity = judge.velocity_retry_after()
    assert (velocity.held, velocity.observed) == (False, 2)


def test_a_fresh_quote_transacted_at_once_after_a_429_is_a_retry_storm() -> None:
    """The 429 is scoped to the order's quote; re-quoting the same order (same destination)
    and transacting 50 ms later is the retry Retry-After forbids. Another order is not."""
    later = T0 + timedelta(hours=1)
    quotes = [FakeQuote("q1", "dest-1", later), FakeQuote("q1b", "dest-1", later),
              FakeQuote("q2", "dest-2", later)]
    journal = [
        _Entry(1, T0, 429, {"quoteId": "q1"}),
        _Entry(2, T0 + timedelta(seconds=0.05), 200, {"quoteId": "q1b"}),
        _Entry(3, T0 + timedelta(seconds=0.05), 200, {"quoteId": "q2"}),
    ]
    orders = [_order("o1", "q1", path=VELOCITY), _order("o2", "q2")]
    velocity = _judge(orders, quotes, [], journal, []).velocity_retry_after()
    assert (velocity.held, velocity.observed) == (False, 1), velocity
    assert "re-quoted (q1b)" in velocity.examples[0]
    # The same moments for a different order's quote are no retry of this one.
    calm = _judge(orders, quotes, [], [journal[0], journal[2]], []).velocity_retry_after()
    assert (calm.held, calm.observed) == (True, 1), calm


def test_no_observed_case_is_no_evidence() -> None:
    judge = _judge([], [], [], [], [])
    for guarantee in judge.all():
        if guarantee.id not in ("load.error_budget", "load.answers_readable"):
            assert guarantee.held is None and guarantee.observed == 0, guarantee
            assert guarantee.detail.startswith("no evidence")


def test_a_reset_retry_that_ends_failed_breaks_its_guarantee() -> None:
    quotes = [FakeQuote("q1", "dest-1", T0 + timedelta(seconds=15))]
    trades = [FakeTrade("t1", "q1", "dest-1")]
    journal = [_Entry(1, T0, 200, {"quoteId": "q1"}, reset=True)]
    judge = _judge([_order("o1", "q1", path=RESET, final="failed")], quotes, trades, journal,
                   [])
    guarantee = judge.reset_retry_one_trade()
    assert (guarantee.held, guarantee.observed) == (False, 1)
    assert guarantee.fix


def test_samples_are_read_back_with_a_per_second_timeline(tmp_path: Any) -> None:
    import json

    from conformance.load.samples import read_samples, timeline

    path = tmp_path / "samples-local-1.jsonl"
    rows = [
        {"kind": "request", "action": "accept", "at": 100.2, "ms": 40.0, "status": 200},
        {"kind": "request", "action": "get_order", "at": 101.5, "ms": 5.0, "status": 503},
        {"kind": "order", "path": "normal", "account": "a", "at": 100.0, "accepts": []},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    samples = read_samples([path])
    assert len(samples.requests) == 2 and len(samples.orders) == 1
    assert samples.unreadable_lines == 1
    points = timeline(samples.requests, start=100.0)
    assert [(p.second, p.requests, p.accepts, p.failures) for p in points] == [
        (0, 1, 1, 0), (1, 1, 0, 1),
    ]
