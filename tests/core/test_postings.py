"""One reader for every ledger shape (postings.py), and the reconciliation that uses it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from conformance.checks.recon import reconcile
from conformance.driver.manifest import LedgerSpec, ProviderSpec
from conformance.driver.postings import Posting, read_posting
from conformance.errors import PartnerGarbage
from conformance.money import to_decimal
from conformance.simulator.models import Trade


def provider(
    *,
    amount: str = "decimal",
    exponent: int | None = None,
    customer_accounts: tuple[str, ...] = (),
    reversal: str = "kind",
) -> ProviderSpec:
    return ProviderSpec(
        pool_id="EUR-USDT",
        side="on_ramp",
        network="tron",
        signature_scheme="0bit",
        timeout_s=2,
        poll_interval_s=0.3,
        ledger_amount="fiatAmount",
        reversal=reversal,
        reversal_kind="reversal" if reversal == "kind" else None,
        states={},
        ledger=LedgerSpec(amount=amount, exponent=exponent, customer_accounts=customer_accounts),
    )


DECIMAL = provider()
MINOR_FIXED = provider(amount="minor_units", exponent=2)
MINOR_PER_ITEM = provider(amount="minor_units")
DOUBLE = provider(customer_accounts=("customer_wallets",), reversal="negative_amount")
DOUBLE_KIND = provider(customer_accounts=("customer_wallets",))


def item(**fields: Any) -> dict[str, Any]:
    return {"kind": "credit", "transact_id": "txn_1", "event_id": "evt_1", **fields}


def parsed(text: str) -> Any:
    """A partner's answer as the driver parses it: JSON numbers exact, as Decimal."""
    return json.loads(text, parse_float=Decimal)


# -- decimal -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw", [pytest.param("10.20", id="string"), pytest.param(Decimal("10.20"), id="json-number")]
)
def test_decimal_amounts_are_read_exactly(raw: object) -> None:
    posting = read_posting(item(amount=raw), DECIMAL)
    assert posting.amount == Decimal("10.20") and str(posting.amount) == "10.20"
    assert not posting.reversal and posting.customer and posting.signed == Decimal("10.20")


def test_decimal_reversal_by_kind_is_signed_negative() -> None:
    posting = read_posting(item(amount="10.20", kind="reversal"), DECIMAL)
    assert posting.reversal and posting.amount == Decimal("10.20")
    assert posting.signed == Decimal("-10.20")


def test_negative_amount_representation() -> None:
    spec = provider(reversal="negative_amount")
    assert read_posting(item(amount="-19.99"), spec).reversal
    assert not read_posting(item(amount="19.99"), spec).reversal


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="missing"),
        pytest.param("ten", id="word"),
        pytest.param("NaN", id="nan"),
        pytest.param(True, id="bool"),
        pytest.param(10.2, id="float"),
    ],
)
def test_an_unreadable_amount_is_garbage_naming_the_field(raw: object) -> None:
    with pytest.raises(PartnerGarbage, match="actions.ledger.item.amount"):
        read_posting(item(amount=raw), DECIMAL)


def test_no_float_on_the_way() -> None:
    """A float would already have lost the cent: refused, never rounded back."""
    assert to_decimal(0.1 + 0.2) is None
    assert to_decimal(parsed("0.30")) == Decimal("0.30")
    assert isinstance(read_posting(item(amount=parsed("19.99")), DECIMAL).amount, Decimal)


# -- minor units ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("minor", "major"),
    [(1020, "10.20"), (2500, "25.00"), (1999, "19.99"), (1, "0.01"), (0, "0.00")],
)
def test_minor_units_with_a_fixed_exponent(minor: int, major: str) -> None:
    posting = read_posting(item(amount=minor), MINOR_FIXED)
    assert posting.amount == Decimal(major) and str(posting.amount) == major


def test_minor_units_are_exact_where_float_division_is_not() -> None:
    posting = read_posting(item(amount=1020), MINOR_FIXED)
    assert posting.amount == Decimal("10.20")
    assert Decimal(1020 / 100) != Decimal("10.20")  # what a float division would have given
    total = sum((read_posting(item(amount=m), MINOR_FIXED).amount for m in (1020, 1640, 1999)),
                Decimal(0))
    assert total == Decimal("46.59")


def test_minor_units_with_the_exponent_on_each_posting() -> None:
    assert read_posting(item(amount=2500, exponent=2), MINOR_PER_ITEM).amount == Decimal("25.00")
    assert read_posting(item(amount=2500, exponent=0), MINOR_PER_ITEM).amount == Decimal(2500)
    usdt = read_posting(item(amount="10890000", exponent="6"), MINOR_PER_ITEM)
    assert usdt.amount == Decimal("10.890000")
    from_json = read_posting(item(amount=parsed("2500"), exponent=parsed("2.0")), MINOR_PER_ITEM)
    assert from_json.amount == Decimal("25.00")


