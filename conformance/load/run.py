"""One load run: simulator and partner in the loop, Locust in subprocesses, then the judge.

The harness starts the simulator in-process and the partner from its manifest as certify
does, writes the plan for Locust (:mod:`conformance.load.plan`), runs ``python -m locust``
headless (one local runner, or a master with W local workers), replays a share of settled
webhooks through the control plane meanwhile, waits for the trades to go quiet, reads the
partner's ledger, and judges (:mod:`conformance.load.judge`). Locust is never imported
here: it monkey-patches the process it runs in.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from conformance import interrupt
from conformance.checks.concurrently import run_concurrently
from conformance.checks.observe import NO
from conformance.driver.actions import Actions
from conformance.driver.driver import Driver
from conformance.driver.manifest import Manifest
from conformance.driver.partner import PartnerProcess, free_port, provision
from conformance.driver.postings import Posting, read_posting
from conformance.driver.recorder import EvidenceRecorder
from conformance.driver.timings import SLACK, Timings
from conformance.errors import ConformanceError, ManifestError, PartnerError, PartnerGarbage
from conformance.load.judge import GUARANTEE_IDS, TITLES, Judge, ProviderView
from conformance.load.plan import (
    DOUBLE,
    EXPIRED,
    PLAN_ENV,
    RESET,
    VELOCITY,
    LoadPlan,
)
from conformance.load.results import Guarantee, LoadResult, LoadSettings, OrderCounts
from conformance.load.samples import (
    OrderRecord,
    Samples,
    action_stats,
    percentiles,
    read_samples,
    timeline,
)
from conformance.redact import Redactor
from conformance.simulator.faults import FaultMatch, FaultSpec
from conformance.simulator.models import WebhookEvent

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# The harness's own pacing (none is a partner's): a user's pause between orders, how often
# webhooks are picked for a replay, how long Locust's master waits for its workers.
THINK_S = 1.0
REPLAY_EVERY_S = 0.5
WORKERS_WAIT_S = 60
REMOTE_WAIT_S = 240  # remote workers are started by hand once the plan is written
RETRY_AFTER_S = 1
# How long a customer's app waits for an answer during the spike: long enough that a queue
# shows as latency, not as failures (a browser's fetch has no timeout at all).
CUSTOMER_WAIT_S = 60.0
CONCURRENT_REPLAYS = 2  # deliveries of one replayed event sent at once
OWED_EVERY_S = 0.05  # how often the replayer looks for a reserved trade while one is owed
PATIENCE_S = 5.0  # how long an owed replay waits for a reserved trade before replaying instead
REPLAY_BOUND_S = 30.0
_COMPLAINT = re.compile(r"Error|Exception|Traceback|error:|CRITICAL", re.IGNORECASE)
MAX_TAIL = 600


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadOptions:
    """What the command was asked for."""

    users: int
    spawn_rate: float
    duration_s: float
    workers: int = 0
    double_accept_share: float = 0.15
    reset_retry_share: float = 0.10
    expired_share: float = 0.05
    velocity_share: float = 0.05
    replay_share: float = 0.10
    partner_env: Mapping[str, str] = field(default_factory=dict)
    # Spread over machines: workers on other hosts join the master (Locust's own protocol).
    remote_workers: int = 0
    master_bind_host: str = "127.0.0.1"
    master_port: int = 0  # 0: a free port
    sim_host: str = "127.0.0.1"  # where the simulator listens (workers reach its /_sim/)
    plan_out: Path | None = None  # a copy of the plan for the remote workers (secret: 0600)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadOutcome:
    """The measured run (None when it never ran), harness errors, the partner's log."""

    load: LoadResult | None
    harness_errors: tuple[str, ...] = ()
    interrupted: str = ""
    partner_log: str = ""


def error_budget(manifest: Manifest) -> Decimal:
    """The manifest's ``[load] error_budget`` (a share of 5xx answers), 0 by default."""
    section = manifest.raw.get("load") or {}
    raw = section.get("error_budget", "0") if isinstance(section, Mapping) else "0"
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        raise ConformanceError("/load/error_budget: must be a decimal string") from None
    if not Decimal(0) <= value <= Decimal(1):
        raise ConformanceError("/load/error_budget: must be between 0 and 1")
    return value


QUOTE_ID_FIELD = "/actions/create_quote/expect/quote_id"


