"""The guarantees of a volume spike, judged afterwards on the provider's truth and the ledger.

Each guarantee reads what the simulator holds (its journal, quotes and trades) and the
partner's ledger, never only what the partner answered; the users' records say which
orders took which path. A guarantee with no observed case is undecided (``held=None``):
no pass without positive evidence.

Orders are tied to provider trades by the order's destination address (fresh for every
order, read from the provider's own quote), so a partner that re-quotes on accept is still
seen making a second trade for the same order; when the provider's quote carries none, by
the quote id alone.
"""

from __future__ import annotations

import fnmatch
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from conformance.checks.observe import NO
from conformance.checks.recon import reconcile
from conformance.driver.actions import read_fields
from conformance.driver.postings import Posting
from conformance.load.plan import DOUBLE, RESET
from conformance.load.results import Guarantee
from conformance.load.samples import OrderRecord, RequestSample

TRANSACT_GLOB = "/v1/pools/*/transact"
# The clock tolerance between the users' wall clock and the simulator's (same machine or NTP).
CLOCK_TOLERANCE_S = 0.05
MAX_EXAMPLES = 5

TITLES: Mapping[str, str] = {
    "load.one_trade_per_order": "Exactly one trade per accepted order under load",
    "load.double_accept_one_trade": "Two concurrent accepts of one order make one trade",
    "load.reset_retry_one_trade": "An accept retried after a reset makes one trade and settles",
    "load.no_duplicate_posting": "No settled trade is posted twice under load",
    "load.reconciliation": "The ledger reconciles with the provider's trades to the cent",
    "load.no_execution_after_expiry": "Nothing reaches the provider after its quote expired",
    "load.velocity_retry_after": "Velocity-cap 429s honour Retry-After (no retry storm)",
    "load.webhook_replay_deduped": "A replayed webhook posts nothing twice",
    "load.error_budget": "The partner's 5xx stay within its declared error budget",
    "load.answers_readable": "Every answer under load matches the manifest's mapping",
}
GUARANTEE_IDS = tuple(TITLES)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderView:
    """What the simulator held for the partner after the run (read in-process)."""

    quotes: Mapping[str, Any]  # quote id -> Quote
    trades: Sequence[Any]
    journal: Sequence[Any]
    replayed: Mapping[str, str]  # replayed event id -> transact id
    replays_delivered: int


def epoch(value: datetime) -> float:
    return value.timestamp()


def _guarantee(
    gid: str, *, observed: int, violations: Sequence[str], detail_ok: str, detail_bad: str,
    none_detail: str, fix: str = "",
) -> Guarantee:
    if violations:
        return Guarantee(id=gid, title=TITLES[gid], held=False, observed=observed,
                         detail=detail_bad, examples=tuple(violations[:MAX_EXAMPLES]),
                         fix=fix or detail_bad.split(": ", 1)[-1])
    if observed == 0:
        return Guarantee(id=gid, title=TITLES[gid], held=None, observed=0,
                         detail=f"no evidence: {none_detail}")
    return Guarantee(id=gid, title=TITLES[gid], held=True, observed=observed, detail=detail_ok)


