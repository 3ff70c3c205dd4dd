"""The simulator in a child process for the benchmarks: JSON commands on stdin, answers on stdout.

Started by ``_common.SimProcess``; it ends when its stdin closes.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import sys
from decimal import Decimal
from typing import Any

from conformance.simulator import PartnerSpec, Simulator, SimulatorSettings
from conformance.simulator.settings import EVENT_LOOPS, HTTP_PARSERS

BALANCE = Decimal("1000000000000")


def deep_size(root: Any) -> int:
    """Bytes held by an object graph (each object counted once), like pympler's asizeof."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (bool, type)):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, name) for name in obj.__slots__ if hasattr(obj, name))
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
    return total


def rss() -> int:
    with open(f"/proc/{os.getpid()}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


PROFILER: list[Any] = []


def on_loop(sim: Simulator, func: Any) -> dict[str, Any]:
    """Run ``func`` on the simulator's event-loop thread (pyinstrument profiles one thread)."""
    import concurrent.futures

    assert sim.core.loop is not None
    done: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()

    def call() -> None:
        try:
            done.set_result(func())
        except Exception as exc:
            done.set_exception(exc)

    sim.core.loop.call_soon_threadsafe(call)
    return done.result(60)


def profile_start() -> dict[str, Any]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    PROFILER.append(profiler)
    return {"profiling": True}


def profile_stop(out: str) -> dict[str, Any]:
    profiler = PROFILER.pop()
    profiler.stop()
    with open(out, "w") as handle:
        handle.write(profiler.output_text(unicode=False, color=False, show_all=False))
    return {"profile": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the simulator for the benchmarks")
    parser.add_argument("--http-parser", default=HTTP_PARSERS[0],
                        choices=HTTP_PARSERS)
    parser.add_argument("--event-loop", default=EVENT_LOOPS[0],
                        choices=EVENT_LOOPS)
    parser.add_argument("--journal-memory", type=int,
                        default=SimulatorSettings().journal_memory_entries,
                        help="journal entries kept in memory (older ones spill to SQLite)")
    args = parser.parse_args(argv)
    sim = Simulator(SimulatorSettings(http_parser=args.http_parser, event_loop=args.event_loop,
                                      journal_memory_entries=args.journal_memory)).start()
    partners: dict[str, Any] = {}

    def provision(name: str) -> dict[str, str]:
        creds = sim.control.provision_partner(PartnerSpec(
            name=name, initial_balance=BALANCE, max_order_usdt=None))
        partners[creds.partner_id] = creds
        return {"partner_id": creds.partner_id, "secret_key": creds.secret_key}

    def say(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        sys.stdout.flush()

    say({"api_url": sim.api_url, "pid": os.getpid(), **provision("bench")})
    try:
        for line in sys.stdin:
            request = json.loads(line)
            cmd = request["cmd"]
            try:
                if cmd == "provision":
                    say(provision(request.get("name", "bench")))
                elif cmd == "profile_start":
                    say(on_loop(sim, profile_start))
                elif cmd == "profile_stop":
                    say(on_loop(sim, functools.partial(profile_stop, request["out"])))
                elif cmd == "rss":
                    gc.collect()
                    say({"rss": rss()})
                elif cmd == "journal":
                    journal = sim.core.journal
                    size = None
                    if request.get("size"):  # what the journal holds in memory
                        gc.collect()
                        size = deep_size(list(journal.entries(
                            since_seq=len(journal) - journal.in_memory())))
                    say({"entries": len(journal), "in_memory": journal.in_memory(),
                         "deep_bytes": size, "rss": rss()})
                elif cmd == "journal_check":  # every entry readable, in order, from seq 1
                    seqs = [e.seq for e in sim.core.journal.entries()]
                    say({"entries": len(seqs), "in_order": seqs == list(range(1, len(seqs) + 1))})
                elif cmd == "state":
                    pid = request["partner_id"]
                    trades = sim.control.trades(pid)
                    say({"trades": [t.id for t in trades],
                         "quotes_with_trade": len({t.quote_id for t in trades}),
                         "balance": str(sim.control.balance(pid)),
                         "initial_balance": str(BALANCE),
                         "bugs": list(sim.bugs)})
                else:
                    say({"error": f"unknown command {cmd!r}"})
            except Exception as exc:  # answered, so the parent never hangs
                say({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
