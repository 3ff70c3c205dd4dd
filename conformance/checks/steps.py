"""Shared scenario steps: a fresh order, accept and observe, wait for a state, read postings.

Every act-then-judge step goes through :func:`conformance.checks.observe.observe`, with
bounds from :class:`conformance.driver.timings.Timings` (the partner's declared timings),
so no scenario waits for a number tuned to one partner.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from conformance.checks.named import said_no
from conformance.checks.observe import GOING, NO, Observation, Snapshot, observe
from conformance.checks.provider import Provider
from conformance.checks.waits import eventually
from conformance.driver.actions import Answer
from conformance.driver.driver import Driver, new_account
from conformance.driver.postings import Posting
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange, ConformanceError

__all__ = [
    "Accepted",
    "CannotArrange",
    "Order",
    "accept_and_observe",
    "accept_and_settle",
    "eventually",
    "fresh_order",
    "postings_for",
    "require_trade",
    "settle_amount",
    "trade_postings",
    "wait_for_state",
    "wait_past_expiry",
]



@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """An order the harness created: the partner's reference and the provider's quote."""

    account: str
    order_ref: str
    quote_id: str
    expires_at: datetime
    answer: Answer


def fresh_order(
    driver: Driver,
    provider: Provider,
    *,
    account: str | None = None,
    amount: str | None = None,
    ttl_s: float | None = None,
    network: str | None = None,
) -> Order:
    """Create an order with a firm quote; the quote id is read from the provider, not guessed.

    This is also the positive control of every "refused" check: the partner quotes an
    ordinary order in the same conditions.
    """
    account = account or new_account()
    amount = amount or provider.ordinary_amount()
    if ttl_s is not None:
        provider.short_ttl(ttl_s)
    known = {q.id for q in provider.quotes()}
    answer = driver.create_quote(account=account, amount=amount, network=network)
    if not answer.ok:
        raise CannotArrange(
            f"create_quote for an ordinary amount {amount} answered HTTP {answer.status_code}: "
            f"{answer.text[:200]!r}"
        )
    order_ref = str(answer.require("order_ref"))
    created = [q for q in provider.quotes() if q.id not in known]
    if len(created) != 1:
        raise CannotArrange(
            f"create_quote made {len(created)} firm quotes at the provider (expected 1)"
        )
    quote = created[0]
    driver.recorder.ids(order_ref=order_ref, quote_id=quote.id)
    return Order(
        account=account,
        order_ref=order_ref,
        quote_id=quote.id,
        expires_at=quote.expires_at,
        answer=answer,
    )


def wait_past_expiry(provider: Provider, order: Order, *, timings: Timings) -> None:
    """Wait, bounded, until the provider's clock is just past the quote's expiresAt."""
    margin = timings.read_interval_s * 4
    remaining = (order.expires_at - provider.now()).total_seconds()
    provider.wait_until(
        order.expires_at + timedelta(seconds=margin),
        bound_s=max(0.0, remaining) + margin + timings.call_s,
    )
    if provider.now() <= order.expires_at:
        raise ConformanceError("the provider clock did not pass expiresAt within the bound")


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """An accept and what was observed after it, over the whole window."""

    answer: Answer
    seen: Observation
    mark: int  # journal position just before the accept


def accept_and_observe(
    driver: Driver,
    provider: Provider,
    order: Order,
    *,
    expect: Literal["execution", "refusal"],
    account: str | None = None,
) -> Accepted:
    """Accept (as ``account``, default the owner) and observe the order and its quote.

    ``refusal``: watch at least :attr:`Timings.dispatch_s` (a queued transact has had its
    chance), until the partner said no in its answer or the order moved to a refused state,
    or a transact showed up. ``execution``: until the trade exists and the order is going
    ahead, or it moved to a refused state.
    """
    timings = Timings.of(driver.manifest)
    mark = provider.mark()
    answer = driver.accept(order.order_ref, account=account or order.account)
    if expect == "refusal":
        no_now = said_no(driver, answer)

        def until(s: Snapshot) -> bool:
            return bool(s.transacts) or no_now or s.category in NO

        seen = observe(
            driver, provider, account=order.account, order_ref=order.order_ref,
            quote_id=order.quote_id, since=mark, until=until, min_s=timings.dispatch_s,
        )
    else:

        def until(s: Snapshot) -> bool:
            return (s.trade is not None and s.category in GOING) or s.category in NO

        seen = observe(
            driver, provider, account=order.account, order_ref=order.order_ref,
            quote_id=order.quote_id, since=mark, until=until,
            bound_s=timings.dispatch_s + timings.call_s, quiet=False,
        )
    return Accepted(answer=answer, seen=seen, mark=mark)


def require_trade(
    driver: Driver, provider: Provider, order: Order, answer: Answer | None = None
) -> Any:
    """The trade an accepted order made at the provider, recorded; none means we cannot decide."""
    timings = Timings.of(driver.manifest)
    eventually(
        lambda: provider.trade_for_quote(order.quote_id) is not None,
        bound_s=timings.dispatch_s + timings.call_s,
        interval_s=timings.read_interval_s,
    )
    trade = provider.trade_for_quote(order.quote_id)
    if trade is None:
        status = f" (HTTP {answer.status_code})" if answer is not None else ""
        raise CannotArrange(f"accept of {order.order_ref} made no trade at the provider{status}")
    driver.recorder.ids(transact_id=trade.id)
    return trade


def wait_for_state(
    driver: Driver,
    provider: Provider,
    order: Order,
    categories: Collection[str],
    *,
    also: Any = None,
) -> Observation:
    """Observe the order until its state is in ``categories`` (bounded; reconcile halfway)."""
    mark = provider.mark()

    def until(s: Snapshot) -> bool:
        return s.category in categories and (also is None or also(s))

    return observe(
        driver, provider, account=order.account, order_ref=order.order_ref,
        quote_id=order.quote_id, since=mark, until=until, reconcile=True, quiet=False,
    )


def accept_and_settle(
    driver: Driver, provider: Provider, order: Order, categories: Collection[str] = ("done",)
) -> tuple[Observation, Any]:
    """Accept, require a trade at the provider, and wait for the order to reach ``categories``."""
    answer = driver.accept(order.order_ref, account=order.account)
    if answer.server_error:
        raise CannotArrange(f"accept of an ordinary order answered HTTP {answer.status_code}")
    trade = require_trade(driver, provider, order, answer)
    return wait_for_state(driver, provider, order, categories), trade


def postings_for(
    driver: Driver,
    account: str,
    *,
    transact_id: str | None = None,
    quote_id: str | None = None,
    order_ref: str | None = None,
) -> tuple[Posting, ...]:
    """The customer-side postings that refer to one trade (by trade, quote or order id).

    Matched by id, so a ledger per account and one finance book for every customer read
    the same; other trades' postings are out of scope here.
    """
    return tuple(
        p
        for p in driver.ledger(account=account)
        if p.customer
        and p.refers_to(transact_id=transact_id, quote_id=quote_id, order_ref=order_ref)
    )


def trade_postings(driver: Driver, order: Order, transact_id: str) -> tuple[Posting, ...]:
    """The partner's postings that refer to this order's trade (by trade, quote or order id)."""
    return postings_for(
        driver,
        order.account,
        transact_id=transact_id,
        quote_id=order.quote_id,
        order_ref=order.order_ref,
    )


def settle_amount(driver: Driver, trade: Any) -> Any:
    """The amount the partner declared its postings carry (fiatAmount or cryptoAmount)."""
    field = driver.manifest.provider.ledger_amount
    return trade.fiat_amount if field == "fiatAmount" else trade.crypto_amount
