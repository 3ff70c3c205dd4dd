"""``zeropools-conformance load``: a volume spike on the partner's buy button, then the verdict.

Locust (in subprocesses: it monkey-patches the process it runs in) drives the manifest's
actions with a share of double accepts, accepts whose transact is reset after commit,
accepts after expiry and velocity-cap 429s, while the harness replays settled webhooks;
the simulator runs in the loop. Afterwards each guarantee is judged on the provider's
journal and trades and on the partner's ledger, and the report is written as certify
writes it (its ``load`` section holds the measurements). Exit 0 ready, 1 blocked, 2 the
harness could not run (bad arguments, partner never up), 130 / 143 interrupted.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from conformance import exit_codes, interrupt
from conformance.commands._harness_failure import harness_failure
from conformance.commands.certify import clear_outputs, partner_env
from conformance.commands.doctor import load as load_partner
from conformance.errors import ConformanceError
from conformance.load.results import LoadResult
from conformance.load.run import LoadOptions, LoadOutcome, LoadRun, check_manifest
from conformance.load.verdict import run_result
from conformance.redact import Redactor
from conformance.report import LOAD_SAMPLES, write_report
from conformance.report.verdict import summary_lines

NAME = "load"
HELP = ("Spike the partner's buy button with Locust users (double accepts, lost transact "
        "answers, expired quotes, velocity 429s, webhook replays) and judge what it did.")
SAMPLES_NAME = LOAD_SAMPLES  # every request and order, JSON lines (the raw evidence)
MAX_USERS = 10_000
MAX_WORKERS = 64
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>s|m)?$")


def _one_line(message: str) -> NoReturn:
    """argparse's own errors (a value missing after an option) as one line, exit 2."""
    print(f"zeropools-conformance: error: load: {message}", file=sys.stderr)
    raise SystemExit(exit_codes.HARNESS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Values are checked in run() so that every mistake is one line and exit 2.
    parser.error = _one_line  # type: ignore[method-assign]
    parser.add_argument("--partner", metavar="MANIFEST", type=Path, default=None,
                        help="the partner manifest; default: the bundled reference partner")
    parser.add_argument("--users", metavar="N", default=None,
                        help="concurrent Locust users (customers pressing buy), at least 1")
    parser.add_argument("--spawn-rate", metavar="R", default=None,
                        help="users started per second (default: all within 1 s)")
    parser.add_argument("--duration", metavar="S", default=None,
                        help="how long the spike lasts: seconds, or e.g. 20s, 2m")
    parser.add_argument("--workers", metavar="W", default="0",
                        help="run Locust as a master with W local worker processes "
                        "(default 0: one local runner)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="where to write the report (report.json with its load section, "
                        "report.html, junit.xml, summary.md, manifest.sha256)")
    parser.add_argument("--partner-env", metavar="NAME=VALUE", action="append", default=[],
                        help="extra environment for a partner the harness starts (repeatable)")
    spread = parser.add_argument_group("spread over machines (docs/LOAD.md)")
    spread.add_argument("--remote-workers", metavar="K", default="0",
                        help="also wait for K Locust workers started on other hosts")
    spread.add_argument("--master-bind-host", metavar="HOST", default="127.0.0.1",
                        help="where Locust's master listens for workers (default 127.0.0.1)")
    spread.add_argument("--master-port", metavar="PORT", default="0",
                        help="the master's port (default: a free one)")
    spread.add_argument("--sim-host", metavar="HOST", default="127.0.0.1",
                        help="the address the simulator listens on and is reached at by the "
                        "partner and remote workers (default 127.0.0.1)")
    spread.add_argument("--plan-out", metavar="FILE", type=Path, default=None,
                        help="write the run's plan here for remote workers (it holds the "
                        "simulator's control token: written 0600)")


def _whole(name: str, value: str | None, low: int, high: int) -> int:
    if value is None:
        raise ConformanceError(f"{name} is required")
    if not re.fullmatch(r"\d+", value.strip()) or not low <= int(value) <= high:
        raise ConformanceError(f"{name}: must be a whole number from {low} to {high}, "
                               f"got {value!r}")
    return int(value)


def _rate(value: str | None, users: int) -> float:
    if value is None:
        return float(users)
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0 < rate <= MAX_USERS:
        raise ConformanceError(f"--spawn-rate: must be a number of users per second above 0, "
                               f"got {value!r}")
    return rate


def _duration(value: str | None) -> float:
    if value is None:
        raise ConformanceError("--duration is required")
    match = _DURATION.match(value.strip())
    seconds = 0.0
    if match:
        seconds = float(match["n"]) * (60 if match["unit"] == "m" else 1)
    if not 1 <= seconds <= 3600:
        raise ConformanceError(f"--duration: must be 1 s to 60 m (e.g. 20, 20s, 2m), "
                               f"got {value!r}")
    return seconds


def options(args: argparse.Namespace) -> LoadOptions:
    """The run's options, every argument checked (one clear line for the first bad one)."""
    if args.out is None:
        raise ConformanceError("--out is required")
    users = _whole("--users", args.users, 1, MAX_USERS)
    remote = _whole("--remote-workers", args.remote_workers, 0, MAX_WORKERS)
    if remote and args.plan_out is None:
        raise ConformanceError("--remote-workers needs --plan-out FILE: the workers read the "
                               "run's plan from a copy of it")
    return LoadOptions(
        users=users,
        spawn_rate=_rate(args.spawn_rate, users),
        duration_s=_duration(args.duration),
        workers=_whole("--workers", args.workers, 0, MAX_WORKERS),
        partner_env=partner_env(args.partner_env),
        remote_workers=remote,
        master_bind_host=args.master_bind_host,
        master_port=_whole("--master-port", args.master_port, 0, 65535),
        sim_host=args.sim_host,
        plan_out=args.plan_out,
    )


def summary(load: LoadResult) -> list[str]:
    """The numbers a terminal shows after a spike."""
    c = load.counts
    a, t = load.accept_latency, load.quote_to_terminal
    lines = [
        f"orders {c.orders}: accepted {c.accepted}, refused {c.refused}; trades {c.trades}; "
        f"double accepts {c.double_accepts}, reset retries {c.reset_retries}, expired "
        f"attempts {c.expired_attempts}, webhook replays {c.webhook_replays}",
        f"partner requests {load.partner_requests} ({load.throughput_rps} /s), 5xx or no "
        f"answer {load.partner_5xx}",
        f"accept p50/p95/p99 {_ms(a.p50_ms)}/{_ms(a.p95_ms)}/{_ms(a.p99_ms)} ms "
        f"({a.count}); quote → terminal {_ms(t.p50_ms)}/{_ms(t.p95_ms)}/{_ms(t.p99_ms)} ms "
        f"({t.count})",
    ]
    for g in load.guarantees:
        mark = {True: "held", False: "BROKEN", None: "UNDECIDED"}[g.held]
        lines.append(f"  {mark:<9} {g.id} ({g.observed}): {g.detail}")
    lines += [f"  note: {n}" for n in load.notes]
    return lines


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def run(args: argparse.Namespace) -> int:
    chosen = options(args)
    manifest = load_partner(args.partner, ())  # validated before anything starts
    check_manifest(manifest)  # and judgeable under load, before any earlier report is cleared
    out_dir: Path = args.out
    redactor = Redactor()
    workers = f", {chosen.workers} Locust workers" if chosen.workers else ""
    print(f"load: {manifest.name}: {chosen.users} users at {chosen.spawn_rate:g}/s for "
          f"{chosen.duration_s:g} s{workers}; report into {out_dir}", flush=True)
    clear_outputs(out_dir)
    (out_dir / SAMPLES_NAME).unlink(missing_ok=True)
    started = datetime.now(UTC).replace(microsecond=0)
    try:
        with interrupt.handle_signals():
            runner = LoadRun(
                manifest, chosen, redactor=redactor, samples_out=out_dir / SAMPLES_NAME
            )
            try:
                outcome = runner.run()
            except KeyboardInterrupt:
                name = interrupt.received_name() or "SIGINT"
                print(f"\ninterrupted by {name}: writing the report", flush=True)
                outcome = LoadOutcome(load=None, interrupted=name)
            result = run_result(outcome, partner_name=manifest.name, started_at=started,
                                settings=runner.settings())
            written = write_report(result, out_dir, redactor=redactor)
    except ConformanceError:
        raise
    except Exception as exc:
        raise harness_failure(exc, redactor) from None
    if outcome.load is not None:
        for line in summary(outcome.load):
            print(redactor.text(line))
    for error in outcome.harness_errors:
        print(redactor.text(f"harness error: {error}"))
    print()
    for line in summary_lines(written.verdict, result.partner_name):
        print(redactor.text(line))
    print(f"report: {out_dir / 'report.html'}")
    return written.verdict.exit_code