class Judge:
    """Every guarantee of one run, from the provider's view, the ledger and the records."""

    def __init__(
        self,
        *,
        orders: Sequence[OrderRecord],
        requests: Sequence[RequestSample],
        provider: ProviderView,
        postings: Sequence[Posting],
        ledger_amount: str,
        double_entry: bool,
        retry_after_s: int,
        error_budget: Decimal,
    ) -> None:
        self.orders = [o for o in orders if o.created]
        self.requests = requests
        self.provider = provider
        self.postings = postings
        self.ledger_amount = ledger_amount
        self.double_entry = double_entry
        self.retry_after_s = retry_after_s
        self.error_budget = error_budget
        self.transacts = [
            e for e in provider.journal
            if e.method == "POST" and fnmatch.fnmatchcase(e.path, TRANSACT_GLOB)
        ]
        by_dest: dict[str, list[Any]] = defaultdict(list)
        by_quote: dict[str, list[Any]] = defaultdict(list)
        for trade in provider.trades:
            if trade.dest_address:
                by_dest[trade.dest_address].append(trade)
            by_quote[trade.quote_id].append(trade)
        self._by_dest, self._by_quote = by_dest, by_quote
        # A destination names one order only when no other order's quote carries it: a
        # partner that sends each customer's own fixed wallet (a correct shape) is tied by
        # quote id instead, so its customers' other orders are never counted as re-quotes.
        dests = Counter(self._dest_of(o) for o in self.orders)
        self._unique_dests = {d for d, n in dests.items() if d and n == 1}

    # -- ties ------------------------------------------------------------------------------
    def _dest_of(self, order: OrderRecord) -> str:
        return self._dest_of_quote(order.quote_id or "")

    def _dest_of_quote(self, quote_id: str) -> str:
        quote = self.provider.quotes.get(quote_id)
        return (quote.dest_address or "") if quote is not None else ""

    def trades_of(self, order: OrderRecord) -> list[Any]:
        dest = self._dest_of(order)
        if dest in self._unique_dests:
            return list(self._by_dest.get(dest, ()))
        return list(self._by_quote.get(order.quote_id or "", ()))

    def _label(self, order: OrderRecord, trades: Iterable[Any]) -> str:
        ids = ", ".join(t.id for t in trades) or "none"
        return f"order {order.order_ref} (quote {order.quote_id}, {order.path}): trades {ids}"

    def orphans(self) -> list[Any]:
        """Provider trades tied to no order a user recorded (lost records, or unasked trades)."""
        tied = {t.id for o in self.orders for t in self.trades_of(o)}
        return [t for t in self.provider.trades if t.id not in tied]

    # -- guarantees ------------------------------------------------------------------------
    def all(self) -> tuple[Guarantee, ...]:
        return (
            self.one_trade_per_order(),
            self.double_accept_one_trade(),
            self.reset_retry_one_trade(),
            self.no_duplicate_posting(),
            self.reconciliation(),
            self.no_execution_after_expiry(),
            self.velocity_retry_after(),
            self.webhook_replay_deduped(),
            self.error_budget_held(),
            self.answers_readable(),
        )

    def _one_trade(self, gid: str, orders: Sequence[OrderRecord], what: str) -> Guarantee:
        observed = 0
        bad: list[str] = []
        for order in orders:
            trades = self.trades_of(order)
            if trades or order.final == "done":
                observed += 1
            if len(trades) > 1:
                bad.append(self._label(order, trades))
            elif not trades and order.final == "done":
                bad.append(f"order {order.order_ref} says done but the provider has no trade")
        return _guarantee(
            gid, observed=observed, violations=bad,
            detail_ok=f"{observed} {what} each made exactly one trade at the provider",
            detail_bad=f"{len(bad)} of {observed} {what} made two or more trades (or none "
            "while the partner says done): execute the stored quote once per order (a lock "
            "or a unique constraint) with a stable Idempotency-Key; never re-quote on accept",
            none_detail=f"no {what} reached a trade",
        )

    def one_trade_per_order(self) -> Guarantee:
        return self._one_trade("load.one_trade_per_order", self.orders, "orders")

    def double_accept_one_trade(self) -> Guarantee:
        doubles = [o for o in self.orders if o.path == DOUBLE
                   and any(200 <= a.status < 300 for a in o.accepts)]
        return self._one_trade("load.double_accept_one_trade", doubles,
                               "orders accepted twice at once")

    def reset_retry_one_trade(self) -> Guarantee:
        reset_quotes = {_quote_of(e) for e in self.transacts if e.reset}
        observed = 0
        bad: list[str] = []
        for order in self.orders:
            if order.path != RESET or order.quote_id not in reset_quotes:
                continue
            trades = self.trades_of(order)
            observed += 1
            if len(trades) > 1:
                bad.append(self._label(order, trades))
            elif trades and order.final in NO:
                bad.append(f"order {order.order_ref} ended {order.final} although the "
                           f"provider made trade {trades[0].id}")
        return _guarantee(
            "load.reset_retry_one_trade", observed=observed, violations=bad,
            detail_ok=f"{observed} accepts whose transact answer was lost (reset after "
            "commit) made one trade and did not end refused or failed",
            detail_bad=f"{len(bad)} of {observed} accepts retried after a reset made a second "
            "trade or were marked failed: retry with the same Idempotency-Key and body, or "
            "read the status by quote id; never re-quote or mark the order failed",
            none_detail="no transact was reset after commit (no reset-path order reached "
            "the provider)",
        )

    def _trade_by_ref(self) -> dict[str, str]:
        """Order ref -> the provider trade it names, for ledger lines naming only the order.

        As ``reconcile`` matches them: the trade of the order's own quote (or its only
        trade). A ref recorded for two orders names neither: no guess.
        """
        refs = Counter(o.order_ref for o in self.orders if o.order_ref)
        by_ref: dict[str, str] = {}
        for order in self.orders:
            if not order.order_ref or refs[order.order_ref] > 1:
                continue
            trades = self.trades_of(order)
            own = [t for t in trades if t.quote_id == order.quote_id] or trades
            if own:
                by_ref[order.order_ref] = own[0].id
        return by_ref

    def _credits(self) -> dict[str, list[Posting]]:
        """Trade id -> its customer credits, matched by trade id, quote id or order ref."""
        trade_ids = {t.id for t in self.provider.trades}
        by_quote = {t.quote_id: t.id for t in self.provider.trades}
        by_ref = self._trade_by_ref()
        credits: dict[str, list[Posting]] = defaultdict(list)
        for posting in self.postings:
            if not posting.customer or posting.reversal:
                continue
            tid = (
                (posting.transact_id if posting.transact_id in trade_ids else None)
                or by_quote.get(posting.quote_id or "")
                or by_ref.get(posting.order_ref or "")
            )
            if tid is not None:
                credits[tid].append(posting)
        return credits

    def no_duplicate_posting(self) -> Guarantee:
        credits = self._credits()
        bad = [f"trade {tid}: {len(lines)} credits ({', '.join(str(p.amount) for p in lines)})"
               for tid, lines in credits.items() if len(lines) > 1]
        return _guarantee(
            "load.no_duplicate_posting", observed=len(credits), violations=bad,
            detail_ok=f"{len(credits)} credited trades were each credited once",
            detail_bad=f"{len(bad)} of {len(credits)} credited trades were credited more than "
            "once: post exactly one credit per settled trade (dedupe events and polls "
            "atomically, e.g. a unique constraint on the trade id)",
            none_detail="the ledger credited no trade of the run",
        )

    def reconciliation(self) -> Guarantee:
        refs = {o.quote_id: o.order_ref for o in self.orders if o.quote_id and o.order_ref}
        result = reconcile(
            list(self.provider.trades), self.postings, amount_field=self.ledger_amount,
            order_refs=refs, double_entry=self.double_entry,
        )
        settled = sum(1 for t in self.provider.trades if t.status == "settled")
        bad = [f"{d.problem}: trade {d.transact_id} (order {d.order_ref}) expected "
               f"{d.expected}, posted {d.posted}" for d in result.drift]
        if not bad and result.expected_total != result.posted_total:
            bad.append(f"totals differ: expected {result.expected_total}, posted "
                       f"{result.posted_total}")
        return _guarantee(
            "load.reconciliation", observed=settled, violations=bad,
            detail_ok=f"{settled} settled trades reconcile to the cent (total "
            f"{result.expected_total})",
            detail_bad=f"{len(bad)} drift row(s) between the ledger and the provider's "
            f"trades (expected {result.expected_total}, posted {result.posted_total})",
            fix="; ".join(dict.fromkeys(d.fix for d in result.drift))
            or "post exactly what the provider's trades say",
            none_detail="no trade settled during the run",
        )

    def late_accepts(self) -> dict[str, float]:
        """Quote id -> when its first accept was sent after the provider's quote expired."""
        late: dict[str, float] = {}
        for order in self.orders:
            quote = self.provider.quotes.get(order.quote_id or "")
            if quote is None:
                continue
            expiry = epoch(quote.expires_at) + CLOCK_TOLERANCE_S
            sent = [a.at for a in order.accepts if a.at > expiry]
            if sent:
                late[quote.id] = min(sent)
        return late

    def transacts_past_expiry(self) -> list[Any]:
        """Transacts that arrived after their quote expired (whoever sent the accept when)."""
        quotes = self.provider.quotes
        return [
            e for e in self.transacts
            if (q := quotes.get(_quote_of(e) or "")) is not None
            and epoch(e.at) > epoch(q.expires_at)
        ]

    def no_execution_after_expiry(self) -> Guarantee:
        """An accept sent after expiry reaches nothing at the provider; no trade after expiry.

        A transact for an accept sent *before* expiry that arrives after it (the partner
        checked in time, the spike delayed the call) is a race the provider refuses; it is
        counted in the notes, not judged here.
        """
        quotes = self.provider.quotes
        late = self.late_accepts()
        bad: list[str] = []
        for entry in self.transacts:
            quote_id = _quote_of(entry) or ""
            if quote_id in late and epoch(entry.at) >= late[quote_id] - CLOCK_TOLERANCE_S:
                quote = quotes[quote_id]
                bad.append(f"an accept sent after quote {quote_id} expired sent a transact "
                           f"({epoch(entry.at) - epoch(quote.expires_at):.2f} s past expiry)")
        for trade in self.provider.trades:
            quote = quotes.get(trade.quote_id)
            if quote is not None and epoch(trade.created_at) > epoch(quote.expires_at):
                bad.append(f"trade {trade.id} was made after quote {quote.id} expired")
        return _guarantee(
            "load.no_execution_after_expiry", observed=len(late), violations=bad,
            detail_ok=f"{len(late)} orders accepted after their quote expired sent nothing to "
            "the provider",
            detail_bad=f"{len(bad)} transact(s) reached the provider for accepts sent after "
            "the quote expired: check expiresAt on the backend (with a margin) before "
            "executing, and ask for a new quote instead",
            none_detail="no accept was sent after its quote expired",
        )

    def _order_key(self, quote_id: str) -> str:
        """One key per order for a transact's quote: its destination when that names one
        order (so a fresh quote for the same order counts as the same order), else the quote."""
        dest = self._dest_of_quote(quote_id)
        return f"dest {dest}" if dest in self._unique_dests else f"quote {quote_id}"

    def velocity_retry_after(self) -> Guarantee:
        # By order, not by quote: answering the 429 with a fresh quote transacted at once is
        # the same retry storm as retrying the refused one.
        by_order: dict[str, list[Any]] = defaultdict(list)
        for entry in self.transacts:
            by_order[self._order_key(_quote_of(entry) or "")].append(entry)
        observed = 0
        bad: list[str] = []
        for entries in by_order.values():
            entries.sort(key=lambda e: e.seq)
            for index, entry in enumerate(entries):
                if entry.status != 429:
                    continue
                observed += 1
                later = entries[index + 1 :]
                if not later:
                    continue
                gap = epoch(later[0].at) - epoch(entry.at)
                if gap + CLOCK_TOLERANCE_S < self.retry_after_s:
                    again = _quote_of(later[0])
                    what = "retried" if again == _quote_of(entry) else f"re-quoted ({again})"
                    bad.append(f"quote {_quote_of(entry)}: {what} {gap:.2f} s after a 429 "
                               f"with Retry-After {self.retry_after_s}")
        return _guarantee(
            "load.velocity_retry_after", observed=observed, violations=bad,
            detail_ok=f"{observed} velocity-cap 429(s): no transact came back before "
            "Retry-After",
            detail_bad=f"{len(bad)} of {observed} 429s were retried before Retry-After: "
            "honour Retry-After (or refuse the order) instead of retrying at once",
            none_detail="no transact was answered 429",
        )

    def webhook_replay_deduped(self) -> Guarantee:
        credits = self._credits()
        replayed = set(self.provider.replayed.values())
        bad = [f"trade {tid}: {len(credits[tid])} credits after its event was replayed"
               for tid in sorted(replayed) if len(credits.get(tid, ())) > 1]
        observed = self.provider.replays_delivered
        return _guarantee(
            "load.webhook_replay_deduped", observed=observed, violations=bad,
            detail_ok=f"{observed} replayed webhook deliveries posted nothing twice",
            detail_bad=f"{len(bad)} trade(s) were credited again after a replayed webhook: "
            "dedupe events by eventId atomically before posting",
            none_detail="no webhook was replayed to the partner",
        )

    def error_budget_held(self) -> Guarantee:
        total = len(self.requests)
        errors = [r for r in self.requests if r.server_error]
        share = Decimal(len(errors)) / Decimal(total) if total else Decimal(0)
        shown = f"{len(errors)} of {total} answers were 5xx or none ({share:.2%})"
        bad = [] if share <= self.error_budget else [
            f"{r.action} answered {r.status or r.error or 'nothing'}" for r in errors
        ]
        return _guarantee(
            "load.error_budget", observed=total, violations=bad,
            detail_ok=f"{shown}, within the declared budget of {self.error_budget:%}",
            detail_bad=f"{shown}, over the declared budget of {self.error_budget:%}: find "
            "what fails under load (pool sizes, locks, timeouts) or declare the budget in "
            "[load] error_budget",
            none_detail="the partner answered no request",
        )

    def answers_readable(self) -> Guarantee:
        answered = [r for r in self.requests if 200 <= r.status < 300]
        unreadable = [r for r in answered if r.unreadable]
        if unreadable:
            actions = ", ".join(sorted({r.action for r in unreadable}))
            return Guarantee(
                id="load.answers_readable", title=TITLES["load.answers_readable"], held=None,
                observed=len(answered),
                detail=f"{len(unreadable)} of {len(answered)} 2xx answers ({actions}) lack a "
                "field the manifest maps: the harness cannot judge them (run `doctor`)",
            )
        return _guarantee(
            "load.answers_readable", observed=len(answered), violations=[],
            detail_ok=f"{len(answered)} 2xx answers carried every mapped field",
            detail_bad="", none_detail="the partner answered no request with 2xx",
        )


def answer_fields(
    expect: Mapping[str, str], text: str, needed: Sequence[str]
) -> tuple[dict[str, Any], bool]:
    """The manifest's mapped fields of an answer, and whether it is readable.

    Readable when every ``needed`` field the manifest maps is there. When it maps none of
    them (an accept queued for a worker, answered 202 or 204 with no body), there is
    nothing to read, so any body is readable: the order is followed through get_order.
    Used by the Locust users (``answers_readable`` judges what they marked).
    """
    body, fields = read_fields(expect, text)
    mapped = [name for name in needed if name in expect]
    if not mapped:
        return fields, True
    if body is None:
        return {}, False
    return fields, all(fields.get(name) not in (None, "") for name in mapped)


def _quote_of(entry: Any) -> str | None:
    body = entry.body
    if isinstance(body, dict):
        value = body.get("quoteId")
        return value if isinstance(value, str) else None
    return None
