"""Shared scenario steps: get a fresh quote, accept, wait for a terminal status, read postings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conformance.checks.provider import Provider
from conformance.driver.actions import Answer
from conformance.driver.driver import Driver, Posting, new_account
from conformance.errors import ConformanceError, PartnerGarbage

# Ordinary amounts (EUR, inside the pool's USDT limits) for scenarios that need an order.
AMOUNT = "25.00"
TERMINAL = ("done", "failed", "returned", "refused", "unavailable")
SETTLED = ("done",)


class CannotArrange(ConformanceError):
    """The partner would not do an ordinary thing a scenario needs first (so we cannot decide)."""


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
    amount: str = AMOUNT,
    ttl_s: float | None = None,
) -> Order:
    """Create an order with a firm quote; the quote id is read from the provider, not guessed."""
    account = account or new_account()
    if ttl_s is not None:
        provider.short_ttl(ttl_s)
    known = {q.id for q in provider.quotes()}
    answer = driver.create_quote(account=account, amount=amount)
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


def wait_past_expiry(provider: Provider, order: Order, *, margin_s: float = 0.4) -> None:
    """Wait, bounded, until the provider's clock is just past the quote's expiresAt."""
    remaining = (order.expires_at - provider.now()).total_seconds()
    provider.wait_until(
        order.expires_at + timedelta(seconds=margin_s), bound_s=max(0.0, remaining) + margin_s + 2.0
    )
    if provider.now() <= order.expires_at:
        raise ConformanceError("the provider clock did not pass expiresAt within the bound")


def accepted(driver: Driver, answer: Answer) -> bool:
    """The partner said the accept went through (2xx, not a refused/failed state)."""
    return answer.ok and driver.category(answer) not in ("refused", "unavailable", "failed", "open")


def refused(driver: Driver, answer: Answer) -> bool:
    """The partner said no: a 4xx, or a 2xx whose state is refused / unavailable / failed."""
    if answer.refused:
        return True
    return answer.ok and driver.category(answer) in ("refused", "unavailable", "failed")


def accept_and_settle(
    driver: Driver, provider: Provider, order: Order, categories: tuple[str, ...] = SETTLED
) -> tuple[Answer, Any]:
    """Accept, require a trade at the provider, and wait for the order to reach ``categories``."""
    answer = driver.accept(order.order_ref, account=order.account)
    if answer.server_error:
        raise CannotArrange(f"accept of an ordinary order answered HTTP {answer.status_code}")
    trade = require_trade(driver, provider, order, answer)
    final = driver.wait_for(order.order_ref, account=order.account, categories=categories)
    return final, trade


def require_trade(
    driver: Driver, provider: Provider, order: Order, answer: Answer | None = None
) -> Any:
    """The trade an accepted order made at the provider, recorded; none means we cannot decide."""
    trade = wait_for_trade(provider, order.quote_id)
    if trade is None:
        status = f" (HTTP {answer.status_code})" if answer is not None else ""
        raise CannotArrange(f"accept of {order.order_ref} made no trade at the provider{status}")
    driver.recorder.ids(transact_id=trade.id)
    return trade


def wait_for_trade(provider: Provider, quote_id: str, *, bound_s: float = 3.0) -> Any | None:
    deadline = time.monotonic() + bound_s
    while True:
        trade = provider.trade_for_quote(quote_id)
        if trade is not None or time.monotonic() >= deadline:
            return trade
        time.sleep(0.05)


def postings_for(
    driver: Driver,
    account: str,
    *,
    transact_id: str | None = None,
    quote_id: str | None = None,
    order_ref: str | None = None,
) -> tuple[Posting, ...]:
    return tuple(
        p
        for p in driver.ledger(account=account)
        if p.refers_to(transact_id=transact_id, quote_id=quote_id, order_ref=order_ref)
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


def eventually(predicate: Callable[[], bool], *, bound_s: float, interval_s: float = 0.1) -> bool:
    """Poll an observable condition until it holds or the bound passes (never a bare sleep)."""
    deadline = time.monotonic() + bound_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def require_order_field(answer: Answer, name: str) -> Any:
    value = answer.get(name)
    if value is None:
        raise PartnerGarbage(f"{answer.action} has no {name!r} at the manifest's pointer")
    return value
