"""The book's shapes (REFERENCE_PARTNER_LEDGER_STYLE) and the flaws only they can have."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reference_partner.flaws import FLAWS, LEDGER_SHAPE_FLAWS

from conformance.simulator import OutcomePlan

from .conftest import FIXTURES, Partner

# settled, returned (a credit and its reversal), released (nothing)
DAY = (("settled", "19.99"), ("returned", "25.00"), ("released", "16.40"))


def _day(p: Partner, account: str = "acct_a") -> dict[str, dict[str, Any]]:
    """One order per outcome, each waited to its end; the orders by outcome."""
    p.sim.control.script_next_trades(p.pid, [OutcomePlan(status=s) for s, _ in DAY])
    orders = {}
    for status, amount in DAY:
        resp = p.quote(amount, account=account)
        assert resp.status_code == 201, resp.text
        ref = resp.json()["orderRef"]
        assert p.accept(ref, account).status_code == 200
        orders[status] = p.wait_status(ref, status, account=account)
    p.call("POST", "/api/reconcile")
    return orders


def _start(start: Any, tmp_path: Path, style: str, flaws: str = "") -> Partner:
    env = {"REFERENCE_PARTNER_LEDGER_STYLE": style, "REFERENCE_PARTNER_DB": str(tmp_path / "db")}
    partner: Partner = start(flaws, env=env)
    return partner


def _rows(tmp_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "db") as db:
        return db.execute(
            "SELECT trade_id, kind, book_account, amount, typeof(amount), exponent FROM ledger "
            "ORDER BY entry_id"
        ).fetchall()


def _balance(p: Partner, account: str = "acct_a") -> str:
    return str(p.call("GET", "/api/balance", account).json()["balance"])


def test_the_ledger_shape_flaws_are_in_the_catalogue() -> None:
    assert set(LEDGER_SHAPE_FLAWS) == {"minor_units_wrong_exponent", "unbalanced_double_entry"}
    assert set(LEDGER_SHAPE_FLAWS) <= FLAWS
    assert set(LEDGER_SHAPE_FLAWS.values()) == {"minor_units", "double_entry"}


def test_decimal_is_the_default_book_unchanged(start, tmp_path: Path) -> None:
    p = start(env={"REFERENCE_PARTNER_DB": str(tmp_path / "db")})
    orders = _day(p)
    entries = p.ledger()
    assert [(e["tradeId"], e["kind"], e["amount"], e["signedAmount"]) for e in entries] == [
        (orders["settled"]["tradeId"], "credit", "19.99", "19.99"),
        (orders["returned"]["tradeId"], "credit", "25.00", "25.00"),
        (orders["returned"]["tradeId"], "reversal", "25.00", "-25.00"),
    ]
    assert all("account" not in e and "amountMinor" not in e for e in entries)
    assert {r[4] for r in _rows(tmp_path)} == {"text"}  # decimal strings in SQLite
    assert _balance(p) == "19.99"


def test_minor_units_book(start, tmp_path: Path) -> None:
    p = _start(start, tmp_path, "minor_units")
    orders = _day(p)
    entries = p.ledger()
    assert [
        (e["tradeId"], e["kind"], e["amountMinor"], e["signedAmountMinor"], e["exponent"])
        for e in entries
    ] == [
        (orders["settled"]["tradeId"], "credit", 1999, 1999, 2),
        (orders["returned"]["tradeId"], "credit", 2500, 2500, 2),
        (orders["returned"]["tradeId"], "reversal", 2500, -2500, 2),
    ]
    assert all(type(e["amountMinor"]) is int and "amount" not in e for e in entries)
    body = p.call("GET", "/api/ledger").json()
    assert (body["totalMinor"], body["exponent"]) == (1999, 2)
    # Stored as INTEGER minor units with the exponent on each row.
    assert [(r[3], r[4], r[5]) for r in _rows(tmp_path)] == [
        (1999, "integer", 2), (2500, "integer", 2), (2500, "integer", 2)
    ]
    assert _balance(p) == "19.99"


def test_double_entry_book(start, tmp_path: Path) -> None:
    p = _start(start, tmp_path, "double_entry")
    orders = _day(p)
    settled, returned = orders["settled"]["tradeId"], orders["returned"]["tradeId"]
    entries = p.ledger()
    assert [(e["tradeId"], e["kind"], e["account"], e["amount"]) for e in entries] == [
        (settled, "credit", "customer_wallets", "19.99"),
        (settled, "credit", "settlement", "-19.99"),
        (returned, "credit", "customer_wallets", "25.00"),
        (returned, "credit", "settlement", "-25.00"),
        (returned, "reversal", "customer_wallets", "-25.00"),
        (returned, "reversal", "settlement", "25.00"),
    ]
    # Both lines of an entry name the order, quote, trade and event.
    for first, second in zip(entries[::2], entries[1::2], strict=True):
        for key in ("orderRef", "quoteId", "tradeId", "eventId", "journalId"):
            assert first[key] == second[key] and first[key], key
    for trade_id in (settled, returned):
        lines = [Decimal(e["amount"]) for e in entries if e["tradeId"] == trade_id]
        assert sum(lines) == 0
    assert p.call("GET", "/api/ledger").json()["total"] == "19.99"
    assert _balance(p) == "19.99"
    assert {r[4] for r in _rows(tmp_path)} == {"text"}


def test_double_entry_replay_posts_both_lines_once(start, tmp_path: Path) -> None:
    p = _start(start, tmp_path, "double_entry")
    order = p.quote("10.20").json()
    trade_id = p.accept(order["orderRef"]).json()["tradeId"]
    p.wait_status(order["orderRef"], "settled")
    event = next(e for e in p.sim.control.events(p.pid) if e.transact_id == trade_id)
    for _ in range(3):
        p.sim.control.redeliver(event.id)
    p.call("POST", "/api/reconcile")
    lines = [(e["account"], e["amount"]) for e in p.ledger() if e["tradeId"] == trade_id]
    assert lines == [("customer_wallets", "10.20"), ("settlement", "-10.20")]


# -- the shapes' flaws -------------------------------------------------------------------------

def test_minor_units_wrong_exponent_writes_a_tenth(start, tmp_path: Path) -> None:
    p = _start(start, tmp_path, "minor_units", "minor_units_wrong_exponent")
    orders = _day(p)
    entries = p.ledger()
    assert [(e["kind"], e["amountMinor"], e["exponent"]) for e in entries] == [
        ("credit", 199, 2),  # 19.99 -> 199.9, truncated: 1.99 as read
        ("credit", 250, 2),  # 25.00 written as 250 with exponent 2: 2.50
        ("reversal", 250, 2),
    ]
    assert entries[1]["tradeId"] == orders["returned"]["tradeId"]
    assert _balance(p) == "1.99"


def test_unbalanced_double_entry_loses_the_settlement_side_of_a_return(
    start, tmp_path: Path
) -> None:
    p = _start(start, tmp_path, "double_entry", "unbalanced_double_entry")
    orders = _day(p)
    settled, returned = orders["settled"]["tradeId"], orders["returned"]["tradeId"]
    entries = p.ledger()
    assert [(e["tradeId"], e["kind"], e["account"], e["amount"]) for e in entries] == [
        (settled, "credit", "customer_wallets", "19.99"),
        (settled, "credit", "settlement", "-19.99"),
        (returned, "credit", "customer_wallets", "25.00"),
        (returned, "credit", "settlement", "-25.00"),
        (returned, "reversal", "customer_wallets", "-25.00"),
    ]
    assert sum(Decimal(e["amount"]) for e in entries if e["tradeId"] == returned) != 0
    # The customer's side is right: only the book's balance shows the flaw.
    assert _balance(p) == "19.99"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"REFERENCE_PARTNER_LEDGER_STYLE": "triple_entry"},
            "REFERENCE_PARTNER_LEDGER_STYLE: must be one of decimal, minor_units, double_entry",
            id="unknown-style",
        ),
        pytest.param(
            {"REFERENCE_PARTNER_FLAWS": "minor_units_wrong_exponent"},
            "minor_units_wrong_exponent needs REFERENCE_PARTNER_LEDGER_STYLE=minor_units",
            id="shape-flaw-on-the-decimal-book",
        ),
        pytest.param(
            {"REFERENCE_PARTNER_FLAWS": "unbalanced_double_entry",
             "REFERENCE_PARTNER_LEDGER_STYLE": "minor_units"},
            "unbalanced_double_entry needs REFERENCE_PARTNER_LEDGER_STYLE=double_entry",
            id="shape-flaw-on-another-book",
        ),
        pytest.param(
            {"REFERENCE_PARTNER_FLAWS": "unbalanced_double_entry,no_such_flaw",
             "REFERENCE_PARTNER_LEDGER_STYLE": "double_entry"},
            "unknown flaw name(s) no_such_flaw",
            id="unknown-flaw-still-stops",
        ),
    ],
)
def test_a_bad_ledger_setting_stops_the_app(clean, env: dict[str, str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reference_partner"], cwd=FIXTURES,
        env={**clean.env, "REFERENCE_PARTNER_FLAWS": "", "PORT": "1", **env},
        capture_output=True, text=True, timeout=20,
    )
    assert done.returncode == 2
    assert message in done.stderr
