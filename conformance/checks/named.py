"""Named checks, written once (as Schemathesis's ``checks.py``): each judges one thing.

A check records the decisive observation it made under its own name (a scenario's
``threat`` marker lists the ones it must make, so a scenario that skipped its decisive step
ends ``error``, never ``pass``), a finding with its fix when the partner is wrong, and an
*unreadable answer* when the partner's answer does not match the manifest (reported, never a
reason to skip). Every scenario judges through these, so "not a 5xx" is worded once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from conformance.checks.observe import GOING, NO, Observation
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.driver.actions import Answer
from conformance.driver.driver import Driver


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """A named check and what it establishes when it passes."""

    name: str
    establishes: str


CHECKS: dict[str, Check] = {}
F = TypeVar("F", bound=Callable[..., bool])


def check(name: str, establishes: str) -> Callable[[F], F]:
    """Register a named check (its name is the observation it records)."""

    def register(function: F) -> F:
        CHECKS[name] = Check(name=name, establishes=establishes)
        return function

    return register


FIX_SERVER_ERROR = (
    "answer every request with a clear status (a 4xx that says what is wrong, or 502/503 "
    "when the provider failed); never a 500, a crash or a dropped connection"
)


def said_no(driver: Driver, answer: Answer) -> bool:
    """The answer itself is a refusal: a 4xx, or a 2xx whose state is refused/unavailable/failed."""
    if answer.refused:
        return True
    return answer.ok and driver.category(answer) in NO


def went_ahead(driver: Driver, answer: Answer) -> bool:
    """The answer says the acceptance goes ahead: 2xx, in a pending or done state."""
    return answer.ok and driver.category(answer) in GOING


def _state(answer: Answer) -> str:
    return f"HTTP {answer.status_code}, status {answer.get('status')!r}"


@check("no_server_error", "the partner answered (not a 5xx, a dropped connection or a crash)")
def no_server_error(
    evidence: ScenarioRecorder,
    answer: Answer,
    *,
    what: str,
    fix: str = FIX_SERVER_ERROR,
    **ids: str | None,
) -> bool:
    detail = "dropped the connection" if answer.dropped else f"answered HTTP {answer.status_code}"
    return evidence.check(
        not answer.server_error,
        f"{what}: the partner {detail}.",
        fix=fix,
        observes="no_server_error",
        **ids,
    )


@check("refused", "the partner said no, in its answer or in the order's later state")
def refused(
    evidence: ScenarioRecorder,
    driver: Driver,
    answer: Answer,
    seen: Observation | None = None,
    *,
    what: str,
    fix: str,
    **ids: str | None,
) -> bool:
    """Refused in the answer (4xx or a refused state) or later (the order moved to one)."""
    later = seen.category if seen is not None else None
    readable = answer.refused or answer.server_error or driver.category(answer) is not None
    if not readable and later is None:
        evidence.unreadable(
            f"{what}: {answer.action} answered {_state(answer)} and the order's state could "
            f"not be read either: {answer.text[:160]!r} (check the manifest's status pointer "
            "and provider.states)"
        )
        return False
    ok = said_no(driver, answer) or later in NO
    after = f"; the order then showed {later!r}" if seen is not None else ""
    return evidence.check(
        ok,
        f"{what}: the partner did not refuse ({_state(answer)}{after}).",
        fix=fix,
        observes="refused",
        **ids,
    )


@check("nothing_reached_provider", "no request of the kind reached the provider in the window")
def nothing_reached_provider(
    evidence: ScenarioRecorder,
    entries: Sequence[Any],
    *,
    watched: bool,
    what: str,
    fix: str,
    **ids: str | None,
) -> bool:
    """No such request reached the provider; only decisive when the whole window was watched."""
    evidence.journal(entries)
    if entries:
        # Seen is seen, however short the window.
        return evidence.check(
            False,
            f"{what}: {len(entries)} request(s) reached the provider "
            f"({', '.join(sorted({f'{e.method} {e.path}' for e in entries}))}).",
            fix=fix,
            observes="nothing_reached_provider",
            **ids,
        )
    if watched:
        evidence.observed("nothing_reached_provider")
    return True


@check("executed", "a valid acceptance made its trade at the provider (positive control)")
def executed(
    evidence: ScenarioRecorder,
    driver: Driver,
    answer: Answer,
    seen: Observation,
    *,
    what: str,
    fix: str,
    **ids: str | None,
) -> bool:
    if seen.trade is not None:
        evidence.ids(transact_id=seen.trade.id)
    ok = seen.trade is not None and bool(seen.transacts) and not said_no(driver, answer)
    return evidence.check(
        ok,
        f"{what}: not executed ({_state(answer)}, order {seen.category!r}, "
        f"{len(seen.transacts)} transact(s), trade "
        f"{seen.trade.id if seen.trade is not None else 'none'}).",
        fix=fix,
        observes="executed",
        **ids,
    )


@check("exactly_one_trade", "one accepted order made exactly one trade")
def exactly_one_trade(
    evidence: ScenarioRecorder,
    trades: Sequence[Any],
    *,
    what: str,
    fix: str,
    **ids: str | None,
) -> bool:
    evidence.ids(transact_id=[t.id for t in trades])
    return evidence.check(
        len(trades) == 1,
        f"{what} made {len(trades)} trades ({', '.join(t.id for t in trades) or 'none'}).",
        fix=fix,
        observes="exactly_one_trade",
        **ids,
    )


@check("one_key_per_quote", "every transact of one quote used one idempotency key and one body")
def one_key_per_quote(
    evidence: ScenarioRecorder,
    entries: Iterable[Any],
    *,
    quote_id: str,
    fix: str,
    **ids: str | None,
) -> bool:
    sent = list(entries)
    keys = {e.idempotency_key for e in sent}
    bodies = {e.body_digest for e in sent}
    if len(keys) > 1 or len(bodies) > 1:
        evidence.journal(sent)
    evidence.ids(idempotency_key=sorted(k for k in keys if k))
    return evidence.check(
        bool(sent) and len(keys) == 1 and len(bodies) == 1,
        f"quote {quote_id} was sent with {len(keys)} idempotency key(s) and {len(bodies)} "
        f"body(ies) over {len(sent)} transact(s).",
        fix=fix,
        observes="one_key_per_quote",
        quote_id=quote_id,
        **ids,
    )


# Answers that say clearly that the provider refused or failed (DESIGN §4 provider_refusals).
CLEAR_PROVIDER_FAILURE = (502, 503, 504)


@check("clear_answer", "a provider refusal or failure became a clear answer to the customer")
def clear_answer(
    evidence: ScenarioRecorder,
    driver: Driver,
    answer: Answer,
    seen: Observation | None = None,
    *,
    what: str,
    fix: str,
    also_clear: tuple[str, ...] = (),
    also_status: tuple[int, ...] = (),
    **ids: str | None,
) -> bool:
    """A 4xx, a 502/503/504 (or ``also_status``), or a refused state, in the answer or (for a
    queued accept) in the order's later state; ``also_clear`` adds states that are right too
    (e.g. pending when a retry may still win)."""
    category = driver.category(answer) if answer.ok else None
    later = seen.category if seen is not None else None
    if answer.ok and category is None and later is None:
        evidence.unreadable(
            f"{what}: {answer.action} answered {_state(answer)}, a state the manifest does "
            f"not declare: {answer.text[:160]!r}"
        )
        return False
    clear = NO + also_clear
    # A 2xx answer is judged by where the order went (a queued accept says "pending" first).
    judged = later if answer.ok and later is not None else category
    ok = (
        answer.refused
        or answer.status_code in CLEAR_PROVIDER_FAILURE + also_status
        or (answer.ok and judged in clear)
    )
    said = "a dropped connection" if answer.dropped else _state(answer)
    after = f"; the order then showed {later!r}" if seen is not None else ""
    return evidence.check(
        ok,
        f"{what}: the partner answered {said}{after}.",
        fix=fix,
        observes="clear_answer",
        **ids,
    )


@check("no_retry_storm", "retries were spaced (Retry-After honoured, no tight loop)")
def no_retry_storm(
    evidence: ScenarioRecorder,
    entries: Sequence[Any],
    *,
    retry_after_s: float | None,
    what: str,
    fix: str,
    **ids: str | None,
) -> bool:
    """After a 429 the next try waits Retry-After; otherwise at most a few tries a second."""
    sent = sorted(entries, key=lambda e: e.seq)
    early = 0
    for before, after in zip(sent, sent[1:], strict=False):
        gap = (after.at - before.at).total_seconds()
        if before.status == 429 and retry_after_s is not None:
            early += gap < RETRY_AFTER_TOLERANCE * retry_after_s
    burst = max(
        (sum(1 for e in sent if 0 <= (e.at - first.at).total_seconds() < 1) for first in sent),
        default=0,
    )
    if early or burst > STORM_PER_SECOND:
        evidence.journal(sent)
    return evidence.check(
        not early and burst <= STORM_PER_SECOND,
        f"{what}: {len(sent)} transacts, {early} sent before Retry-After elapsed, up to "
        f"{burst} within one second (a retry storm).",
        fix=fix,
        observes="no_retry_storm",
        **ids,
    )


# A retry this much sooner than Retry-After is early (clocks and scheduling jitter aside).
RETRY_AFTER_TOLERANCE = 0.8
# More tries than this for one quote within one second is a storm.
STORM_PER_SECOND = 5