def test_a_fixed_exponent_wins_over_the_posting() -> None:
    assert read_posting(item(amount=2500, exponent=3), MINOR_FIXED).amount == Decimal("25.00")


def test_the_wrong_exponent_is_read_as_written() -> None:
    """250 with exponent 2 is 2.50: the harness reads the book, it does not guess."""
    assert read_posting(item(amount=250, exponent=2), MINOR_PER_ITEM).amount == Decimal("2.50")


def test_minor_units_reversal_by_kind() -> None:
    posting = read_posting(item(amount=2500, exponent=2, kind="reversal"), MINOR_PER_ITEM)
    assert posting.reversal and posting.signed == Decimal("-25.00")


@pytest.mark.parametrize(
    "exponent",
    [
        pytest.param(None, id="missing"),
        pytest.param("two", id="word"),
        pytest.param(-2, id="negative"),
        pytest.param(19, id="too-large"),
        pytest.param(Decimal("2.5"), id="fractional"),
        pytest.param(2.0, id="float"),
        pytest.param(True, id="bool"),
    ],
)
def test_a_garbage_exponent_is_garbage_naming_the_field(exponent: object) -> None:
    with pytest.raises(PartnerGarbage, match="actions.ledger.item.exponent"):
        read_posting(item(amount=2500, exponent=exponent), MINOR_PER_ITEM)


def test_a_fractional_minor_unit_count_is_garbage() -> None:
    with pytest.raises(PartnerGarbage, match="not an integer"):
        read_posting(item(amount="2500.5"), MINOR_FIXED)


# -- double entry --------------------------------------------------------------------------

def test_double_entry_sides_are_told_apart_by_account() -> None:
    wallet = read_posting(item(amount="25.00", account="customer_wallets"), DOUBLE)
    clearing = read_posting(item(amount="-25.00", account="settlement"), DOUBLE)
    assert wallet.customer and not wallet.reversal and wallet.signed == Decimal("25.00")
    assert not clearing.customer and not clearing.reversal
    assert clearing.signed == Decimal("-25.00") and clearing.amount == Decimal("25.00")
    assert wallet.signed + clearing.signed == 0


def test_double_entry_return_reverses_the_customer_line_only() -> None:
    back = read_posting(item(amount="-25.00", account="customer_wallets"), DOUBLE)
    clearing = read_posting(item(amount="25.00", account="settlement"), DOUBLE)
    assert back.customer and back.reversal and back.signed == Decimal("-25.00")
    assert not clearing.reversal and clearing.signed == Decimal("25.00")


def test_double_entry_with_reversal_by_kind_keeps_the_books_signs() -> None:
    lines = [
        read_posting(item(amount="-25.00", account="customer_wallets", kind="reversal"),
                     DOUBLE_KIND),
        read_posting(item(amount="25.00", account="settlement", kind="reversal"), DOUBLE_KIND),
    ]
    assert [p.reversal for p in lines] == [True, False]
    assert sum(p.signed or 0 for p in lines) == 0


def test_double_entry_line_without_account_is_garbage_naming_the_field() -> None:
    with pytest.raises(PartnerGarbage, match="actions.ledger.item.account"):
        read_posting(item(amount="25.00"), DOUBLE)


def test_double_entry_in_minor_units() -> None:
    spec = provider(amount="minor_units", exponent=2, customer_accounts=("wallets", "savings"),
                    reversal="negative_amount")
    assert read_posting(item(amount=-1020, account="clearing"), spec).signed == Decimal("-10.20")
    assert read_posting(item(amount=1020, account="savings"), spec).customer


# -- reconciliation ------------------------------------------------------------------------

NOW = datetime(2026, 5, 25, 12, 0, tzinfo=UTC)


def trade(n: int, status: str = "settled", amount: str = "10.20") -> Trade:
    return Trade(
        id=f"txn_{n}", seq=n, partner_id="ptn", quote_id=f"pq_{n}", pool_id="EUR-USDT",
        side="on_ramp", status=status, fiat_currency="EUR", crypto_currency="USDT",
        fiat_amount=Decimal(amount), crypto_amount=Decimal(amount), rate=Decimal(1),
        crypto_network="tron", dest_address="T" * 34, idempotency_key=f"key-{n}",
        created_at=NOW, updated_at=NOW,
    )


def line(n: int, signed: str, *, account: str = "customer_wallets", event: str | None = None,
         **ids: Any) -> Posting:
    value = Decimal(signed)
    customer = account == "customer_wallets"
    keys = {"transact_id": f"txn_{n}", "quote_id": None, "order_ref": None, **ids}
    return Posting(
        amount=abs(value), reversal=customer and value < 0, kind=None,
        event_id=event or f"evt_{n}", account=account, customer=customer, signed=value, **keys,
    )


def both(n: int, amount: str, *, event: str | None = None) -> list[Posting]:
    return [line(n, amount, event=event), line(n, str(-Decimal(amount)), account="settlement",
                                                event=event)]