def check_manifest(manifest: Manifest) -> None:
    """Refuse, before anything starts, a manifest the load run cannot judge.

    Under load, orders run concurrently: the harness ties each one to the provider's quote
    (and so to its trades) by the quote id the partner returns from create_quote. Without
    that mapping every finished order would look like "done without a trade" — a flaw the
    partner does not have — so the run is refused (a harness error), never judged.
    """
    if manifest.adapter is not None:
        raise ConformanceError(
            "load drives the manifest's HTTP actions; a partner behind [adapter] is not "
            "supported"
        )
    quote = manifest.action("create_quote")
    if quote is None or "quote_id" not in quote.expect:
        raise ManifestError(
            "load needs actions.create_quote.expect.quote_id: concurrent orders are tied to "
            "the provider's quotes by the quote id the partner returns",
            field=QUOTE_ID_FIELD,
        )


def id_owners(orders: Iterable[OrderRecord], trades: Iterable[Any]) -> dict[str, str]:
    """Which account each id a ledger line may name belongs to.

    The order refs, quote ids and trade ids the users recorded, and the provider's trade ids
    by their quote: the partner's get_order need not map transact_id, and a book naming
    trades only by the provider's id must still be recognised as one shared book.
    """
    orders = list(orders)
    owner: dict[str, str] = {}
    by_quote: dict[str, str] = {}
    for order in orders:
        for value in (order.order_ref, order.quote_id, order.transact_id):
            if value:
                owner[value] = order.account
        if order.quote_id:
            by_quote[order.quote_id] = order.account
    for trade in trades:
        account = by_quote.get(trade.quote_id or "")
        if account is not None:
            owner.setdefault(trade.id, account)
    return owner


def ledger_book(
    reads: Sequence[tuple[str, Sequence[Posting]]], owner: Mapping[str, str]
) -> list[Posting]:
    """The postings to judge from each account's ledger read.

    A read naming another account's order, quote or trade is one book shared by every
    customer (a correct shape): its latest read is the book, not the sum of the reads (which
    would credit every trade once per account). Otherwise each account's own book, together.
    """
    shared = any(
        owner.get(value, account) != account
        for account, postings in reads for p in postings for value in p.ids
    )
    if shared and reads:
        return list(reads[-1][1])  # one book for every customer: its latest read
    return [p for _, postings in reads for p in postings]


