"""The preflight: walk the happy path once and say precisely where a manifest's mapping is wrong.

``doctor`` (and ``certify`` before its scenarios) starts a fresh simulator and the partner
the way the plugin's ``simulator`` and ``partner`` fixtures do, then drives one ordinary
order: (login →) create_quote → accept → get_order until terminal → ledger (→ alerts,
reconcile). For every action it keeps the request sent, the answer (redacted, shortened)
and what each mapping read, and compares what was read with what the provider issued.
It decides nothing about readiness: a partner whose happy path works may still be blocked
by the scenarios; a preflight problem only means the scenarios could not be driven.
What it reports is in ``checks/preflight_report.py``; where a failed step points, in
``checks/diagnosis.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, NoReturn

import httpx

from conformance.checks import hints
from conformance.checks.diagnosis import (
    delivery_hint,
    delivery_problem,
    journal_problem,
    start_problem,
    unreadable_list_problem,
)
from conformance.checks.preflight_report import PreflightResult, Problem, Read, StepReport
from conformance.checks.provider import Provider
from conformance.checks.waits import eventually
from conformance.driver.actions import Actions, Answer
from conformance.driver.driver import Driver, new_account
from conformance.driver.manifest import STATE_CATEGORIES, Manifest
from conformance.driver.partner import PartnerProcess, provision
from conformance.driver.postings import Posting
from conformance.driver.recorder import EvidenceRecorder
from conformance.driver.timings import Timings
from conformance.errors import ConformanceError, PartnerError, PartnerUnreachable
from conformance.redact import Redactor

ANSWER_CHARS = 320
# Categories an order does not leave: the walk stops polling get_order there.
TERMINAL = tuple(c for c in STATE_CATEGORIES if c not in ("open", "pending"))
# Fields an answer must carry where they are mapped (others may legitimately come later).
NEEDED = {
    "create_quote": ("order_ref", "quote_id", "status", "expires_at"),
    "accept": ("status",),
    "get_order": ("order_ref", "quote_id", "transact_id", "status"),
}


class _Stop(Exception):
    """The walk cannot go on (a problem was recorded)."""


class _Recording(Driver):
    """The driver, keeping the variables of the last call and the last answer."""

    last_variables: dict[str, str]
    last_answer: Answer | None = None

    def variables(self, **given: object) -> dict[str, str]:
        self.last_variables = super().variables(**given)
        return self.last_variables

    def record(self, answer: Answer) -> None:
        super().record(answer)
        self.last_answer = answer


def run_preflight(
    manifest: Manifest,
    *,
    redactor: Redactor | None = None,
    on_step: Callable[[StepReport], None] | None = None,
) -> PreflightResult:
    """Start a fresh simulator and the partner, walk the happy path once, stop both."""
    from conformance.simulator import Simulator, SimulatorSettings

    redactor = redactor or Redactor()
    started = time.monotonic()
    settings = SimulatorSettings(
        signature_scheme=manifest.provider.signature_scheme, port=manifest.simulator_port or 0
    )
    with Simulator(settings) as sim:
        redactor.add(sim.control_token)
        process = PartnerProcess(manifest, redactor=redactor)
        partner_id, access = provision(sim, manifest, process)
        walk = _Walk(manifest, redactor, Provider(sim.control, partner_id), on_step)
        try:
            process.start(access)
        except PartnerUnreachable as exc:
            walk.unreachable(process, exc)
            return walk.result(process, started, reached=False)
        actions = Actions(
            manifest, process.base_url, redactor=redactor, liveness=process.exit_reason
        )
        try:
            walk.run(actions)
        except _Stop:
            pass
        except PartnerError as exc:
            walk.flush(Problem(field="", message=f"{type(exc).__name__}: {exc}"))
        finally:
            actions.close()
            process.stop()
        return walk.result(process, started)


class _Walk:
    """One ordinary order through the partner, with a diagnosis at each step."""

    def __init__(
        self,
        manifest: Manifest,
        redactor: Redactor,
        provider: Provider,
        on_step: Callable[[StepReport], None] | None,
    ) -> None:
        self.manifest = manifest
        self.redactor = redactor
        self.provider = provider
        self.timings = Timings.of(manifest)
        self.on_step = on_step
        self.steps: list[StepReport] = []
        self.warnings: list[str] = []
        self.step = StepReport(action="")
        self.last_result: Any = None

    # -- bookkeeping -----------------------------------------------------------------------
    def begin(self, action: str) -> None:
        self.step = StepReport(action=action)

    def add(self, **changes: Any) -> None:
        merged = {k: getattr(self.step, k) + tuple(v) if k in ("reads", "notes", "problems")
                  else v for k, v in changes.items()}
        self.step = replace(self.step, **merged)

    def problem(self, field_: str, message: str) -> None:
        self.add(problems=[Problem(field=field_, message=self.redactor.text(message))])

    def note(self, message: str) -> None:
        self.add(notes=[self.redactor.text(message)])

    def end(self, *, stop: bool = False) -> None:
        step = self.step
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        self.step = StepReport(action="")
        if stop:
            raise _Stop

    def stop(self) -> NoReturn:
        """End the step that recorded a problem the walk cannot go past."""
        self.end(stop=True)
        raise _Stop

    def flush(self, problem: Problem) -> None:
        """A transport failure mid-step: keep what the step had, with the failure."""
        action = self.step.action or "partner"
        self.step = replace(self.step, action=action,
                            problems=(*self.step.problems, problem))
        try:
            self.stop()
        except _Stop:
            pass

    def result(self, process: PartnerProcess, started: float, *,
               reached: bool = True) -> PreflightResult:
        problems = tuple(p for s in self.steps for p in s.problems)
        return PreflightResult(
            partner=self.manifest.name, steps=tuple(self.steps), problems=problems,
            warnings=tuple(self.warnings), reached=reached,
            log_tail=process.log_tail(20) if not reached or any(
                not p.field.startswith(("/actions/", "/provider/")) for p in problems) else "",
            duration_s=round(time.monotonic() - started, 2),
        )

    # -- shown -----------------------------------------------------------------------------
    def shown_request(self, actions: Actions, action: str, variables: Mapping[str, str]) -> str:
        spec = self.manifest.action(action)
        if spec is None or self.manifest.adapter:
            return f"{action} through the adapter {self.manifest.adapter}"
        request = actions.http.build_request(spec, variables)
        text = f"{request['method']} {request['url']}"
        if request.get("params"):
            text += "?" + "&".join(f"{k}={v}" for k, v in request["params"].items())
        headers = {k: ("…" if k.lower() in ("authorization", "cookie") else v)
                   for k, v in request.get("headers", {}).items()}
        if headers:
            text += "  " + " ".join(f"{k}: {v}" for k, v in headers.items())
        if "json" in request:
            text += "  " + json.dumps(request["json"], default=str)
        return self.redactor.text(text)

    def shown_answer(self, answer: Answer) -> str:
        body = " ".join(answer.text.split())
        if len(body) > ANSWER_CHARS:
            body = body[: ANSWER_CHARS - 1] + "…"
        return self.redactor.text(
            f"HTTP {answer.status_code} ({answer.elapsed_s * 1000:.0f} ms)  {body or '(empty)'}"
        )

    def call(self, actions: Actions, driver: _Recording, action: str,
             do: Callable[[], Any]) -> Answer:
        """Run one driver call; show its request and answer on the current step."""
        driver.last_answer = None
        try:
            self.last_result = do()
        finally:
            if driver.last_answer is not None and driver.last_answer.action == action:
                self.add(request=self.shown_request(actions, action, driver.last_variables),
                         answer=self.shown_answer(driver.last_answer))
        answer = driver.last_answer
        assert answer is not None
        return answer

    # -- the walk --------------------------------------------------------------------------
    def run(self, actions: Actions) -> None:
        driver = _Recording(actions, EvidenceRecorder("preflight", redactor=self.redactor))
        account = new_account("doctor")
        if self.manifest.action("login") is not None and not self.manifest.adapter:
            self.login(actions, account)
        order_ref, quote = self.create_quote(actions, driver, account)
        self.accept(actions, driver, account, order_ref, quote)
        trade = self.trade(quote)
        self.follow(actions, driver, account, order_ref, quote, trade)
        self.ledger(actions, driver, account, order_ref, quote, trade)
        self.webhooks(trade)
        for optional in ("alerts", "reconcile"):
            if actions.has(optional) and self.manifest.action(optional) is not None:
                self.ops(actions, driver, optional)

    def login(self, actions: Actions, account: str) -> None:
        self.begin("login")
        spec = self.manifest.action("login")
        assert spec is not None
        request = actions.http.build_request(spec, {"account": account})
        self.add(request=self.shown_request(actions, "login", {"account": account}))
        with httpx.Client(timeout=actions.timeout_s) as client:
            response = client.request(**request)
        text = " ".join(response.text.split())
        self.add(answer=self.redactor.text(
            f"HTTP {response.status_code}  {text[:ANSWER_CHARS] or '(empty)'}"))
        if not 200 <= response.status_code < 300:
            self.problem("/actions/login", f"answered HTTP {response.status_code}; the "
                         "harness signs each account in with it before its first action")
            self.stop()
        try:
            body = response.json()
        except ValueError:
            body = None
        for name, pointer in spec.yields.items():
            value = hints.value_at(body, pointer) if body is not None else None
            self.add(reads=[Read(field=f"/actions/login/yields/{name}", pointer=pointer,
                                 value=value)])
            if value in (None, "") or isinstance(value, dict | list):
                self.problem(f"/actions/login/yields/{name}",
                             f"read nothing at `{pointer}`; {hints.where_else(body, pointer)}")
        if response.cookies:
            self.note(f"it set cookie(s) {', '.join(sorted(response.cookies.keys()))}: "
                      "sent with that account's later requests")
        self.end(stop=bool(self.step.problems))

    def reads(self, action: str, answer: Answer, expected: Mapping[str, Any]) -> None:
        """Show each mapped field; a needed one that read nothing or differs is a problem."""
        spec = self.manifest.action(action)
        pointers = dict(spec.expect) if spec is not None else {}
        for name in sorted(set(pointers) | set(answer.fields)):
            pointer = pointers.get(name, "")
            value = answer.get(name)
            where = f"/actions/{action}/expect/{name}"
            want = expected.get(name)
            note = ""
            if name == "status" and value is not None:
                category = self.manifest.provider.category(value)
                note = f"({category})" if category else "(in no category)"
                if category is None:
                    self.states_problem(value)
            elif want is not None and value is not None:
                note = "✓" if str(value) == str(want) else ""
                if str(value) != str(want):
                    self.problem(where, f"read {hints.shown(value)} at `{pointer}`, but "
                                 f"expected {hints.shown(want)}; "
                                 f"{hints.where_else(answer.body, pointer, want)}")
            self.add(reads=[Read(field=where, pointer=pointer, value=value, note=note)])
            if value is None and name != "error":
                if name in NEEDED.get(action, ()) or (want is not None and
                                                      hints.find_value(answer.body, want)):
                    self.problem(where, f"read nothing at `{pointer}`; "
                                 f"{hints.where_else(answer.body, pointer, want)}")

    def states_problem(self, status: object) -> None:
        declared = "; ".join(f"{k}: {', '.join(v)}"
                             for k, v in self.manifest.provider.states.items())
        self.problem("/provider/states", f"the order's status `{hints.shown(status)}` is in "
                     f"none of [provider.states] ({declared})")

    def create_quote(self, actions: Actions, driver: _Recording,
                     account: str) -> tuple[str, Any]:
        self.begin("create_quote")
        known = {q.id for q in self.provider.quotes()}
        mark = self.provider.mark()
        amount = self.provider.ordinary_amount()
        answer = self.call(actions, driver, "create_quote",
                           lambda: driver.create_quote(account=account, amount=amount))
        created = [q for q in self.provider.quotes() if q.id not in known]
        if not answer.ok:
            self.problem("/actions/create_quote",
                         f"answered HTTP {answer.status_code} for an ordinary amount {amount}")
            self.explain_journal(mark, "quote")
            self.stop()
        if not answer.is_json:
            self.problem("/actions/create_quote", "answered something that is not JSON")
            self.stop()
        if len(created) != 1:
            self.problem("/actions/create_quote",
                         f"made {len(created)} firm quote(s) at the provider (expected 1)")
            self.explain_journal(mark, "quote")
            self.stop()
        quote = created[0]
        self.note(f"the provider issued quote {quote.id} ({quote.fiat_amount} → "
                  f"{quote.crypto_amount}), expiring {quote.expires_at:%H:%M:%S}")
        self.reads("create_quote", answer, {"quote_id": quote.id})
        order_ref = answer.get("order_ref")
        self.end(stop=order_ref in (None, ""))
        return str(order_ref), quote

    def accept(self, actions: Actions, driver: _Recording, account: str, order_ref: str,
               quote: Any) -> None:
        self.begin("accept")
        mark = self.provider.mark()
        answer = self.call(actions, driver, "accept",
                           lambda: driver.accept(order_ref, account=account))
        trade = self.provider.trade_for_quote(quote.id)
        if not answer.ok:
            self.problem("/actions/accept", f"answered HTTP {answer.status_code} to the "
                         "owner's accept of a fresh quote")
            self.explain_journal(mark, "transact")
            self.stop()
        expected = {"order_ref": order_ref}
        if trade is not None:
            expected["transact_id"] = trade.id
        else:
            self.note("no trade at the provider yet when it answered (a queued accept)")
        self.reads("accept", answer, expected)
        category = self.manifest.provider.category(answer.get("status"))
        if category in ("refused", "unavailable", "failed"):
            self.problem("/actions/accept", f"said no to the owner's accept of a fresh quote "
                         f"(status `{answer.get('status')}`, {category})")
            self.explain_journal(mark, "transact")
            self.stop()
        self.end()

    def trade(self, quote: Any) -> Any:
        self.begin("trade")
        bound = self.timings.dispatch_s + self.timings.call_s
        eventually(lambda: self.provider.trade_for_quote(quote.id) is not None,
                   bound_s=bound, interval_s=self.timings.read_interval_s)
        trade = self.provider.trade_for_quote(quote.id)
        if trade is None:
            message = f"the accept made no trade at the provider for quote {quote.id} " \
                      f"within {bound:.1f} s"
            field_ = "/actions/accept"
            if not self.provider.transacts(quote_id=quote.id):
                message += " (the partner sent no transact for it)"
                if self.timings.execution_delay_s == 0:
                    field_ = "/provider/execution_delay_seconds"
                    message += "; a partner that queues its accept must declare how long its " \
                               "worker may take"
            self.problem(field_, message)
            self.explain_journal(0, "transact")
            self.stop()
        self.note(f"the provider made trade {trade.id} ({trade.status}) with key "
                  f"{trade.idempotency_key}")
        self.end()
        return trade

    def follow(self, actions: Actions, driver: _Recording, account: str, order_ref: str,
               quote: Any, trade: Any) -> None:
        """get_order until a terminal category, bounded by Timings.settle_s."""
        self.begin("get_order")
        bound = self.timings.settle_s
        deadline = time.monotonic() + bound
        interval = max(self.timings.read_interval_s, self.timings.poll_interval_s / 2)
        seen: list[str] = []
        polls = 0
        answer: Answer | None = None
        category: str | None = None
        while True:
            answer = self.call(actions, driver, "get_order",
                               lambda: driver.get_order(order_ref, account=account))
            polls += 1
            if not answer.ok or not answer.is_json:
                self.problem("/actions/get_order", f"answered HTTP {answer.status_code} for "
                             f"order {order_ref}" + ("" if answer.is_json else " (not JSON)"))
                self.stop()
            status = answer.get("status")
            if status is None:
                break
            if not seen or seen[-1] != str(status):
                seen.append(str(status))
            category = self.manifest.provider.category(status)
            current = self.provider.trade(trade.id)
            if category in TERMINAL or time.monotonic() >= deadline:
                break
            if category is None and current.status != "reserved":
                break  # the provider is done and the order shows a state we cannot place
            time.sleep(interval)
        final = self.provider.trade(trade.id)
        self.reads("get_order", answer, {"order_ref": order_ref, "quote_id": quote.id,
                                         "transact_id": trade.id})
        self.note(f"polled {polls} time(s): " + " → ".join(f"`{s}`" for s in seen)
                  + f"; the provider's trade is {final.status}")
        if category != "done" and answer.get("status") is not None and category is not None:
            if category in TERMINAL:
                self.problem("/actions/get_order", f"the order ended `{seen[-1]}` ({category}) "
                             f"while the provider's trade is {final.status}")
            else:
                self.problem("/provider/states/done", f"the order stayed `{seen[-1]}` "
                             f"({category}) for {bound:.1f} s while the provider's trade is "
                             f"{final.status}{delivery_hint(self.provider, trade.id)}")
        self.end()

    def ledger(self, actions: Actions, driver: _Recording, account: str, order_ref: str,
               quote: Any, trade: Any) -> None:
        self.begin("ledger")
        bound = self.timings.settle_s
        deadline = time.monotonic() + bound
        polls = 0
        mine: list[Posting] = []
        postings: tuple[Posting, ...] = ()
        while True:
            polls += 1
            try:
                self.call(actions, driver, "ledger", lambda: driver.ledger(account=account))
                postings = tuple(self.last_result)
            except ConformanceError as exc:
                answer = driver.last_answer
                body = answer.body if answer is not None and answer.action == "ledger" else None
                self.diagnosed(unreadable_list_problem(self.manifest, "ledger", str(exc),
                                                       body, answer))
                self.stop()
            mine = [p for p in postings if p.refers_to(
                transact_id=trade.id, quote_id=quote.id, order_ref=order_ref)]
            if mine or time.monotonic() >= deadline:
                break
            time.sleep(max(self.timings.read_interval_s, self.timings.poll_interval_s))
        answer = driver.last_answer
        assert answer is not None
        spec = self.manifest.action("ledger")
        item_pointers = dict(spec.item) if spec is not None else {}
        if not mine:
            wanted = {"transact_id": trade.id, "quote_id": quote.id, "order_ref": order_ref}
            message = (f"the ledger has no posting for trade {trade.id} (quote {quote.id}, "
                       f"order {order_ref}) after {polls} poll(s) over {bound:.1f} s; it lists "
                       f"{len(postings)} entr{'y' if len(postings) == 1 else 'ies'}")
            field_ = "/actions/ledger/item"
            for name, value in wanted.items():
                hits = [p for p in hints.find_value(answer.body, value)]
                if hits:
                    field_ = f"/actions/ledger/item/{name}"
                    message += (f"; an entry names it at `{hits[0]}`, but item.{name} reads "
                                f"`{item_pointers.get(name, '(not mapped)')}`")
                    break
            self.problem(field_, message)
            self.stop()
        for posting in mine:
            self.add(reads=[Read(field="/actions/ledger/item", pointer="",
                                 value=_posting_text(posting))])
        self.check_amount(mine, trade)
        self.end()

    def check_amount(self, mine: list[Posting], trade: Any) -> None:
        """The customer's credit should be the declared trade amount (a warning, not a verdict)."""
        declared = self.manifest.provider.ledger_amount
        amounts = {"fiatAmount": trade.fiat_amount, "cryptoAmount": trade.crypto_amount}
        credited = sum((p.amount for p in mine if p.customer and not p.reversal), start=0)
        if credited == amounts[declared]:
            self.note(f"the credit {credited} is the trade's {declared}")
            return
        other = next((k for k, v in amounts.items() if v == credited and k != declared), None)
        hint = (f"it is the trade's {other}: check /provider/ledger_amount" if other
                else f"the trade's {declared} is {amounts[declared]}")
        warning = f"ledger: the credit for trade {trade.id} is {credited}; {hint}"
        self.note(warning)
        self.warnings.append(self.redactor.text(warning))

    def webhooks(self, trade: Any) -> None:
        if self.manifest.webhook_path is None:
            return
        events = self.provider.events(trade.id)
        attempts = [d for e in events for d in self.provider.deliveries(e.id)
                    if d.kind == "delivery"]
        if not attempts or any(d.ok for d in attempts):
            return
        self.begin("webhook")
        self.diagnosed(delivery_problem(self.manifest, attempts))
        self.end()

    def ops(self, actions: Actions, driver: _Recording, action: str) -> None:
        self.begin(action)
        try:
            answer = self.call(actions, driver, action,
                               lambda: getattr(driver, action)())
        except ConformanceError as exc:
            answer_ = driver.last_answer
            self.diagnosed(unreadable_list_problem(
                self.manifest, action, str(exc), answer_.body if answer_ else None, answer_))
            self.stop()
        if not answer.ok:
            self.problem(f"/actions/{action}", f"answered HTTP {answer.status_code}")
        elif action == "alerts":
            self.note(f"{len(answer.items)} item(s) (this order settled: it need not show)")
        self.end()

    # -- the diagnoses (checks/diagnosis.py) ------------------------------------------------
    def diagnosed(self, problem: Problem | None) -> None:
        if problem is not None:
            self.problem(problem.field, problem.message)

    def explain_journal(self, since: int, what: str) -> None:
        """What reached the provider for the step, as a problem or a note."""
        problem, note = journal_problem(self.manifest, self.provider, since, what)
        self.diagnosed(problem)
        if note:
            self.note(note)

    def unreachable(self, process: PartnerProcess, exc: PartnerUnreachable) -> None:
        self.begin("start")
        self.diagnosed(start_problem(self.manifest, process, exc))
        try:
            self.stop()
        except _Stop:
            pass


def _posting_text(posting: Posting) -> str:
    parts = [f"amount {posting.amount}"]
    if posting.reversal:
        parts.append("reversal")
    if posting.account:
        parts.append(f"account {posting.account}" + (" (customer)" if posting.customer else ""))
    parts += [f"{k} {v}" for k, v in (("trade", posting.transact_id), ("quote", posting.quote_id),
                                      ("order", posting.order_ref), ("event", posting.event_id),
                                      ("kind", posting.kind)) if v]
    return ", ".join(parts)


__all__ = ["PreflightResult", "Problem", "Read", "StepReport", "run_preflight"]