REFS = {"pq_1": "ord_1", "pq_2": "ord_2", "pq_3": "ord_3"}


def test_recon_judges_the_customer_side_of_a_balanced_book() -> None:
    trades = [trade(1), trade(2, "returned", "19.99"), trade(3, "released")]
    postings = both(1, "10.20") + both(2, "19.99") + both(2, "-19.99", event="evt_2r")
    result = reconcile(trades, postings, amount_field="fiatAmount", order_refs=REFS,
                       double_entry=True)
    assert result.clean, result.drift
    assert result.expected_total == result.posted_total == Decimal("10.20")


def test_other_trades_of_the_partner_are_out_of_scope() -> None:
    """A global finance book holds postings for the partner's other trades: set aside."""
    trades = [trade(1)]
    postings = [
        line(1, "10.20"),
        line(7, "99.99"),  # another scenario's trade, by trade id
        line(8, "5.00", transact_id=None, quote_id="pq_8"),  # by quote id
        line(9, "6.00", transact_id=None, order_ref="ord_9"),  # by order ref
    ]
    result = reconcile(trades, postings, amount_field="fiatAmount", order_refs=REFS,
                       known_elsewhere={"txn_7", "pq_8", "ord_9"})
    assert result.clean, result.drift
    assert result.posted_total == Decimal("10.20") and result.out_of_scope == 3


def test_a_posting_for_no_known_trade_is_still_extra() -> None:
    trades = [trade(1)]
    postings = [line(1, "10.20"), line(7, "99.99"), line(42, "1.00", event="evt_ghost")]
    result = reconcile(trades, postings, amount_field="fiatAmount", order_refs=REFS,
                       known_elsewhere={"txn_7"})
    assert [(d.problem, d.transact_id, d.event_id) for d in result.drift] == [
        ("extra", "txn_42", "evt_ghost")
    ]
    assert result.posted_total == Decimal("11.20")


def test_the_scenarios_own_trades_are_judged_even_if_also_known_elsewhere() -> None:
    result = reconcile([trade(1)], [line(1, "10.20"), line(1, "10.20")],
                       amount_field="fiatAmount", order_refs=REFS, known_elsewhere={"txn_1"})
    assert [d.problem for d in result.drift] == ["duplicate"]


def test_unbalanced_entries_are_drift_naming_order_trade_and_event() -> None:
    trades = [trade(1), trade(2, "returned", "19.99"), trade(3, amount="16.40")]
    postings = (
        both(1, "10.20")
        + both(2, "19.99") + [line(2, "-19.99", event="evt_2r")]  # the return's other side lost
        + [line(3, "16.40"), line(3, "-16.39", account="settlement")]  # sides differ by a cent
    )
    result = reconcile(trades, postings, amount_field="fiatAmount", order_refs=REFS,
                       events={"txn_1": "evt_1", "txn_2": "evt_2", "txn_3": "evt_3"},
                       double_entry=True)
    rows = {d.transact_id: d for d in result.drift}
    assert set(rows) == {"txn_2", "txn_3"}
    assert {d.problem for d in result.drift} == {"unbalanced"}
    assert (rows["txn_2"].order_ref, rows["txn_2"].event_id) == ("ord_2", "evt_2r")
    assert "sum -19.99" in rows["txn_2"].posted
    assert (rows["txn_3"].order_ref, rows["txn_3"].quote_id) == ("ord_3", "pq_3")
    assert "sum 0.01" in rows["txn_3"].posted and rows["txn_3"].fix
    # the customer side itself is right: totals agree
    assert result.expected_total == result.posted_total


def test_a_missing_settlement_line_is_unbalanced() -> None:
    result = reconcile([trade(1)], [line(1, "10.20")], amount_field="fiatAmount",
                       order_refs=REFS, double_entry=True)
    assert [d.problem for d in result.drift] == ["unbalanced"]


def test_balance_is_checked_only_for_a_declared_double_entry_book() -> None:
    result = reconcile([trade(1)], [line(1, "10.20")], amount_field="fiatAmount",
                       order_refs=REFS)
    assert result.clean


def test_a_lone_settlement_line_on_a_released_trade_is_unbalanced_not_a_credit() -> None:
    result = reconcile([trade(3, "released")], [line(3, "-16.40", account="settlement")],
                       amount_field="fiatAmount", order_refs=REFS, double_entry=True)
    assert [d.problem for d in result.drift] == ["unbalanced"]
    assert result.posted_total == 0


def test_the_wrong_exponent_shows_as_an_amount_mismatch() -> None:
    posting = read_posting(item(amount=250, exponent=2, transact_id="txn_1"), MINOR_PER_ITEM)
    result = reconcile([trade(1, amount="25.00")], [posting], amount_field="fiatAmount",
                       order_refs=REFS)
    assert [(d.problem, d.expected, d.posted) for d in result.drift] == [
        ("amount_mismatch", "25.00", "2.50")
    ]
    assert result.posted_total != result.expected_total
