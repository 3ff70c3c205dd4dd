"""Simulator throughput and latency: quote → transact → poll cycles, side by side with Prism.

Each client runs cycles back to back on a keep-alive connection (a closed loop) for a fixed
time; the simulator does real stateful work (idempotency, journal, balances, a settlement on
the poll) while Prism 5.14.2, mocking the simulator's own OpenAPI document, answers static
examples. Two simulator configurations are measured in the same run: ``sim-before`` (h11 on
the standard asyncio loop, the original server) and ``sim-after`` (httptools on uvloop, the
default). Every server runs in its own process, pinned with taskset to core 0; the load
comes from this process, pinned to core 1 (``--no-pin`` to float). The default load
generator (``--load raw``) writes pre-built requests (the headers aiohttp's session sends)
on plain uvloop connections and reads answers with ``bytes.find``: it costs a few times less
per cycle than aiohttp's client (``--load aiohttp``, the original generator, which saturates
its own core near 900 cycles/s), so the one-core server can be saturated and "cycles/s on
one core" is measured; the server's CPU utilisation (``server cores``) says whether it was.
Levels run interleaved so each ratio is measured in the same run, and the reported figure is
the median over runs.

    python bench/sim_throughput.py [--quick] [--clients 1,16,64] [--seconds 4] [--runs 3]
                                   [--load raw|aiohttp]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import aiohttp
import uvloop
from _common import (
    PrismProcess,
    SimProcess,
    finish,
    group_cpu_seconds,
    median,
    percentile,
    run_main,
    table,
    write_result,
)

DEST = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
QUOTE_BODY = json.dumps({"side": "on_ramp", "amount": "100.00", "destAddress": DEST}).encode()
TARGET_RATIO = 2.0  # the simulator against Prism
TARGET_CYCLES = 2000.0  # cycles/s with the simulator on one core


@dataclass
class Level:
    """One target at one concurrency, one run: what the clients saw."""

    target: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0

    @property
    def cycles(self) -> int:
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        return {
            "target": self.target, "clients": self.clients, "seconds": self.seconds,
            "cycles": self.cycles, "cycles_per_s": self.cycles / self.seconds,
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p99_ms": percentile(self.latencies, 99) * 1000,
            "server_cpu_ms_per_cycle": (self.cpu_seconds / self.cycles * 1000
                                        if self.cycles else None),
            "server_cpu_cores": self.cpu_seconds / self.seconds,
            "client_cpu_cores": self.client_cpu_seconds / self.seconds,
            "statuses": dict(self.statuses), "failures": self.failures[:5],
        }



async def mark_cpu(loop: asyncio.AbstractEventLoop, pgid: int, measure_from: float, end: float,
                   marks: list[float]) -> None:
    """Server CPU (its process group) and our own, at the start and at the end of the window."""
    await asyncio.sleep(max(0.0, measure_from - loop.time()))
    marks.extend((group_cpu_seconds(pgid), time.process_time()))
    await asyncio.sleep(max(0.0, end - loop.time()))
    marks.extend((group_cpu_seconds(pgid), time.process_time()))

async def cycle(session: aiohttp.ClientSession, base: str, key: str, level: Level,
                stateful: bool) -> None:
    """quote → transact → poll; on the simulator every step is checked."""
    async with session.post(f"{base}/pools/EUR-USDT/quote", data=QUOTE_BODY) as response:
        quote = await response.json(content_type=None)
        level.statuses[f"quote {response.status}"] += 1
    quote_id = quote.get("quoteId") if isinstance(quote, dict) else None
    if not quote_id:
        level.failures.append(f"quote without quoteId: {str(quote)[:200]}")
        return
    async with session.post(f"{base}/pools/EUR-USDT/transact",
                            data=json.dumps({"quoteId": quote_id}).encode(),
                            headers={"Idempotency-Key": key}) as response:
        trade = await response.json(content_type=None)
        level.statuses[f"transact {response.status}"] += 1
    async with session.get(f"{base}/pools/transactions/{quote_id}") as response:
        polled = await response.json(content_type=None)
        level.statuses[f"poll {response.status}"] += 1
    if stateful:
        if trade.get("quoteId") != quote_id or not str(trade.get("transactId", "")).startswith(
                "txn_"):
            level.failures.append(f"transact answer does not name the quote: {trade}")
        elif polled.get("status") != "settled" or polled.get("transactId") != trade[
                "transactId"]:
            level.failures.append(f"poll did not settle the trade: {polled}")


async def run_level(base: str, secret: str, target: str, clients: int, seconds: float,
                    warmup: float, stateful: bool, pgid: int) -> Level:
    level = Level(target=target, clients=clients, seconds=seconds)
    keys = itertools.count()
    run_id = uuid.uuid4().hex[:12]
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, headers=headers,
                                     timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        start = loop.time()
        measure_from = start + warmup
        end = measure_from + seconds
        cpu_marks: list[float] = []

        async def client() -> None:
            while True:
                began = loop.time()
                if began >= end:
                    return
                try:
                    await cycle(session, base, f"bench-{run_id}-{next(keys)}", level, stateful)
                except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                    level.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                done = loop.time()
                if began >= measure_from and done <= end:
                    level.latencies.append(done - began)

        await asyncio.gather(mark_cpu(loop, pgid, measure_from, end, cpu_marks),
                         *(client() for _ in range(clients)))
        level.cpu_seconds = cpu_marks[2] - cpu_marks[0]
        level.client_cpu_seconds = cpu_marks[3] - cpu_marks[1]
    return level


# -- the raw load generator ---------------------------------------------------------------------
# Pre-built request bytes on plain asyncio protocols (uvloop), answers framed by
# content-length and read with bytes.find: several times cheaper per request than aiohttp,
# so one client core can saturate a one-core server.

_QUOTE_ID = b'"quoteId":"'
_TRANSACT_ID = b'"transactId":"'


def _field(body: bytes, marker: bytes) -> bytes | None:
    """The string value after ``marker`` (``"name":"``) in compact JSON, or None."""
    at = body.find(marker)
    if at < 0:
        return None
    at += len(marker)
    end = body.find(b'"', at)
    return body[at:end] if end >= 0 else None


def _dechunk(data: bytes) -> bytes | None:
    """A chunked body's bytes, or None while incomplete."""
    out: list[bytes] = []
    at = 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(data[at:line_end].split(b";", 1)[0], 16)
        at = line_end + 2
        if size == 0:
            return b"".join(out) if data.find(b"\r\n", at) >= 0 else None
        if len(data) < at + size + 2:
            return None
        out.append(data[at:at + size])
        at += size + 2


class _RawClient(asyncio.Protocol):
    """One keep-alive connection running quote → transact → poll cycles back to back."""

    def __init__(self, gen: _RawLoad) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.step = 0  # 0 quote, 1 transact, 2 poll
        self.began = 0.0
        self.quote_id = b""
        self.trade_id: bytes | None = None
        self.lost = gen.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.start_cycle()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if not self.gen.done:
            self.gen.level.failures.append(f"connection lost: {exc}")

    def start_cycle(self) -> None:
        gen = self.gen
        self.began = now = gen.loop.time()
        assert self.transport is not None
        if now >= gen.end:
            gen.done = True
            self.transport.close()
            return
        self.step = 0
        self.transport.write(gen.quote_request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        while True:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = buffer[:head_end].lower()
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                line_end = head.find(b"\r\n", at + 2)
                length = int(head[at + 17:line_end if line_end >= 0 else len(head)])
                if len(buffer) < head_end + 4 + length:
                    break
                body = buffer[head_end + 4:head_end + 4 + length]
                buffer = buffer[head_end + 4 + length:]
            elif b"\r\ntransfer-encoding: chunked" in head:
                rest = buffer[head_end + 4:]
                decoded = _dechunk(rest)
                if decoded is None:
                    break
                body, buffer = decoded, b""
            else:
                self.gen.level.failures.append(f"answer without framing: {head[:200]!r}")
                buffer = b""
                assert self.transport is not None
                self.transport.close()
                break
            self.answer(int(head[9:12]), body)
        self.buffer = buffer

    def answer(self, status: int, body: bytes) -> None:
        gen = self.gen
        level = gen.level
        transport = self.transport
        assert transport is not None
        step = self.step
        level.statuses[f"{_STEPS[step]} {status}"] += 1
        if step == 0:
            quote_id = _field(body, _QUOTE_ID)
            if not quote_id:
                level.failures.append(f"quote without quoteId: {body[:200]!r}")
                self.start_cycle()
                return
            self.quote_id = quote_id
            self.step = 1
            key = b"%s%d" % (gen.key_prefix, next(gen.keys))
            payload = b'{"quoteId":"%s"}' % quote_id
            transport.write(gen.transact_head % (key, len(payload)) + payload)
        elif step == 1:
            self.trade_id = _field(body, _TRANSACT_ID)
            if gen.stateful and (_field(body, _QUOTE_ID) != self.quote_id
                                 or not (self.trade_id or b"").startswith(b"txn_")):
                level.failures.append(f"transact answer does not name the quote: {body[:300]!r}")
            self.step = 2
            transport.write(gen.poll_request % self.quote_id)
        else:
            if gen.stateful and (b'"status":"settled"' not in body
                                 or _field(body, _TRANSACT_ID) != self.trade_id):
                level.failures.append(f"poll did not settle the trade: {body[:300]!r}")
            done = gen.loop.time()
            if self.began >= gen.measure_from and done <= gen.end:
                level.latencies.append(done - self.began)
            self.start_cycle()


_STEPS = ("quote", "transact", "poll")


class _RawLoad:
    """What every raw client of one level shares: the target, the clock marks, the requests."""

    def __init__(self, base: str, secret: str, level: Level, stateful: bool,
                 loop: asyncio.AbstractEventLoop, measure_from: float, end: float) -> None:
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        prefix = url.path.rstrip("/").encode()
        # the headers aiohttp's session sends, so both generators cost the server the same
        common = (b"Host: %s:%d\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
                  b"User-Agent: Python/3.11 aiohttp/%s\r\nAuthorization: Bearer %s\r\n"
                  b"Content-Type: application/json\r\n"
                  % (self.host.encode(), self.port, aiohttp.__version__.encode(),
                     secret.encode()))
        self.quote_request = (
            b"POST %s/pools/EUR-USDT/quote HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
            % (prefix, common, len(QUOTE_BODY), QUOTE_BODY))
        self.transact_head = (
            b"POST " + prefix + b"/pools/EUR-USDT/transact HTTP/1.1\r\n" + common.replace(
                b"%", b"%%") + b"Idempotency-Key: %s\r\nContent-Length: %d\r\n\r\n")
        self.poll_request = (b"GET " + prefix.replace(b"%", b"%%")
                             + b"/pools/transactions/%s HTTP/1.1\r\n"
                             + common.replace(b"%", b"%%") + b"\r\n")
        self.key_prefix = f"bench-{uuid.uuid4().hex[:12]}-".encode()
        self.keys = itertools.count()
        self.level = level
        self.stateful = stateful
        self.loop = loop
        self.measure_from = measure_from
        self.end = end
        self.done = False


async def run_level_raw(base: str, secret: str, target: str, clients: int, seconds: float,
                        warmup: float, stateful: bool, pgid: int) -> Level:
    """The same closed loop as run_level, on raw connections (see _RawClient)."""
    level = Level(target=target, clients=clients, seconds=seconds)
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    end = measure_from + seconds
    gen = _RawLoad(base, secret, level, stateful, loop, measure_from, end)
    cpu_marks: list[float] = []

    async def client() -> None:
        _, protocol = await loop.create_connection(lambda: _RawClient(gen), gen.host, gen.port)
        try:
            await asyncio.wait_for(protocol.lost, timeout=end - loop.time() + 30)
        except TimeoutError:
            level.failures.append("TimeoutError: no answer within 30 s")
            if protocol.transport is not None:
                protocol.transport.abort()

    await asyncio.gather(mark_cpu(loop, pgid, measure_from, end, cpu_marks),
                         *(client() for _ in range(clients)))
    level.cpu_seconds = cpu_marks[2] - cpu_marks[0]
    level.client_cpu_seconds = cpu_marks[3] - cpu_marks[1]
    return level


SIM_TARGETS = {  # name → _simserver.py arguments
    "sim-before": ("--http-parser", "h11", "--event-loop", "asyncio"),
    "sim-after": ("--http-parser", "httptools", "--event-loop", "uvloop"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: smoke run")
    parser.add_argument("--clients", default="1,16,64", help="concurrency levels")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured time per level")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured time per level")
    parser.add_argument("--runs", type=int, default=3, help="runs (median reported)")
    parser.add_argument("--no-prism", action="store_true", help="simulators only")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin: servers and load generator float over all cores")
    parser.add_argument("--load", choices=("raw", "aiohttp"), default="raw",
                        help="load generator: raw (pre-built requests on uvloop sockets, cheap"
                        " enough to saturate a one-core server) or aiohttp (the original)")
    parser.add_argument("--targets", default="sim-before,sim-after",
                        help="simulator configurations to measure (sim-before, sim-after)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.warmup, args.runs = "1,4", 0.6, 0.2, 1
    levels = [int(c) for c in args.clients.split(",")]
    pinned = not args.no_pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    server_cpu, client_cpu = ("0", 1) if pinned else (None, None)
    if client_cpu is not None:  # one core for the servers, the other for the load
        os.sched_setaffinity(0, {client_cpu})

    sim_names = [name for name in args.targets.split(",") if name]
    servers: dict[str, Any] = {name: SimProcess(*SIM_TARGETS[name], cpus=server_cpu)
                               for name in sim_names}
    if not args.no_prism:
        servers["prism"] = PrismProcess(cpus=server_cpu)
    names = list(servers)
    results: list[Level] = []
    states: dict[str, dict[str, Any]] = {}
    started: list[Any] = []
    try:
        for server in servers.values():
            server.__enter__()
            started.append(server)
        for run in range(args.runs):
            order = names if run % 2 == 0 else list(reversed(names))
            for clients in levels:
                for name in order:
                    server = servers[name]
                    if name == "prism":
                        base, secret, stateful = server.base_url, "sk_test_prism", False
                    else:
                        base, secret, stateful = (server.api_url, server.info["secret_key"],
                                                  True)
                    runner = run_level_raw if args.load == "raw" else run_level
                    work = runner(base, secret, name, clients, args.seconds, args.warmup,
                                  stateful, server.pid)
                    level = uvloop.run(work) if args.load == "raw" else asyncio.run(work)
                    results.append(level)
                    print(f"run {run + 1} {name:10} {clients:3} clients: "
                          f"{level.cycles / level.seconds:8.1f} cycles/s, "
                          f"{level.cpu_seconds / max(level.cycles, 1) * 1000:.2f} ms CPU/cycle",
                          file=sys.stderr)
        for name in sim_names:
            states[name] = servers[name].command("state",
                                                 partner_id=servers[name].info["partner_id"])
    finally:
        for server in reversed(started):
            server.__exit__(None, None, None)

    rows, summary = [], []
    for clients in levels:
        per: dict[str, list[Level]] = {name: [lv for lv in results
                                              if lv.target == name and lv.clients == clients]
                                       for name in names}
        entry: dict[str, Any] = {"clients": clients}
        for name, runs in per.items():
            entry[name] = {
                "cycles_per_s_median": median([lv.cycles / lv.seconds for lv in runs]),
                "p50_ms_median": median([percentile(lv.latencies, 50) * 1000 for lv in runs]),
                "p99_ms_median": median([percentile(lv.latencies, 99) * 1000 for lv in runs]),
                "server_cpu_ms_per_cycle_median": median(
                    [lv.cpu_seconds / lv.cycles * 1000 for lv in runs if lv.cycles]),
                "server_cpu_cores_median": median([lv.cpu_seconds / lv.seconds for lv in runs]),
                "client_cpu_cores_median": median(
                    [lv.client_cpu_seconds / lv.seconds for lv in runs]),
            }
        for name in sim_names:
            for other in names:
                if other == name or (other != "prism" and name != "sim-after"):
                    continue
                ratios = [a.cycles / b.cycles if b.cycles else float("nan")
                          for a, b in zip(per[name], per[other], strict=True)]
                entry[f"{name}/{other}"] = median(ratios)
        summary.append(entry)
        for name in per:
            ratios = ", ".join(f"{k.split('/')[1]} {v:.2f}x" for k, v in entry.items()
                               if k.startswith(f"{name}/"))
            rows.append([clients, name, entry[name]["cycles_per_s_median"],
                         entry[name]["p50_ms_median"], entry[name]["p99_ms_median"],
                         entry[name]["server_cpu_ms_per_cycle_median"],
                         entry[name]["server_cpu_cores_median"],
                         entry[name]["client_cpu_cores_median"], ratios])

    sims = [lv for lv in results if lv.target != "prism"]
    failures = [f for lv in results for f in lv.failures]
    non_200 = {f"{lv.target} {k}": v for lv in results for k, v in lv.statuses.items()
               if not k.endswith(" 200")}
    sim_cycles = sum(lv.cycles for lv in sims)
    checks = {
        "simulator_failures": [f for lv in sims for f in lv.failures][:10],
        "non_200_statuses": non_200,
        "simulator_bugs": [b for state in states.values() for b in state["bugs"]],
        "trades_created": {name: len(state["trades"]) for name, state in states.items()},
        "one_trade_per_quote": all(len(state["trades"]) == state["quotes_with_trade"]
                                   for state in states.values()),
        "cycles_measured_simulator": sim_cycles,
    }
    ok = (not checks["simulator_failures"] and not checks["simulator_bugs"]
          and checks["one_trade_per_quote"] and sim_cycles > 0
          and not any(k.split(" ", 1)[1].startswith(("quote 5", "transact 5", "poll 5"))
                      for k in non_200 if not k.startswith("prism")))
    targets_met: dict[str, bool] = {}
    for e in summary:
        if "sim-after/prism" in e:
            targets_met[f"{e['clients']}_clients_vs_prism>={TARGET_RATIO}"] = (
                e["sim-after/prism"] >= TARGET_RATIO)
        if "sim-after" in e:
            targets_met[f"{e['clients']}_clients_cycles/s>={TARGET_CYCLES}"] = (
                e["sim-after"]["cycles_per_s_median"] >= TARGET_CYCLES)
    path = write_result("sim_throughput", {
        "settings": {"clients": levels, "seconds": args.seconds, "warmup": args.warmup,
                     "runs": args.runs, "quick": args.quick, "load_generator": (
                         f"raw sockets on uvloop {version('uvloop')}" if args.load == "raw"
                         else f"aiohttp {aiohttp.__version__}"),
                     "prism": None if args.no_prism else "5.14.2",
                     "pinned": {"servers_cpu": server_cpu, "load_cpu": client_cpu},
                     "targets": {name: list(SIM_TARGETS[name]) for name in sim_names}},
        "summary": summary, "levels": [lv.summary() for lv in results],
        "checks": checks, "ok": ok, "targets_met": targets_met,
        "failures_sample": failures[:10],
    })
    print(table(["clients", "server", "cycles/s", "p50 ms", "p99 ms", "server CPU ms/cycle",
                 "server cores", "client cores", "ratios"], rows))
    return finish(path, ok, checks=json.dumps(checks), targets=targets_met)


if __name__ == "__main__":
    run_main(main)
