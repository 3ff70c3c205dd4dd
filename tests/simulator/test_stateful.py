"""A Hypothesis state machine interleaving the money operations against the real simulator.

Quotes, rejects, transacts with reused and fresh keys, clock advances, polls and scripted
outcomes run over real HTTP in any order; after every step the invariants that a partner's
money depends on are checked against the API and the control plane's record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from _contract import Contract, ContractClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from conformance.hypothesis_profiles import examples
from conformance.simulator import OutcomePlan, PartnerSpec, Simulator, SimulatorSettings
from conformance.simulator.clock import parse_iso

POOL = "EUR-USDT"
DEST = "TXYZexampleAddress000000000000000"
TERMINAL_EVENTS = {"settled", "failed", "released"}
ALLOWED_MOVES = {
    "reserved": {"reserved", "settled", "failed", "released"},
    "settled": {"settled", "returned"},
    "failed": {"failed"},
    "released": {"released"},
    "returned": {"returned"},
}
MARGIN_SECONDS = 3.0  # real time passes too: no verdict on a quote this close to expiry


@dataclass
class QuoteModel:
    """What the machine knows of one firm quote."""

    quote_id: str
    fiat_amount: Decimal
    expires_at: datetime
    rejected: bool = False
    trade_id: str | None = None


@dataclass(frozen=True)
class Stored:
    """A transact answered 200 under a key: what a replay must repeat byte for byte."""

    quote_id: str
    body: bytes


class MoneyMachine(RuleBasedStateMachine):
    """One fresh partner per run; the simulator is shared across runs."""

    sim: Simulator
    contract: Contract

    quotes = Bundle("quotes")

    def __init__(self) -> None:
        super().__init__()
        creds = self.sim.control.provision_partner(
            PartnerSpec(name="stateful", initial_balance=Decimal("1000")))
        self.partner_id = creds.partner_id
        self.api = ContractClient(self.sim.api_url, creds.secret_key, self.contract)
        self.models: dict[str, QuoteModel] = {}
        self.stored: dict[str, Stored] = {}
        self.last_status: dict[str, str] = {}

    def teardown(self) -> None:
        self.api.close()

    # -- helpers ------------------------------------------------------------------------

    def _phase(self, model: QuoteModel) -> str | None:
        """The quote's status by precedence, or None when too close to expiry to tell."""
        if model.rejected:
            return "rejected"
        if model.trade_id is not None:
            return "consumed"
        left = (model.expires_at - self.sim.control.clock().now).total_seconds()
        if abs(left) < MARGIN_SECONDS:
            return None
        return "active" if left > 0 else "expired"

    # -- rules --------------------------------------------------------------------------

    @rule(target=quotes, amount=st.sampled_from(["10.00", "10.20", "16.40", "19.99", "250.00",
                                                  "600.00"]))
    def create_quote(self, amount: str) -> str:
        answer = self.api.post(f"/pools/{POOL}/quote",
                               json={"side": "on_ramp", "amount": amount, "destAddress": DEST})
        assert answer.status_code == 200
        body = answer.json()
        self.models[body["quoteId"]] = QuoteModel(
            quote_id=body["quoteId"], fiat_amount=Decimal(body["fiatAmount"]),
            expires_at=parse_iso(body["expiresAt"]))
        return str(body["quoteId"])

    @rule(target=quotes, amount=st.sampled_from(["10.20", "19.99", "100.00"]))
    def quote_then_transact(self, amount: str) -> str:
        """The common flow: lock a quote and execute it at once with a fresh key."""
        quote_id = self.create_quote(amount)
        self.transact(quote_id, -1)
        return quote_id

    @initialize(target=quotes)
    def first_quote(self) -> str:
        return self.create_quote("100.00")

    @rule(quote_id=quotes)
    def reject(self, quote_id: str) -> None:
        model = self.models[quote_id]
        phase = self._phase(model)
        answer = self.api.post(f"/pools/quotes/{quote_id}/reject")
        if answer.status_code == 200:
            assert phase in ("active", None)
            assert answer.json()["status"] == "rejected"
            model.rejected = True
        else:
            assert answer.status_code == 409
            assert phase != "active"
            assert answer.json()["code"] == f"quote_{phase or 'expired'}"

    @rule(quote_id=quotes, reuse=st.integers(min_value=-4, max_value=3))
    def transact(self, quote_id: str, reuse: int) -> None:
        """A fresh key (reuse < 0), or one stored key again, with this quote or another."""
        used = sorted(self.stored)
        key = used[reuse % len(used)] if used and reuse >= 0 else f"key-{uuid.uuid4()}"
        model = self.models[quote_id]
        phase = self._phase(model)
        balance = self.sim.control.balance(self.partner_id)
        answer = self.api.post(f"/pools/{POOL}/transact", json={"quoteId": quote_id},
                               headers={"Idempotency-Key": key})
        earlier = self.stored.get(key)
        if earlier is not None and earlier.quote_id != quote_id:
            assert answer.status_code == 409
            assert answer.json()["code"] == "idempotency_key_reused"
            return
        if earlier is not None:
            assert answer.status_code == 200
            assert answer.content == earlier.body  # replayed byte for byte
            assert answer.headers["idempotent-replayed"] == "true"
            return
        if phase == "consumed":
            assert answer.status_code == 200
            assert answer.json()["transactId"] == model.trade_id  # same quote → same trade
        elif phase == "rejected":
            assert (answer.status_code, answer.json()["code"]) == (409, "quote_rejected")
        elif phase == "expired":
            assert (answer.status_code, answer.json()["code"]) == (409, "quote_expired")
        elif phase == "active" and balance < model.fiat_amount:
            assert (answer.status_code, answer.json()["code"]) == (402, "insufficient_balance")
        elif phase == "active":
            assert answer.status_code == 200
            assert answer.json()["status"] == "reserved"
        else:  # too close to expiresAt to say which side of it the simulator saw
            assert answer.status_code in (200, 402, 409)
        if answer.status_code == 200:
            model.trade_id = answer.json()["transactId"]
            self.stored[key] = Stored(quote_id=quote_id, body=answer.content)

    @rule(pick=st.integers(min_value=0, max_value=99))
    def retry_same_request(self, pick: int) -> None:
        """A client retry: the same key and the same body as an answered transact."""
        used = sorted(self.stored)
        if used:
            key = used[pick % len(used)]
            self.transact(self.stored[key].quote_id, used.index(key))

    @rule(pick=st.integers(min_value=0, max_value=99))
    def poll_trade(self, pick: int) -> None:
        """Poll a quote that has a trade, so settlement actually advances."""
        traded = sorted(q for q, m in self.models.items() if m.trade_id is not None)
        if traded:
            self.poll(traded[pick % len(traded)])

    @rule(quote_id=quotes)
    def poll(self, quote_id: str) -> None:
        model = self.models[quote_id]
        answer = self.api.get(f"/pools/transactions/{quote_id}")
        if model.trade_id is None:
            assert (answer.status_code, answer.json()["code"]) == (404, "trade_not_found")
        else:
            assert answer.status_code == 200
            assert answer.json()["transactId"] == model.trade_id

    @rule(quote_id=quotes)
    def read_trade(self, quote_id: str) -> None:
        trade_id = self.models[quote_id].trade_id
        if trade_id is None:
            return
        before = self.sim.control.trade(trade_id).status
        answer = self.api.get(f"/pools/trades/{trade_id}")
        assert answer.json()["status"] == before  # a pure read never advances

    @rule(status=st.sampled_from(["settled", "failed", "released", "returned", "reserved"]),
          polls=st.integers(min_value=1, max_value=3))
    def script_next(self, status: str, polls: int) -> None:
        self.sim.control.script_next_trades(self.partner_id,
                                            [OutcomePlan(status=status, polls=polls)])

    @rule(seconds=st.sampled_from([1, 5, 20]))
    def advance_clock(self, seconds: int) -> None:
        self.sim.control.advance_clock(seconds)

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def at_most_one_trade_per_quote(self) -> None:
        quote_ids = [trade.quote_id for trade in self.sim.control.trades(self.partner_id)]
        assert len(quote_ids) == len(set(quote_ids))

    @invariant()
    def statuses_only_move_forward(self) -> None:
        for trade in self.sim.control.trades(self.partner_id):
            before = self.last_status.get(trade.id, "reserved")
            assert trade.status in ALLOWED_MOVES[before], (trade.id, before, trade.status)
            self.last_status[trade.id] = trade.status

    @invariant()
    def balance_is_its_ledger(self) -> None:
        entries = self.sim.control.ledger(self.partner_id)
        balance = self.sim.control.balance(self.partner_id)
        assert balance == sum((entry.delta for entry in entries), Decimal(0))
        assert balance >= 0
        trades = {trade.quote_id: trade for trade in self.sim.control.trades(self.partner_id)}
        for quote_id, trade in trades.items():
            postings = [e for e in entries if e.ref == quote_id]
            refunded = trade.status in ("failed", "released", "returned")
            assert [e.reason for e in postings] == (
                ["buy_debit", "buy_refund"] if refunded else ["buy_debit"])
            assert sum((e.delta for e in postings), Decimal(0)) == (
                0 if refunded else -trade.fiat_amount)

    @invariant()
    def one_webhook_per_terminal_transition(self) -> None:
        events = self.sim.control.events(self.partner_id)
        seen = sorted((event.transact_id, event.type) for event in events)
        expected = []
        for trade in self.sim.control.trades(self.partner_id):
            reached = "settled" if trade.status == "returned" else trade.status
            if reached in TERMINAL_EVENTS:
                expected.append((trade.id, f"pool.transaction.{reached}"))
        assert seen == sorted(expected)


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorSettings()) as sim:
        yield sim
        assert sim.bugs == (), sim.bugs


def test_money_invariants_hold(simulator: Simulator) -> None:
    MoneyMachine.sim = simulator
    MoneyMachine.contract = Contract()
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(max_examples=examples(25), stateful_step_count=30, deadline=None,
                          derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck)),
    )
