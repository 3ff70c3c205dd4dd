"""Locust's side of a load run: buy-button users acting through the partner's manifest.

Loaded only by ``python -m locust -f`` in processes of its own (Locust imports gevent and
monkey-patches the process; the harness never imports this module). Each user is one
customer account placing orders one after another; each order takes a path from the plan
(:mod:`conformance.load.plan`): a plain quote → accept, two concurrent accepts, an accept
whose provider transact is reset after commit, an accept after the quote expired, or an
accept the provider answers 429 with Retry-After. Routes, fields and states come from the
manifest through the driver's own request building; the threats are arranged through the
simulator's control plane over HTTP (``/_sim/``), so a worker on another host needs only
the plan file and network access.

Every partner request becomes a sample through Locust's ``events.request`` hook and every
order a record; the local runner and the master write them as JSON lines, workers send
theirs to the master over Locust's own message channel.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import gevent
import locust.runners
import requests
from locust import HttpUser, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from conformance.driver.actions import HttpActions
from conformance.driver.driver import new_account, template_variables
from conformance.driver.manifest import Manifest, load_manifest
from conformance.load.judge import answer_fields
from conformance.load.plan import (
    DONE_MESSAGE,
    DOUBLE,
    EXPIRED,
    FLUSH_MESSAGE,
    PLAN_ENV,
    RESET,
    SAMPLES_MESSAGE,
    VELOCITY,
    LoadPlan,
    schedule,
)

PLAN = LoadPlan.read(os.environ[PLAN_ENV])
MANIFEST: Manifest = load_manifest(PLAN.manifest)
# One request builder per process: building one per user (an HTTP client, its TLS context)
# blocks gevent's loop long enough for the master to take a busy worker for dead.
ACTIONS = HttpActions(MANIFEST, PLAN.base_url, timeout_s=PLAN.request_timeout_s)
# A worker on a loaded host may answer its heartbeats late: tolerate it (Locust's own knob).
locust.runners.HEARTBEAT_LIVENESS = 30
SCHEDULE = schedule(PLAN.shares)
_COUNTER = itertools.count()
TRANSACT_GLOB = "/v1/pools/*/transact"
FLUSH_S = 1.0
FLUSH_GRACE_S = 10.0
UNREADABLE = "unreadable"  # how a 2xx the manifest cannot read is marked in the samples
EXPIRE_TRIES = 3
# The fields a 2xx answer must carry where the manifest maps them (as the preflight wants);
# an action mapping none of them (a queued accept: 202 with no body) reads any 2xx.
NEEDED = {"create_quote": ("order_ref", "quote_id"), "accept": ("status",),
          "get_order": ("status",)}


class _Sink:
    """Where samples go: this process's own JSONL file when the plan's samples directory is
    on this host (the local runner, the master, local workers), else the master (a worker
    on another host), which writes what it receives into a file of its own."""

    def __init__(self) -> None:
        self.buffer: list[dict[str, Any]] = []
        self.handle: Any = None
        self.environment: Environment | None = None
        self.senders: set[str] = set()  # the master: remote workers that sent samples
        self.done: set[str] = set()  # the master: remote workers that sent everything

    def open_file(self, name: str) -> None:
        path = Path(PLAN.samples_dir) / name
        self.handle = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def write(self, records: list[dict[str, Any]]) -> None:
        if self.handle is not None:
            self.handle.write("".join(json.dumps(r) + "\n" for r in records))

    def add(self, record: dict[str, Any]) -> None:
        if self.handle is not None:
            self.write([record])
        else:
            self.buffer.append(record)

    def flush(self) -> None:
        if self.environment is None or not self.buffer:
            return
        batch, self.buffer = self.buffer, []
        runner = self.environment.runner
        if runner is not None:
            runner.send_message(SAMPLES_MESSAGE, batch)

    def pump(self) -> None:
        while True:
            gevent.sleep(FLUSH_S)
            self.flush()


SINK = _Sink()


@events.init.add_listener  # type: ignore[untyped-decorator]
def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    role = type(runner).__name__.removesuffix("Runner").lower()
    if isinstance(runner, WorkerRunner) and not Path(PLAN.samples_dir).is_dir():
        SINK.environment = environment  # on another host: samples go to the master
        gevent.spawn(SINK.pump)
        runner.register_message(FLUSH_MESSAGE, _on_flush, concurrent=True)
        return
    SINK.open_file(f"samples-{role}-{os.getpid()}.jsonl")
    if isinstance(runner, MasterRunner):
        runner.register_message(SAMPLES_MESSAGE, _on_samples)
        runner.register_message(DONE_MESSAGE, _on_done)


def _on_samples(environment: Environment, msg: Any, **_: Any) -> None:
    """The master writes what a remote worker sent (Locust calls this with keywords)."""
    SINK.senders.add(str(msg.node_id))
    SINK.write(list(msg.data))


def _on_done(environment: Environment, msg: Any, **_: Any) -> None:
    SINK.done.add(str(msg.node_id))


def _on_flush(environment: Environment, msg: Any, **_: Any) -> None:
    """The master is stopping: finish the orders in flight (stop-timeout), then report."""
    if environment.runner is not None:
        environment.runner.stop()  # fires test_stop, which sends the rest and DONE
    _send_done(environment)


def _send_done(environment: Environment) -> None:
    SINK.flush()
    if environment.runner is not None:
        environment.runner.send_message(DONE_MESSAGE, None)


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _on_stop(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner) and SINK.handle is None:
        _send_done(environment)  # what it holds goes before it reports that it stopped
    elif isinstance(runner, MasterRunner) and SINK.senders:
        # Headless, Locust's master quits at the run-time limit without waiting for its
        # workers' last orders: ask each remote one to finish and send the rest, and wait
        # (bounded). Local workers write their own files and are waited for by the harness.
        remote = set(SINK.senders)
        for node_id in remote - SINK.done:
            runner.send_message(FLUSH_MESSAGE, None, node_id)
        deadline = time.time() + PLAN.stop_timeout_s + FLUSH_GRACE_S
        while time.time() < deadline and not remote <= SINK.done:
            gevent.sleep(0.2)


@events.request.add_listener  # type: ignore[untyped-decorator]
def _on_request(
    request_type: str, name: str, response_time: float, response_length: int,
    response: Any = None, context: dict[str, Any] | None = None,
    exception: BaseException | None = None, start_time: float | None = None, **_: Any,
) -> None:
    status = getattr(response, "status_code", 0) or 0
    SINK.add({
        "kind": "request", "action": name, "at": start_time or time.time(),
        "ms": round(float(response_time), 3), "status": int(status),
        "error": None if exception is None else type(exception).__name__,
        "unreadable": exception is not None and str(exception).startswith(UNREADABLE),
    })


class _Control:
    """The simulator's control plane over HTTP, scoped to the partner under test."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {PLAN.control_token}"
        self.base = PLAN.sim_url.rstrip("/") + "/_sim"

    def post(self, path: str, body: dict[str, Any]) -> bool:
        try:
            answer = self.session.post(self.base + path, json=body,
                                       timeout=PLAN.request_timeout_s)
        except requests.RequestException:
            return False
        return answer.status_code == 200

    def short_ttl(self, seconds: float) -> bool:
        return self.post(f"/partners/{PLAN.partner_id}/quote-ttl", {"seconds": seconds})

    def fault(self, quote_id: str, action: str, **options: Any) -> bool:
        match = {"method": "POST", "path": TRANSACT_GLOB, "partner_id": PLAN.partner_id,
                 "quote_id": quote_id}
        return self.post("/faults", {"match": match, "action": action, **options})