class _Replayer(threading.Thread):
    """Sends a share of the run's settlements to the partner as concurrent first deliveries.

    For every ``1/share``-th settled event it takes a trade still reserved, makes it the
    partner's news by webhook only — its status reads slower than the partner's timeout (so
    its poll learns nothing), its trade reads slow but inside it, webhooks held — settles it,
    and delivers that event ``CONCURRENT_REPLAYS`` times at once, as an at-least-once sender's
    retries can; then the faults go and the held events are released (another delivery of it).
    When no trade is seen reserved for ``patience_s``, the newest settled event is delivered
    again that many times at once instead, so a partner that polls at once still has its case.
    This is ``ledger.webhook_replay``'s arrangement, so a receiver that checks, asks the
    provider, then inserts keeps every duplicate in that window, whatever the machine's speed.
    """

    def __init__(self, control: Any, partner_id: str, share: float, *,
                 timings: Timings, patience_s: float = PATIENCE_S) -> None:
        super().__init__(name="load-replayer", daemon=True)
        self.control, self.partner_id = control, partner_id
        self.timings = timings
        self.every = max(1, round(1 / share)) if share > 0 else 0
        self.stop_event = threading.Event()
        self.replayed: dict[str, str] = {}
        self.delivered = 0
        self._seen = 0
        self._owed = 0  # concurrent first deliveries due and not made yet
        self.patience_s = patience_s
        self._owed_since = 0.0  # when the oldest owed one fell due (monotonic)
        self._latest: WebhookEvent | None = None  # the newest settled event seen
        self._done: set[str] = set()

    def run(self) -> None:
        while self.every and not self.stop_event.wait(
                OWED_EVERY_S if self._owed else REPLAY_EVERY_S):
            self.tick()

    def tick(self) -> None:
        for event in self.control.events(self.partner_id):
            if event.id in self._done or event.status != "settled":
                continue
            self._done.add(event.id)
            self._latest = event
            self._seen += 1
            if (self._seen - 1) % self.every == 0:
                if not self._owed:
                    self._owed_since = time.monotonic()
                self._owed += 1  # made as soon as a trade is seen still reserved
        if not self._owed:
            return
        try:
            if self._first_deliveries_at_once():
                self._paid()
            elif (time.monotonic() - self._owed_since >= self.patience_s
                  and self._latest is not None):
                # No trade stays reserved long enough here (a partner that polls at once):
                # its latest settled event, delivered again twice at once, is the evidence.
                self._deliver_at_once(self._latest)
                self._paid()
        except Exception:  # noqa: BLE001 - a replay that could not be made is not evidence
            return

    def _paid(self) -> None:
        self._owed -= 1
        self._owed_since = time.monotonic()

    def _deliver_at_once(self, event: WebhookEvent) -> None:
        send: Callable[[], Any] = functools.partial(self.control.redeliver, event.id)
        attempts = run_concurrently([send] * CONCURRENT_REPLAYS, bound_s=REPLAY_BOUND_S)
        self.replayed[event.id] = event.transact_id
        self.delivered += sum(1 for a in attempts if a.status_code is not None)

    def _first_deliveries_at_once(self) -> bool:
        """True when a trade was settled and its event delivered concurrently."""
        control, pid = self.control, self.partner_id
        reserved = [t for t in control.trades(pid) if t.status == "reserved"]
        if not reserved:
            return False
        trade = reserved[-1]
        reads = ((f"/v1/pools/transactions/{trade.quote_id}", self.timings.fault_delay_s),
                 (f"/v1/pools/trades/{trade.id}", self.timings.slow_read_s))
        faults = [control.inject_fault(FaultSpec(
            match=FaultMatch(method="GET", path=path, partner_id=pid), action="delay",
            delay_seconds=delay, times=1000)) for path, delay in reads]
        control.hold_webhooks(pid, True)
        try:
            control.script_outcome(trade.id, "settled", now=True)
            event = next((e for e in control.held_events(pid)
                          if e.transact_id == trade.id and e.status == "settled"), None)
            if event is None:
                return False
            self._done.add(event.id)
            self._deliver_at_once(event)
            return True
        finally:
            for fault_id in faults:
                control.remove_fault(fault_id)
            control.hold_webhooks(pid, False)
            control.release_held(pid)


