"""Load generation: the harness's CPU per order under load, and the most load one machine makes.

Part 1, ``spike``: the ``zeropools-conformance load`` run itself (``LoadRun`` from
``conformance/load/run.py`` and the report writing of ``conformance/commands/load.py``, in
this process, which is therefore the harness: simulator, webhook replayer, judge) against the
bundled reference partner, as a local runner and as a master with 2 local workers. CPU
seconds are accounted separately for the harness (``time.process_time()`` of this process),
the Locust processes (``RUSAGE_CHILDREN``: the harness reaps every Locust process before the
partner is stopped, and the partner is the only other child), and the partner (its process
group, from ``/proc``, while it still runs), under load (from Locust's first sample, its
start-up apart, until every Locust process is reaped) and over the whole run; each is divided
by the orders made. The phase after the spike is timed too: settling, reading the ledger,
judging, writing the report.

Part 2, ``capacity``: Locust users (``HttpUser`` on requests, ``FastHttpUser`` on geventhttpclient)
with no wait time hammering a trivially fast HTTP server (raw asyncio on uvloop, its own
process, counting the requests it answers); the local runner, and a master with 2 local
workers. After a warm-up the server's count and every process's CPU time (psutil) are read
twice, ``--seconds`` apart (with the run-queue wait from ``/proc/<pid>/schedstat``: the
machine is shared): requests/s, the load generator's CPU cores, and requests per
second per CPU core of load generator — the figure that says how many cores (and machines)
a wanted load needs.

    python bench/load_capacity.py [--quick] [--parts spike,capacity] [--users 30]
                                  [--duration 10] [--spike-workers 0,2] [--seconds 8]
                                  [--locust-users 20] [--user-kinds http,fast]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from _common import (
    ROOT,
    finish,
    fmt,
    free_port,
    group_cpu_seconds,
    run_main,
    table,
    wait_port,
    write_result,
)

sys.path.insert(0, str(ROOT))

REFERENCE = ROOT / "fixtures" / "reference_partner" / "manifest.toml"
COUNT_PATH = b"/__count"
LOCUSTFILE = '''\
import os

from locust import FastHttpUser, HttpUser, constant, task

if os.environ["ZP_BENCH_USER"] == "fast":
    class Hammer(FastHttpUser):
        wait_time = constant(0)

        @task
        def hit(self):
            self.client.get("/")
else:
    class Hammer(HttpUser):
        wait_time = constant(0)

        @task
        def hit(self):
            self.client.get("/")
'''


# -- part 2's target: a trivially fast HTTP server in its own process ---------------------------
def serve(port: int) -> None:
    """Answer every GET with 200 "ok" (keep-alive, pipelining); GET /__count: requests so far."""
    count = 0

    class Answer(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport, self.buffer = transport, b""

        def data_received(self, data: bytes) -> None:
            nonlocal count
            self.buffer += data
            out = []
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
                if head.split(b" ", 2)[1:2] == [COUNT_PATH]:
                    body = str(count).encode()
                else:
                    count += 1
                    body = b"ok"
                out.append(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                           + str(len(body)).encode() + b"\r\n\r\n" + body)
            if out:
                self.transport.write(b"".join(out))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Answer, "127.0.0.1", port, backlog=1024)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            await stop.wait()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def served(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{COUNT_PATH.decode()}",
                                timeout=5) as answer:
        return int(answer.read())


def cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of live processes."""
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def runqueue_wait(pids: list[int]) -> float:
    """Seconds these processes spent runnable but waiting for a CPU (/proc/<pid>/schedstat)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """End the processes this script started (each by its own id), politely then firmly."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def capacity_level(kind: str, workers: int, users: int, warmup: float, seconds: float,
                   tmp: Path) -> dict[str, Any]:
    """One load generator configuration against a fresh target server."""
    port = free_port()
    target = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], cwd=ROOT,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        wait_port(port, 20, target)
        locustfile = tmp / "hammer.py"
        locustfile.write_text(LOCUSTFILE)
        env = dict(os.environ, ZP_BENCH_USER=kind, PYTHONUNBUFFERED="1")
        base = [sys.executable, "-m", "locust", "-f", str(locustfile), "--loglevel", "ERROR"]
        run = ["--headless", "-u", str(users), "-r", str(users), "-t", "300s",
               "--only-summary", "--stop-timeout", "0", "--exit-code-on-error", "0",
               "--host", f"http://127.0.0.1:{port}"]
        log = open(tmp / f"{kind}-{workers}.log", "wb")  # noqa: SIM115 - closed below
        if workers:
            master_port = free_port()
            procs.append(subprocess.Popen(
                [*base, *run, "--master", "--expect-workers", str(workers),
                 "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port)],
                env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL))
            for _ in range(workers):
                procs.append(subprocess.Popen(
                    [*base, "--worker", "--master-host", "127.0.0.1",
                     "--master-port", str(master_port)],
                    env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL))
        else:
            procs.append(subprocess.Popen([*base, *run], env=env, stdout=log, stderr=log,
                                          stdin=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while served(port) == 0:
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError(f"Locust ({kind}, {workers} workers) sent no request: "
                                   + (tmp / f"{kind}-{workers}.log").read_text()[-800:])
            time.sleep(0.2)
        time.sleep(warmup)
        pids = [p.pid for p in procs]
        n1, t1 = served(port), time.monotonic()
        gen1, tgt1, wait1 = cpu_of(pids), cpu_of([target.pid]), runqueue_wait(pids)
        per1 = [cpu_of([pid]) for pid in pids]
        time.sleep(seconds)
        n2, t2 = served(port), time.monotonic()
        gen2, tgt2, wait2 = cpu_of(pids), cpu_of([target.pid]), runqueue_wait(pids)
        per2 = [cpu_of([pid]) for pid in pids]
        alive = all(p.poll() is None for p in procs)
    finally:
        stop_all(procs)
        stop_all([target])
    span, requests = t2 - t1, n2 - n1
    gen_cores = (gen2 - gen1) / span
    return {
        "user": "FastHttpUser" if kind == "fast" else "HttpUser",
        "mode": f"master + {workers} workers" if workers else "local runner",
        "workers": workers, "users": users, "seconds": round(span, 2), "requests": requests,
        "rps": requests / span, "generator_cpu_cores": gen_cores,
        "generator_cpu_per_process": [round((b - a) / span, 3) for a, b in zip(per1, per2,
                                                                                 strict=True)],
        "rps_per_generator_core": requests / (gen2 - gen1) if gen2 > gen1 else float("nan"),
        "generator_cpu_us_per_request": (gen2 - gen1) / requests * 1e6 if requests else None,
        "target_cpu_cores": (tgt2 - tgt1) / span,
        # Load generator processes runnable but not running (the shared machine's share).
        "generator_runqueue_wait": (wait2 - wait1) / span,
        "loadavg_after": list(os.getloadavg()), "locust_alive_throughout": alive,
    }


def capacity(args: argparse.Namespace) -> list[dict[str, Any]]:
    levels = []
    with tempfile.TemporaryDirectory(prefix="zp-bench-locust-") as tmp:
        for kind in args.user_kinds.split(","):
            for workers in (int(w) for w in args.capacity_workers.split(",") if w):
                level = capacity_level(kind, workers, args.locust_users, args.warmup,
                                       args.seconds, Path(tmp))
                levels.append(level)
                print(f"capacity {level['user']:12} {level['mode']:18} {level['rps']:8.0f} "
                      f"req/s, generator {level['generator_cpu_cores']:.2f} cores",
                      file=sys.stderr)
    return levels


# -- part 1: the load command itself, CPU accounted per process ---------------------------------
def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def spike(users: int, duration: float, workers: int) -> dict[str, Any]:
    """One ``zeropools-conformance load`` run in this process; CPU and phases accounted."""
    import conformance.load.run as run_module
    from conformance.commands.doctor import load as load_partner
    from conformance.load.run import LoadOptions, LoadRun
    from conformance.load.verdict import run_result
    from conformance.redact import Redactor
    from conformance.report import write_report

    marks: dict[str, Any] = {}
    phases: dict[str, float] = {}
    judge_cpu: list[float] = []

    def timed(name: str, call: Callable[[], Any]) -> Any:
        began = time.monotonic()
        try:
            return call()
        finally:
            phases[name] = phases.get(name, 0.0) + time.monotonic() - began

    class TimedJudge(run_module.Judge):  # type: ignore[misc, name-defined]
        def all(self) -> Any:
            began = time.thread_time()
            try:
                return timed("judge", super().all)
            finally:
                judge_cpu.append(time.thread_time() - began)

    def snapshot() -> dict[str, float]:
        partner = marks.get("partner_pid")
        return {"wall": time.monotonic(), "harness": time.process_time(),
                "children": children_cpu(),
                "partner": group_cpu_seconds(partner) if partner else 0.0}

    def first_sample(samples: Path, done: threading.Event) -> None:
        """When Locust's first sample lands (start-up over): every process's CPU so far."""
        while not done.wait(0.05):
            if any(p.stat().st_size for p in samples.glob("*.jsonl")):
                me = psutil.Process()
                partner = marks.get("partner_pid")
                locust = [c.pid for c in me.children() if c.pid != partner]
                marks["first_sample"] = {**snapshot(), "locust_live": cpu_of(locust)}
                return

    class MeasuredRun(LoadRun):
        def _drive(self, sim: Any, partner_id: str, process: Any, tmp: Path) -> Any:
            proc = getattr(process, "_proc", None)
            marks["partner_pid"] = proc.pid if proc is not None else None
            marks["drive"] = snapshot()
            try:
                return super()._drive(sim, partner_id, process, tmp)
            finally:
                marks["drive_end"] = snapshot()  # the partner still runs: stopped after this

        def _locust(self, plan: Any, plan_path: Path, tmp: Path) -> list[str]:
            marks["locust"] = snapshot()
            done = threading.Event()
            watch = threading.Thread(target=first_sample, args=(Path(plan.samples_dir), done),
                                     daemon=True)
            watch.start()
            try:
                return super()._locust(plan, plan_path, tmp)  # every Locust process reaped
            finally:
                marks["locust_end"] = snapshot()
                done.set()
                watch.join()

        def _settle(self, sim: Any, partner_id: str) -> None:
            timed("settle", lambda: super(MeasuredRun, self)._settle(sim, partner_id))

        def _ledger(self, process: Any, samples: Any, trades: Any) -> Any:
            return timed("ledger",
                         lambda: super(MeasuredRun, self)._ledger(process, samples, trades))

    original = run_module.Judge
    run_module.Judge = TimedJudge  # type: ignore[attr-defined]
    try:
        manifest = load_partner(REFERENCE, ())
        options = LoadOptions(users=users, spawn_rate=float(users), duration_s=duration,
                              workers=workers)
        redactor = Redactor()
        with tempfile.TemporaryDirectory(prefix="zp-bench-load-") as out:
            began = snapshot()
            started = datetime.now(UTC).replace(microsecond=0)
            runner = MeasuredRun(manifest, options, redactor=redactor, say=lambda _: None,
                                 samples_out=Path(out) / "load-samples.jsonl")
            outcome = runner.run()
            stopped = snapshot()  # the partner is stopped and reaped now
            report_began = (time.monotonic(), time.process_time())
            result = run_result(outcome, partner_name=manifest.name, started_at=started,
                                settings=runner.settings())
            written = write_report(result, Path(out), redactor=redactor)
            phases["report"] = time.monotonic() - report_began[0]
            report_cpu = time.process_time() - report_began[1]
            ended = snapshot()
    finally:
        run_module.Judge = original  # type: ignore[attr-defined]

    load = outcome.load
    if load is None or "locust_end" not in marks:
        raise RuntimeError(f"the load run did not run: {outcome.harness_errors}")
    orders, requests = load.counts.orders, load.partner_requests
    a, b = marks["locust"], marks["locust_end"]
    spike_cpu = {"harness": b["harness"] - a["harness"], "locust": b["children"] - a["children"],
                 "partner": b["partner"] - a["partner"]}
    # Whole run (start-up, spike, settling, judging, report): Locust is every child reaped
    # before the partner was stopped; the partner is the child reaped when it was stopped.
    d0, d1 = marks["drive"], marks["drive_end"]
    whole_cpu = {"harness": ended["harness"] - began["harness"],
                 "locust": b["children"] - began["children"],
                 "partner": stopped["children"] - b["children"]}
    spike_s = b["wall"] - a["wall"]
    # Under load: from Locust's first sample (its processes started, users spawning) to the
    # end; Locust's start-up (imports, workers joining) is the CPU its processes had then.
    f = marks.get("first_sample")
    loaded = None
    if f is not None:
        startup = f["locust_live"] + (f["children"] - a["children"])
        loaded_s = b["wall"] - f["wall"]
        loaded_cpu = {"harness": b["harness"] - f["harness"],
                      "locust": spike_cpu["locust"] - startup,
                      "partner": b["partner"] - f["partner"]}
        loaded = {"wall_s": loaded_s, "locust_startup_cpu_s": startup,
                  "locust_startup_wall_s": f["wall"] - a["wall"], "cpu_s": loaded_cpu,
                  "cpu_cores": {k: v / loaded_s for k, v in loaded_cpu.items()},
                  "cpu_ms_per_order": {k: v / orders * 1000 if orders else None
                                       for k, v in loaded_cpu.items()},
                  "cpu_ms_per_request": {k: v / requests * 1000 if requests else None
                                         for k, v in loaded_cpu.items()}}
    after = {"wall_s": d1["wall"] - b["wall"], "harness_cpu_s": d1["harness"] - b["harness"],
             **{f"{k}_s": v for k, v in phases.items()},
             "judge_cpu_s": sum(judge_cpu), "report_cpu_s": report_cpu}
    return {
        "mode": f"master + {workers} workers" if workers else "local runner",
        "users": users, "duration_s": duration, "workers": workers,
        "orders": orders, "partner_requests": requests, "trades": load.counts.trades,
        "throughput_rps": load.throughput_rps, "accept_p50_ms": load.accept_latency.p50_ms,
        "accept_p99_ms": load.accept_latency.p99_ms,
        "guarantees": {g.id: g.held for g in load.guarantees},
        "verdict_exit_code": written.verdict.exit_code,
        "harness_errors": list(outcome.harness_errors), "notes": list(load.notes),
        "run_wall_s": stopped["wall"] - began["wall"], "setup_wall_s": a["wall"] - d0["wall"],
        "spike_wall_s": spike_s,
        "spike_cpu_s": spike_cpu,
        "spike_cpu_cores": {k: v / spike_s for k, v in spike_cpu.items()},
        "spike_cpu_ms_per_order": {k: v / orders * 1000 if orders else None
                                   for k, v in spike_cpu.items()},
        "spike_cpu_ms_per_request": {k: v / requests * 1000 if requests else None
                                     for k, v in spike_cpu.items()},
        "under_load": loaded,
        "whole_run_cpu_s": whole_cpu,
        "whole_run_cpu_ms_per_order": {k: v / orders * 1000 if orders else None
                                       for k, v in whole_cpu.items()},
        "after_spike": after,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (< 30 s)")
    parser.add_argument("--parts", default="spike,capacity", help="spike, capacity or both")
    parser.add_argument("--users", type=int, default=30, help="spike: Locust users")
    parser.add_argument("--duration", type=float, default=10.0, help="spike: seconds")
    parser.add_argument("--spike-workers", default="0,2", help="spike: Locust worker counts")
    parser.add_argument("--locust-users", type=int, default=20, help="capacity: users")
    parser.add_argument("--capacity-workers", default="0,2",
                        help="capacity: Locust worker counts (0: the local runner)")
    parser.add_argument("--user-kinds", default="http,fast",
                        help="capacity: http (HttpUser), fast (FastHttpUser)")
    parser.add_argument("--warmup", type=float, default=3.0, help="capacity: unmeasured s")
    parser.add_argument("--seconds", type=float, default=8.0, help="capacity: measured s")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.quick:
        args.users, args.duration, args.spike_workers = 4, 3.0, "0"
        args.locust_users, args.user_kinds, args.capacity_workers = 4, "fast", "2"
        args.warmup, args.seconds = 1.0, 2.0
    parts = set(args.parts.split(","))
    loadavg_before = list(os.getloadavg())

    spikes = [spike(args.users, args.duration, int(w))
              for w in args.spike_workers.split(",") if w] if "spike" in parts else []
    for s in spikes:
        print(f"spike {s['mode']}: {s['orders']} orders, {s['partner_requests']} requests",
              file=sys.stderr)
    levels = capacity(args) if "capacity" in parts else []

    checks = {
        "spike_orders": [s["orders"] for s in spikes],
        "spike_harness_errors": [e for s in spikes for e in s["harness_errors"]],
        "spike_guarantees_held": all(held is True for s in spikes
                                     for held in s["guarantees"].values()),
        "capacity_requests": [lv["requests"] for lv in levels],
        "capacity_locust_alive": all(lv["locust_alive_throughout"] for lv in levels),
    }
    ok = (all(n > 0 for n in checks["spike_orders"]) and not checks["spike_harness_errors"]
          and all(n > 0 for n in checks["capacity_requests"])
          and checks["capacity_locust_alive"])
    path = write_result("load_capacity", {
        "settings": {k: v for k, v in vars(args).items() if k != "serve"},
        "loadavg_before": loadavg_before, "loadavg_after": list(os.getloadavg()),
        "spike": spikes, "capacity": levels, "checks": checks, "ok": ok,
        "shared_machine": True,
    })
    if spikes:
        rows = []
        for s in spikes:
            loaded = s["under_load"] or {"cpu_ms_per_order": s["spike_cpu_ms_per_order"],
                                         "cpu_cores": s["spike_cpu_cores"],
                                         "locust_startup_cpu_s": float("nan")}
            per, cores = loaded["cpu_ms_per_order"], loaded["cpu_cores"]
            whole, after = s["whole_run_cpu_ms_per_order"], s["after_spike"]
            rows.append([s["mode"], s["users"], s["orders"], s["partner_requests"],
                         s["spike_wall_s"], per["harness"], per["locust"], per["partner"],
                         f"{fmt(cores['harness'])} / {fmt(cores['locust'])} / "
                         f"{fmt(cores['partner'])}", loaded["locust_startup_cpu_s"],
                         f"{fmt(whole['harness'])} / {fmt(whole['locust'])} / "
                         f"{fmt(whole['partner'])}",
                         after["wall_s"], after.get("judge_s", float("nan")),
                         after.get("report_s", float("nan"))])
        print(table(["spike", "users", "orders", "partner req", "Locust s",
                     "harness CPU ms/order", "Locust CPU ms/order", "partner CPU ms/order",
                     "cores h / L / p", "Locust start-up CPU s",
                     "whole run ms/order h / L / p", "after-spike s", "judge s", "report s"],
                    rows))
    if levels:
        print(table(["user class", "mode", "users", "req/s", "generator cores",
                     "generator run-queue wait", "req/s per generator core",
                     "generator CPU µs/req", "target cores"],
                    [[lv["user"], lv["mode"], lv["users"], lv["rps"],
                      lv["generator_cpu_cores"], lv["generator_runqueue_wait"],
                      lv["rps_per_generator_core"], lv["generator_cpu_us_per_request"],
                      lv["target_cpu_cores"]] for lv in levels]))
    return finish(path, ok, checks=checks)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:  # part 2's target server, in a process of its own
        serve(int(sys.argv[2]))
    else:
        run_main(main)
