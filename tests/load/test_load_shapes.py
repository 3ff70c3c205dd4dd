"""Correct partner shapes the load run must not take for flaws, and a manifest it refuses.

A shared book naming trades only by the provider's id, ledger lines naming only the order
ref, an accept queued for a worker (202 with no body): each is a correct shape and must be
judged as such. A create_quote with no quote id cannot be tied to the provider under load:
the run is refused (a harness error naming the field), never judged.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.driver.manifest import load_manifest
from conformance.driver.postings import Posting
from conformance.errors import ManifestError
from conformance.load.judge import Judge, ProviderView, answer_fields
from conformance.load.plan import NORMAL
from conformance.load.run import QUOTE_ID_FIELD, check_manifest, id_owners, ledger_book
from conformance.load.samples import AcceptSample, OrderRecord, RequestSample

from .provider_records import T0, FakeQuote, FakeTrade

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference_partner" / "manifest.toml"


def _order(ref: str, quote: str, account: str = "acct_1") -> OrderRecord:
    at = T0.timestamp()
    return OrderRecord(
        path=NORMAL, account=account, at=at, ended=at + 2, arranged=True, quote_status=201,
        order_ref=ref, quote_id=quote, final="done",  # get_order maps no transact_id
        accepts=(AcceptSample(at=at + 0.1, status=200, category="pending", transact_id=None),),
    )


def _credit(*, trade: str | None = None, ref: str | None = None,
            amount: str = "25.00") -> Posting:
    return Posting(amount=Decimal(amount), reversal=False, kind="credit", transact_id=trade,
                   quote_id=None, order_ref=ref, event_id=None)


def _judge(orders: list[OrderRecord], trades: list[FakeTrade], postings: list[Posting]) -> Judge:
    expires = T0 + timedelta(seconds=15)
    quotes = {t.quote_id: FakeQuote(t.quote_id, t.dest_address, expires) for t in trades}
    view = ProviderView(quotes=quotes, trades=trades, journal=[], replayed={},
                        replays_delivered=0)
    requests = [RequestSample(action="accept", at=T0.timestamp(), ms=10.0, status=200)]
    return Judge(orders=orders, requests=requests, provider=view, postings=postings,
                 ledger_amount="fiatAmount", double_entry=False, retry_after_s=1,
                 error_budget=Decimal(0))


# -- 1: a shared book naming trades only by the provider's trade id -------------------------
def test_a_shared_book_naming_only_provider_trade_ids_is_read_once() -> None:
    orders = [_order("o1", "q1", "acct_a"), _order("o2", "q2", "acct_b")]
    trades = [FakeTrade("t1", "q1", "dest-1"), FakeTrade("t2", "q2", "dest-2")]
    book = (_credit(trade="t1"), _credit(trade="t2"))
    reads = [("acct_a", book), ("acct_b", book)]  # the same book, read for each account
    postings = ledger_book(reads, id_owners(orders, trades))
    assert postings == list(book)
    judge = _judge(orders, trades, postings)
    assert judge.no_duplicate_posting().held is True
    assert judge.reconciliation().held is True


def test_per_account_books_naming_provider_trade_ids_are_each_kept() -> None:
    orders = [_order("o1", "q1", "acct_a"), _order("o2", "q2", "acct_b")]
    trades = [FakeTrade("t1", "q1", "dest-1"), FakeTrade("t2", "q2", "dest-2")]
    reads = [("acct_a", (_credit(trade="t1"),)), ("acct_b", (_credit(trade="t2"),))]
    postings = ledger_book(reads, id_owners(orders, trades))
    assert [p.transact_id for p in postings] == ["t1", "t2"]


def test_a_provider_trade_is_owned_by_the_account_of_its_quote() -> None:
    orders = [_order("o1", "q1", "acct_a")]
    owners = id_owners(orders, [FakeTrade("t1", "q1", None), FakeTrade("t9", "q9", None)])
    assert owners["t1"] == "acct_a" and "t9" not in owners


# -- 2: ledger lines naming only the order ref ----------------------------------------------
def test_credits_naming_only_the_order_ref_are_matched_to_its_trade() -> None:
    orders = [_order("o1", "q1"), _order("o2", "q2")]
    trades = [FakeTrade("t1", "q1", "dest-1"), FakeTrade("t2", "q2", "dest-2")]
    judge = _judge(orders, trades, [_credit(ref="o1"), _credit(ref="o2")])
    held = judge.no_duplicate_posting()
    assert (held.held, held.observed) == (True, 2)
    assert judge.reconciliation().held is True


def test_a_trade_credited_twice_by_order_ref_breaks_the_guarantee() -> None:
    judge = _judge([_order("o1", "q1")], [FakeTrade("t1", "q1", "dest-1")],
                   [_credit(ref="o1"), _credit(ref="o1")])
    assert judge.no_duplicate_posting().held is False


def test_an_order_ref_two_orders_share_is_not_guessed() -> None:
    orders = [_order("o1", "q1", "acct_a"), _order("o1", "q2", "acct_b")]
    trades = [FakeTrade("t1", "q1", "dest-1"), FakeTrade("t2", "q2", "dest-2")]
    held = _judge(orders, trades, [_credit(ref="o1")]).no_duplicate_posting()
    assert (held.held, held.observed) == (None, 0)


# -- 3: an accept queued for a worker -------------------------------------------------------
def test_an_empty_2xx_is_readable_when_the_manifest_maps_no_needed_field() -> None:
    assert answer_fields({"error": "/error/code"}, "", ("status",)) == ({}, True)
    assert answer_fields({}, "", ("status",)) == ({}, True)
    fields, readable = answer_fields({"transact_id": "/id"}, '{"id": "t1"}', ("status",))
    assert (fields, readable) == ({"transact_id": "t1"}, True)


def test_a_mapped_needed_field_must_still_be_there() -> None:
    expect = {"status": "/status"}
    assert answer_fields(expect, "", ("status",)) == ({}, False)
    assert answer_fields(expect, "not json", ("status",))[1] is False
    assert answer_fields(expect, '{"other": 1}', ("status",))[1] is False
    assert answer_fields(expect, '{"status": "pending"}', ("status",)) == (
        {"status": "pending"}, True)


# -- 4: a create_quote that does not map the partner's quote id ------------------------------
def _without_quote_id(tmp_path: Path) -> Path:
    text = REFERENCE.read_text(encoding="utf-8")
    mapped = 'expect = { order_ref = "/orderRef", quote_id = "/quoteId", '
    assert mapped in text
    path = tmp_path / "manifest.toml"
    path.write_text(text.replace(mapped, 'expect = { order_ref = "/orderRef", ', 1),
                    encoding="utf-8")
    return path


def test_a_create_quote_without_quote_id_is_refused_naming_the_field(tmp_path: Path) -> None:
    check_manifest(load_manifest(REFERENCE))  # the reference maps it
    manifest = load_manifest(_without_quote_id(tmp_path))
    with pytest.raises(ManifestError) as raised:
        check_manifest(manifest)
    assert raised.value.field == QUOTE_ID_FIELD
    assert "actions.create_quote.expect.quote_id" in str(raised.value)


def test_the_load_command_exits_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "report.json"
    earlier.write_text('{"earlier": "run"}')  # a refused run never loses an earlier report
    code = main(["load", "--partner", str(_without_quote_id(tmp_path)), "--users", "1",
                 "--duration", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "actions.create_quote.expect.quote_id" in err and len(err.strip().splitlines()) == 1
    assert earlier.read_text() == '{"earlier": "run"}'