class LoadRun:
    """Runs one spike against one partner and returns what it measured and judged."""

    def __init__(
        self, manifest: Manifest, options: LoadOptions, *, redactor: Redactor,
        say: Callable[[str], None] = print, samples_out: Path | None = None,
    ) -> None:
        check_manifest(manifest)
        self.manifest = manifest.with_extra_env(dict(options.partner_env))
        self.options = options
        self.redactor = redactor
        self.say = say
        self.samples_out = samples_out  # where the raw samples are kept as evidence
        self.timings = Timings.of(self.manifest)
        self.budget = error_budget(self.manifest)
        self._procs: list[subprocess.Popen[bytes]] = []

    def settings(self) -> LoadSettings:
        o = self.options
        return LoadSettings(
            users=o.users, spawn_rate=o.spawn_rate, duration_s=o.duration_s, workers=o.workers,
            double_accept_share=o.double_accept_share, reset_retry_share=o.reset_retry_share,
            expired_share=o.expired_share, replay_share=o.replay_share,
            error_budget=float(self.budget), velocity_share=o.velocity_share,
        )

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> LoadOutcome:
        from conformance.simulator import Simulator, SimulatorSettings

        settings = SimulatorSettings(
            signature_scheme=self.manifest.provider.signature_scheme,
            port=self.manifest.simulator_port or 0, host=self.options.sim_host,
        )
        with Simulator(settings) as sim, tempfile.TemporaryDirectory(prefix="zp-load-") as tmp:
            self.redactor.add(sim.control_token)
            process = PartnerProcess(self.manifest, redactor=self.redactor)
            partner_id, access = provision(sim, self.manifest, process)
            try:
                try:
                    process.start(access)
                except PartnerError as exc:
                    return LoadOutcome(load=None, harness_errors=(
                        self.redactor.text(f"{type(exc).__name__}: {exc}"),),
                        partner_log=process.log_tail(40))
                return self._drive(sim, partner_id, process, Path(tmp))
            finally:
                self._kill_locust()
                process.stop()

    def _plan(self, sim: Any, partner_id: str, process: PartnerProcess, tmp: Path) -> LoadPlan:
        from conformance.checks.provider import Provider

        samples_dir = tmp / "samples"
        samples_dir.mkdir()
        provider = Provider(sim.control, partner_id)
        amount = provider.ordinary_amount()
        # Prefund enough for every order the spike can place (a buy debits the balance).
        orders = self.options.users * (int(self.options.duration_s / THINK_S) + 2) * 2
        sim.control.credit_balance(partner_id, Decimal(amount) * orders)
        o = self.options
        request_timeout = max(CUSTOMER_WAIT_S, 10.0 + 3 * self.timings.timeout_s)
        # Past the expiry, by the partner's own poll interval (a queued check) and our reads.
        expire_wait = SLACK * self.timings.poll_interval_s + 2 * self.timings.read_interval_s
        return LoadPlan(
            manifest=str(self.manifest.path), base_url=process.base_url, sim_url=sim.base_url,
            control_token=sim.control_token, partner_id=partner_id, amount=amount,
            samples_dir=str(samples_dir),
            shares={DOUBLE: o.double_accept_share, RESET: o.reset_retry_share,
                    EXPIRED: o.expired_share, VELOCITY: o.velocity_share},
            poll_s=SLACK * self.timings.poll_interval_s,
            settle_s=max(self.timings.settle_s, CUSTOMER_WAIT_S),
            short_ttl_s=self.timings.short_ttl_s,
            expire_wait_s=expire_wait,
            retry_after_s=RETRY_AFTER_S,
            think_s=THINK_S,
            request_timeout_s=request_timeout,
            stop_timeout_s=float(
                int(max(self.timings.settle_s, CUSTOMER_WAIT_S) + request_timeout + expire_wait)
                + 1
            ),
        )

    def _drive(self, sim: Any, partner_id: str, process: PartnerProcess, tmp: Path) -> LoadOutcome:
        plan = self._plan(sim, partner_id, process, tmp)
        plan_path = plan.write(tmp / "plan.json")
        if self.options.plan_out is not None:
            plan.write(self.options.plan_out)
        replayer = _Replayer(sim.control, partner_id, self.options.replay_share,
                             timings=self.timings)
        started = datetime.now(UTC)
        start_s = time.time()
        replayer.start()
        interrupted = ""
        errors: list[str] = []
        try:
            errors += self._locust(plan, plan_path, tmp)
        except KeyboardInterrupt:
            interrupted = interrupt.received_name() or "SIGINT"
            self._kill_locust()
        finally:
            replayer.stop_event.set()
            replayer.join(timeout=self.timings.call_s + 10)
        if not interrupted:
            self._settle(sim, partner_id)
        files = sorted(Path(plan.samples_dir).glob("*.jsonl"))
        samples = read_samples(files)
        if self.samples_out is not None:
            self.samples_out.parent.mkdir(parents=True, exist_ok=True)
            with self.samples_out.open("wb") as out:
                for path in files:
                    with path.open("rb") as handle:
                        shutil.copyfileobj(handle, out)
        if not samples.requests and not interrupted:
            errors.append("Locust made no request to the partner: " + self._locust_tail(tmp))
        dead = process.exit_reason()
        if dead:
            errors.append(f"PartnerUnreachable: the partner stopped during the run ({dead})")
        postings: list[Posting] = []
        if not errors and not interrupted:
            try:
                postings = self._ledger(process, samples, sim.control.trades(partner_id))
            except ConformanceError as exc:  # the partner failed, or no ledger action
                errors.append(self.redactor.text(f"ledger: {type(exc).__name__}: {exc}"))
        ended = datetime.now(UTC)
        view = ProviderView(
            quotes={q.id: q for q in sim.control.quotes(partner_id)},
            trades=tuple(sim.control.trades(partner_id)),
            journal=tuple(sim.control.journal(partner_id=partner_id)),
            replayed=dict(replayer.replayed),
            replays_delivered=replayer.delivered,
        )
        judge = Judge(
            orders=samples.orders, requests=samples.requests, provider=view,
            postings=postings, ledger_amount=self.manifest.provider.ledger_amount,
            double_entry=self.manifest.provider.ledger.double_entry,
            retry_after_s=plan.retry_after_s, error_budget=self.budget,
        )
        notes: list[str] = []
        racing = judge.transacts_past_expiry()
        if racing:
            notes.append(f"{len(racing)} transact(s) reached the provider after their quote "
                         "expired (refused by it) for accepts sent before expiry: the spike "
                         "delayed them past the partner's expiry margin")
        orphans = judge.orphans()
        if orphans:
            notes.append(f"{len(orphans)} provider trade(s) match no order a user recorded "
                         f"(e.g. {orphans[0].id} for quote {orphans[0].quote_id})")
        if errors or interrupted:
            why = errors[0] if errors else f"run interrupted by {interrupted}"
            guarantees = tuple(
                Guarantee(id=gid, title=TITLES[gid], held=None, detail=f"not judged: {why}")
                for gid in GUARANTEE_IDS
            )
        else:
            guarantees = judge.all()
        load = self._result(samples, view, judge.late_accepts(), guarantees, started, ended,
                            start_s, notes)
        return LoadOutcome(load=load, harness_errors=tuple(errors), interrupted=interrupted,
                           partner_log=process.log_tail(40))

    # -- Locust ----------------------------------------------------------------------------
    def _locust(self, plan: LoadPlan, plan_path: Path, tmp: Path) -> list[str]:
        o = self.options
        env = dict(os.environ, **{PLAN_ENV: str(plan_path)})
        env.setdefault("PYTHONUNBUFFERED", "1")
        stop_timeout = int(plan.stop_timeout_s)
        level = os.environ.get("ZEROPOOLS_LOAD_LOGLEVEL", "WARNING")  # Locust's own log
        base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--loglevel", level]
        run_args = [
            "--headless", "-u", str(o.users), "-r", f"{o.spawn_rate:g}",
            "-t", f"{max(1, round(o.duration_s))}s", "--stop-timeout", str(stop_timeout),
            "--only-summary", "--exit-code-on-error", "0", "--host", plan.base_url,
        ]
        wait_workers = WORKERS_WAIT_S + (REMOTE_WAIT_S if o.remote_workers else 0)
        if o.workers or o.remote_workers:
            port = o.master_port or free_port()
            master = self._spawn(
                [*base, *run_args, "--master",
                 "--expect-workers", str(o.workers + o.remote_workers),
                 "--expect-workers-max-wait", str(wait_workers),
                 "--master-bind-host", o.master_bind_host, "--master-bind-port", str(port)],
                env, tmp / "master",
            )
            if o.remote_workers:
                self.say(
                    f"waiting up to {wait_workers} s for {o.remote_workers} remote worker(s): "
                    f"on each, with the plan copied from {o.plan_out}, run\n  "
                    f"{PLAN_ENV}=<plan.json> python -m locust -f <conformance/load/"
                    f"locustfile.py> --worker --master-host <this host> --master-port {port}"
                )
            for index in range(o.workers):
                self._spawn(
                    [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
                    env, tmp / f"worker-{index}",
                )
        else:
            master = self._spawn([*base, *run_args], env, tmp / "local")
        bound = o.duration_s + stop_timeout + wait_workers + 60
        try:
            code = master.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            return [f"Locust did not finish within {bound:.0f} s: " + self._locust_tail(tmp)]
        # Local workers finish their orders in flight after the master quits (stop-timeout).
        deadline = time.monotonic() + stop_timeout + 30
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        self._kill_locust()
        if code != 0:
            return [f"Locust exited {code}: " + self._locust_tail(tmp)]
        return []

    def _spawn(
        self, cmd: Sequence[str], env: Mapping[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        with open(f"{log}.out", "wb") as out, open(f"{log}.err", "wb") as err:
            proc = subprocess.Popen(
                list(cmd), env=dict(env), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        interrupt.register_group(proc.pid)
        self._procs.append(proc)
        return proc

    def _kill_locust(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
            interrupt.unregister_group(proc.pid)
        self._procs = [p for p in self._procs if p.returncode is None]

    def _locust_tail(self, tmp: Path) -> str:
        """Locust's own complaints (errors, tracebacks' last lines), shortly."""
        lines: list[str] = []
        for path in sorted(tmp.glob("*.err")):
            text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            wanted = [line.strip() for line in text if _COMPLAINT.search(line)]
            lines += [f"{path.stem}: {line}" for line in wanted[-3:]]
        shown = " | ".join(lines) or "no error in Locust's output"
        return self.redactor.text(shown[:MAX_TAIL])

    # -- afterwards ------------------------------------------------------------------------
    def _settle(self, sim: Any, partner_id: str) -> None:
        """Let the partner finish what it started: no trade reserved, deliveries drained."""
        deadline = time.monotonic() + 2 * self.timings.settle_s
        while time.monotonic() < deadline:
            if all(t.status != "reserved" for t in sim.control.trades(partner_id)):
                break
            time.sleep(self.timings.read_interval_s * 2)
        sim.control.wait_deliveries(timeout=self.timings.settle_s)
        time.sleep(self.timings.quiet_s)  # a posting written on the last event lands

    def _ledger(
        self, process: PartnerProcess, samples: Samples, trades: Sequence[Any]
    ) -> list[Posting]:
        """Every account's ledger (a single book shared by all accounts is read once)."""
        accounts = list(dict.fromkeys(o.account for o in samples.orders if o.created))
        actions = Actions(self.manifest, process.base_url, redactor=self.redactor,
                          liveness=process.exit_reason)
        driver = Driver(actions, EvidenceRecorder("load", redactor=self.redactor))
        reads: list[tuple[str, tuple[Posting, ...]]] = []
        try:
            for account in accounts:
                answer = actions.call("ledger", driver.variables(account=account))
                if not answer.ok or not answer.is_json:
                    raise PartnerGarbage(f"ledger answered HTTP {answer.status_code}: "
                                         f"{answer.text[:200]!r}")
                reads.append((account, tuple(read_posting(item, self.manifest.provider)
                                             for item in answer.items)))
        finally:
            actions.close()
        return ledger_book(reads, id_owners(samples.orders, trades))

    def _result(
        self, samples: Samples, view: ProviderView, late: dict[str, float],
        guarantees: tuple[Guarantee, ...],
        started: datetime, ended: datetime, start_s: float, notes: list[str],
    ) -> LoadResult:
        orders = [o for o in samples.orders if o.created]
        refused = [o for o in orders if o.final in NO or (o.accepts and all(
            400 <= a.status < 500 or a.category in NO for a in o.accepts))]
        # An order first answered "pending" (a queued accept) and then refused is refused only.
        refused_ids = {id(o) for o in refused}
        accepted = [o for o in orders if o.final == "done" or (id(o) not in refused_ids and any(
            200 <= a.status < 300 and a.category not in NO for a in o.accepts))]
        reset_quotes = {(e.body or {}).get("quoteId") for e in view.journal
                        if e.reset and isinstance(e.body, dict)}
        expired = len(late)
        terminal = [
            (o.final_at - o.at) * 1000 for o in orders if o.final and o.final_at is not None
        ]
        requests = samples.requests
        span = max(1e-9, (requests[-1].at - requests[0].at) if len(requests) > 1 else 1.0)
        if samples.unreadable_lines:
            notes.append(f"{samples.unreadable_lines} sample line(s) could not be read")
        unfinished = [o for o in orders if o.final is None
                      and any(200 <= a.status < 300 for a in o.accepts)]
        if unfinished:
            notes.append(f"{len(unfinished)} accepted order(s) reached no terminal status "
                         f"within {max(self.timings.settle_s, CUSTOMER_WAIT_S):.0f} s")
        not_arranged = [o for o in samples.orders if not o.arranged]
        if not_arranged:
            notes.append(f"{len(not_arranged)} order(s) could not be arranged through the "
                         "control plane (they ran as plain orders)")
        return LoadResult(
            settings=self.settings(),
            started_at=started.replace(microsecond=0),
            ended_at=ended.replace(microsecond=0),
            counts=OrderCounts(
                orders=len(orders), accepted=len(accepted), refused=len(refused),
                double_accepts=sum(1 for o in orders if o.path == DOUBLE and o.accepts),
                reset_retries=sum(1 for o in orders if o.quote_id in reset_quotes),
                expired_attempts=expired,
                webhook_replays=view.replays_delivered,
                trades=len(view.trades),
            ),
            actions=action_stats(requests),
            accept_latency=percentiles([r.ms for r in requests if r.action == "accept"]),
            quote_to_terminal=percentiles(terminal),
            timeline=timeline(requests, start_s),
            guarantees=guarantees,
            partner_5xx=sum(1 for r in requests if r.server_error),
            partner_requests=len(requests),
            throughput_rps=round(len(requests) / span, 2),
            notes=tuple(notes),
        )
