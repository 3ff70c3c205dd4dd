"""Act, then observe until quiet: one way for every scenario to watch the partner after acting.

After an action a scenario reads the order (get_order), the provider's journal for the
order's quote and the provider's trade, again and again, until its condition holds **and**
the partner has sent nothing more for that quote for :attr:`Timings.quiet_s`, and at least
``min_s`` has passed (a negative check watches its whole window) — or until the bound runs
out. It decides on the whole window, never on the instant an answer returns, so a partner
that queues its work is neither failed for being slow nor let off because its transact
arrived after the harness stopped looking.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.checks.provider import Provider
from conformance.driver.actions import Answer
from conformance.driver.driver import Driver
from conformance.driver.timings import Timings

# Categories in which an order is the partner saying no.
NO = ("refused", "unavailable", "failed")
# Categories in which an order is going ahead (a queued accept shows pending first).
GOING = ("pending", "done")
# Categories that show a released trade: a clean unwind the customer may retry, so an order
# that failed, was refused, or is open again is each correct.
RELEASED = ("failed", "refused", "open")


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """One read of the order, the journal for its quote, and its trade at the provider."""

    order: Answer | None  # the last get_order answer (None when not read)
    category: str | None  # its state's declared category, None when unreadable or undeclared
    transacts: tuple[Any, ...]  # transact requests for the quote since the mark
    trade: Any | None  # the provider's trade for the quote, if any
    at_s: float  # seconds since the observation began

    @property
    def transact_id(self) -> str | None:
        if self.order is None:
            return None
        value = self.order.get("transact_id")
        return str(value) if value else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """What a window of observation saw: the last snapshot, and whether the condition held."""

    last: Snapshot
    held: bool  # the condition held (and the partner was quiet) before the bound ran out
    watched_s: float  # how long the window was watched
    min_s: float  # how long it had to be watched at least

    @property
    def complete(self) -> bool:
        """The window was watched for at least its minimum (a negative check may rely on it)."""
        return self.watched_s >= self.min_s

    @property
    def transacts(self) -> tuple[Any, ...]:
        return self.last.transacts

    @property
    def trade(self) -> Any | None:
        return self.last.trade

    @property
    def category(self) -> str | None:
        return self.last.category


def snapshot(
    driver: Driver,
    provider: Provider,
    *,
    order_ref: str | None,
    account: str,
    quote_id: str | None,
    since: int,
    started: float,
) -> Snapshot:
    answer = None
    if order_ref is not None:
        answer = driver.actions.call(
            "get_order", driver.variables(order_ref=order_ref, account=account)
        )
    category = driver.category(answer) if answer is not None and answer.ok else None
    transacts = provider.transacts(since=since, quote_id=quote_id) if quote_id else ()
    trade = provider.trade_for_quote(quote_id) if quote_id else None
    return Snapshot(
        order=answer,
        category=category,
        transacts=transacts,
        trade=trade,
        at_s=time.monotonic() - started,
    )


def observe(
    driver: Driver,
    provider: Provider,
    *,
    account: str,
    order_ref: str | None,
    quote_id: str | None,
    since: int,
    until: Callable[[Snapshot], bool],
    min_s: float = 0.0,
    bound_s: float | None = None,
    reconcile: bool = False,
    quiet: bool = True,
) -> Observation:
    """Read until ``until`` holds, the quote is quiet and ``min_s`` passed, or the bound ends.

    ``quiet=False`` stops as soon as ``until`` holds (a positive control that needs to see
    something happen, not that nothing more happens).

    With ``reconcile``, the partner's reconcile action (if it declares one) runs once halfway
    through the bound: DESIGN §4 accepts it as the partner's way to catch up.
    """
    timings = Timings.of(driver.manifest)
    bound = max(bound_s if bound_s is not None else timings.settle_s, min_s)
    started = time.monotonic()
    reconciled = not (reconcile and driver.has("reconcile"))
    seen_transacts = -1
    last_change = started
    while True:
        snap = snapshot(
            driver, provider, order_ref=order_ref, account=account, quote_id=quote_id,
            since=since, started=started,
        )
        now = time.monotonic()
        if len(snap.transacts) != seen_transacts:
            seen_transacts, last_change = len(snap.transacts), now
        calm = not quiet or not snap.transacts or now - last_change >= timings.quiet_s
        elapsed = now - started
        if until(snap) and calm and elapsed >= min_s:
            return _done(driver, snap, held=True, watched=elapsed, min_s=min_s)
        if elapsed >= bound:
            return _done(driver, snap, held=False, watched=elapsed, min_s=min_s)
        if not reconciled and elapsed >= bound / 2:
            reconciled = True
            driver.reconcile(account=account)
        time.sleep(timings.read_interval_s)


def _done(
    driver: Driver, snap: Snapshot, *, held: bool, watched: float, min_s: float
) -> Observation:
    if snap.order is not None:
        driver.record(snap.order)
    driver.recorder.step(
        "observed",
        f"{watched:.1f} s: order {snap.category or 'unreadable'}, "
        f"{len(snap.transacts)} transact(s), trade "
        f"{snap.trade.id if snap.trade is not None else 'none'}"
        + ("" if held else " (bound reached)"),
    )
    return Observation(last=snap, held=held, watched_s=watched, min_s=min_s)
