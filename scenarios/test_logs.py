"""Logs support can use, with no secrets: the seed's "production readiness evidence".

The run provokes the events the seed names — an idempotency retry after a lost answer, a
ledger posting, a webhook signature rejection, an expired-quote rejection, a support
escalation — and reads the partner's own logs (captured output, declared log files, or its
support packet; see :mod:`conformance.checks.logs`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks import logs as partner_logs
from conformance.checks.logs import PartnerLogs, Traced
from conformance.checks.named import said_no
from conformance.checks.observe import GOING, NO, observe
from conformance.checks.provider import Provider
from conformance.checks.scenario_recorder import ScenarioRecorder
from conformance.checks.steps import (
    Order,
    accept_and_observe,
    fresh_order,
    require_trade,
    wait_for_state,
    wait_past_expiry,
)
from conformance.driver.driver import Driver
from conformance.driver.timings import Timings
from conformance.errors import CannotArrange

if TYPE_CHECKING:
    from conformance.plugin import RunningPartner

SETTLED_EVENT = "pool.transaction.settled"
FIX_RETRY = "log each retry of a transact with its Idempotency-Key (and the quote id)"
FIX_POSTING = "log each ledger posting with the trade id (or the event id) it applies"
FIX_REJECTION = (
    "log a webhook whose signature fails with the eventId it claims (and why it was refused)"
)
FIX_EXPIRED = "log a refused expired acceptance with the quote id"


def _logs(partner: RunningPartner, driver: Driver) -> PartnerLogs:
    logs = PartnerLogs(partner.process, driver)
    why = logs.not_applicable()
    if why:
        pytest.skip(why)
    return logs


def _provoke(
    driver: Driver,
    provider: Provider,
    evidence: ScenarioRecorder,
    logs: PartnerLogs,
    judge: Callable[[Traced], Any],
) -> tuple[Order, Any]:
    """Provoke each event the seed names once; ``judge`` sees each with its ids and log mark."""
    timings = Timings.of(driver.manifest)
    # Made first, so its wait past expiresAt overlaps the rest.
    expiring = fresh_order(driver, provider, ttl_s=timings.short_ttl_s)

    # An idempotency retry: the first transact's answer is lost after the trade is made.
    provider.script_next("reserved")
    order = fresh_order(driver, provider)
    provider.fault("reset_after_commit", quote_id=order.quote_id)
    mark, journal = logs.mark(), provider.mark()
    answer = driver.accept(order.order_ref, account=order.account)
    trade = require_trade(driver, provider, order, answer)
    # Until the retries have gone quiet (the partner may poll instead of retrying).
    observe(driver, provider, account=order.account, order_ref=order.order_ref,
            quote_id=order.quote_id, since=journal,
            until=lambda s: s.trade is not None and s.category in GOING,
            min_s=timings.dispatch_s)
    keys = sorted({e.idempotency_key for e in provider.transacts(quote_id=order.quote_id)
                   if e.idempotency_key})
    evidence.ids(idempotency_key=keys, transact_id=trade.id)
    judge(Traced(name="retry_logged", what=f"the lost transact answer of quote {order.quote_id}",
                 ids=tuple(keys), mark=mark, order_ref=order.order_ref, account=order.account,
                 fix=FIX_RETRY))

    # A ledger posting: the trade settles.
    mark = logs.mark()
    provider.move(trade.id, "settled")
    if wait_for_state(driver, provider, order, ("done",)).category != "done":
        raise CannotArrange(f"order {order.order_ref} did not settle")
    events = [e for e in provider.events(trade.id) if e.type == SETTLED_EVENT]
    evidence.ids(event_id=[e.id for e in events])
    judge(Traced(name="posting_logged", what=f"the settlement of trade {trade.id}",
                 ids=(trade.id, *(e.id for e in events)), mark=mark, order_ref=order.order_ref,
                 account=order.account, fix=FIX_POSTING))

    # A webhook signature rejection.
    if not events:
        raise CannotArrange(f"the provider emitted no settled event for {trade.id}")
    mark = logs.mark()
    attempt = provider.forge(events[0].id, "bad_signature")
    code = attempt.status_code
    evidence.step("forged delivery: bad_signature", f"HTTP {code}")
    if code is not None and not 200 <= code < 300:
        judge(Traced(name="rejection_logged",
                     what=f"the rejected forged delivery of event {events[0].id}",
                     ids=(events[0].id,), mark=mark, order_ref=order.order_ref,
                     account=order.account, fix=FIX_REJECTION))
    else:
        evidence.step("no rejection to trace", "the forged delivery was not refused "
                      "(ledger.webhook_forged judges that)", ok=False)

    # An expired-quote rejection.
    wait_past_expiry(provider, expiring, timings=timings)
    mark = logs.mark()
    done = accept_and_observe(driver, provider, expiring, expect="refusal")
    if said_no(driver, done.answer) or done.seen.category in NO:
        judge(Traced(name="expiry_logged",
                     what=f"the refused acceptance of expired quote {expiring.quote_id}",
                     ids=(expiring.quote_id,), mark=mark, order_ref=expiring.order_ref,
                     account=expiring.account, fix=FIX_EXPIRED))
    else:
        evidence.step("no expiry rejection to trace", "the expired quote was not refused "
                      "(expiry.backend_transact judges that)", ok=False)
    return order, trade


@pytest.mark.threat(
    "logs.traceable",
    question="RQ5",
    observes=("retry_logged", "posting_logged", "rejection_logged", "expiry_logged"),
)
def test_logs_name_the_ids_of_each_event(
    partner: RunningPartner, driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    logs = _logs(partner, driver)
    timings = Timings.of(driver.manifest)
    order, trade = _provoke(
        driver, provider, evidence, logs,
        lambda event: partner_logs.check_traced(evidence, logs, event, timings=timings),
    )
    # Support escalation: the packet support hands on for one order names its ids.
    packet = logs.support_packet(order.order_ref, order.account)
    if packet is None:
        evidence.step("support escalation", "no [actions.support_packet] declared: the "
                      "escalation is traced through the logs above only")
        return
    missing = [i for i in (order.quote_id, trade.id) if i not in packet.text]
    evidence.check(
        packet.ok and not missing,
        f"the support packet of {order.order_ref} (HTTP {packet.status_code}) lacks "
        f"{', '.join(missing) or 'a 2xx answer'}.",
        fix="put the order's quote id and trade id (and its request and event ids) in the "
        "support packet",
        order_ref=order.order_ref,
    )


@pytest.mark.threat("logs.no_secrets", observes=("logs_scanned",))
def test_no_secret_in_logs_or_support_packets(
    partner: RunningPartner, driver: Driver, provider: Provider, evidence: ScenarioRecorder
) -> None:
    logs = _logs(partner, driver)
    order, _ = _provoke(driver, provider, evidence, logs, lambda event: None)
    artefacts = logs.everything()
    packet = logs.support_packet(order.order_ref, order.account)
    if packet is not None:
        artefacts.append(partner_logs.packet_artefact(order.order_ref, packet))
    if not artefacts:
        raise CannotArrange("the partner wrote no log line at all the harness could read")
    findings = partner_logs.scan(artefacts, partner_logs.canaries_of(provider))
    evidence.step(
        "scanned the partner's logs",
        f"{len(artefacts)} source(s), {sum(len(a.body) for a in artefacts)} bytes, "
        f"{len(findings)} finding(s)",
    )
    evidence.observed("logs_scanned")
    for finding, count in partner_logs.first_per_source(findings):
        more = f" ({count} occurrences in all)" if count > 1 else ""
        evidence.check(
            False,
            f"a secret is in the partner's logs: {finding.message}{more}.",
            fix="never log provider keys, webhook secrets or Authorization headers (nor "
            "request headers wholesale); log ids instead",
            url=finding.location,
            offset=str(finding.offset),
        )