class BuyButton(HttpUser):
    """One customer pressing the buy button: quote, accept, follow the order to its end."""

    host = PLAN.base_url
    wait_time = constant(PLAN.think_s)

    def on_start(self) -> None:
        self.account = new_account("load")
        self.actions = ACTIONS
        self.control = _Control()

    # -- one call of a manifest action -----------------------------------------------------
    def call(self, action: str, values: dict[str, str]) -> tuple[int, dict[str, Any], float]:
        spec = MANIFEST.action(action)
        assert spec is not None
        request = self.actions.build_request(spec, values)
        started = time.time()
        kwargs: dict[str, Any] = {"headers": request["headers"], "params": request["params"]}
        if "json" in request:
            kwargs["json"] = request["json"]
        with self.client.request(
            request["method"], request["url"], name=action, catch_response=True,
            timeout=PLAN.request_timeout_s, **kwargs,
        ) as response:
            fields, readable = answer_fields(spec.expect, response.text, NEEDED.get(action, ()))
            status = int(response.status_code or 0)
            if 200 <= status < 300 and not readable:
                response.failure(f"{UNREADABLE}: the answer lacks a field the manifest maps")
            elif status >= 500 or status == 0:
                response.failure(f"HTTP {status}")
            else:
                response.success()  # a 4xx refusal is an answer, not a failure
        return status, fields, started

    def variables(self, **given: str) -> dict[str, str]:
        return template_variables(
            MANIFEST, **{"account": self.account, "amount": PLAN.amount, "order_ref": "", **given}
        )

    def accept(self, order_ref: str) -> dict[str, Any]:
        status, fields, started = self.call("accept", self.variables(order_ref=order_ref))
        return {"at": started, "status": status, "category": _category(fields),
                "transact_id": _text(fields.get("transact_id"))}

    # -- one order -------------------------------------------------------------------------
    @task
    def order(self) -> None:
        path = SCHEDULE[next(_COUNTER) % len(SCHEDULE)]
        record: dict[str, Any] = {"kind": "order", "path": path, "account": self.account,
                                  "at": time.time(), "accepts": [], "arranged": True}
        try:
            self._order(path, record)
        finally:
            record["ended"] = time.time()
            SINK.add(record)

    def _order(self, path: str, record: dict[str, Any]) -> None:
        fields = self.quote(path, record)
        order_ref, quote_id = record.get("order_ref"), record.get("quote_id")
        if fields is None or not order_ref:
            return
        if path == RESET and quote_id:
            record["arranged"] = self.control.fault(quote_id, "reset_after_commit")
        elif path == VELOCITY and quote_id:
            record["arranged"] = self.control.fault(
                quote_id, "error", status=429, code="velocity_cap_exceeded",
                message="the partner's velocity cap is reached",
                retry_after=PLAN.retry_after_s,
            )
        if path == DOUBLE:
            clicks = [gevent.spawn(self.accept, order_ref) for _ in range(2)]
            gevent.joinall(clicks)
            record["accepts"] = [c.value for c in clicks if c.value is not None]
        else:
            record["accepts"] = [self.accept(order_ref)]
        refused = all(400 <= a["status"] < 500 for a in record["accepts"])
        record["final"], record["final_at"], record["transact_id"] = self.follow(
            order_ref, once=refused
        )

    def quote(self, path: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """create_quote; on the expired path a short-lived one, waited out before accepting.

        The short lifetime applies to the partner's next quote at the provider, which a
        concurrent user may take: a quote that came back long-lived is left unaccepted and
        the arrangement tried again (bounded).
        """
        for _ in range(EXPIRE_TRIES if path == EXPIRED else 1):
            if path == EXPIRED:
                record["arranged"] = self.control.short_ttl(PLAN.short_ttl_s)
            status, fields, _ = self.call("create_quote", self.variables())
            record["quote_status"] = status
            record["order_ref"] = _text(fields.get("order_ref"))
            record["quote_id"] = _text(fields.get("quote_id"))
            if not (200 <= status < 300) or not record["order_ref"]:
                return None
            if path != EXPIRED:
                return fields
            expires = _epoch(fields.get("expires_at"))
            if expires is None:  # unreadable: wait the short lifetime out from now
                expires = time.time() + PLAN.short_ttl_s
            if expires - time.time() <= PLAN.short_ttl_s + PLAN.expire_wait_s:
                gevent.sleep(max(0.0, expires - time.time()) + PLAN.expire_wait_s)
                return fields
        record["arranged"] = False  # every short lifetime went to another user's quote
        return fields

    def follow(
        self, order_ref: str, *, once: bool = False
    ) -> tuple[str | None, float | None, str | None]:
        """Read the order until a terminal status (bounded); ``once`` after a refused accept."""
        deadline = time.time() + PLAN.settle_s
        category: str | None = None
        transact_id: str | None = None
        while time.time() < deadline:
            status, fields, _ = self.call("get_order", self.variables(order_ref=order_ref))
            if 200 <= status < 300:
                category = _category(fields)
                transact_id = _text(fields.get("transact_id")) or transact_id
                if category in PLAN.terminal:
                    return category, time.time(), transact_id
            if once:
                break
            gevent.sleep(PLAN.poll_s)
        return None, None, transact_id


def _category(fields: dict[str, Any]) -> str | None:
    return MANIFEST.provider.category(fields.get("status"))


def _epoch(value: Any) -> float | None:
    """An expiry as the partner wrote it (ISO 8601, or epoch seconds or milliseconds)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = float(value)
        return number / 1000 if number > 1e11 else number
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
