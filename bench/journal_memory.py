"""Memory: the simulator's request journal at 100k requests, all in memory or bounded.

Drives quote → transact → poll cycles (32 clients, aiohttp) against the simulator in its own
process until the journal holds N entries, and at checkpoints reads the size of the journal
entries held in memory (a deep walk, each object counted once) and the process's RSS. Two
modes, one after the other: ``before`` keeps every entry in memory (as the journal used to),
``after`` keeps the newest 10,000 and spills older ones to SQLite. At the end every entry
must still be readable, in order, from seq 1.

    python bench/journal_memory.py [--quick] [--requests 100000] [--modes before,after]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from typing import Any

import aiohttp
from _common import SimProcess, finish, run_main, table, write_result
from sim_throughput import Level, cycle

CLIENTS = 32


async def drive(sim: SimProcess, cycles: int) -> Level:
    level = Level(target="simulator", clients=CLIENTS, seconds=0.0)
    headers = {"Authorization": f"Bearer {sim.info['secret_key']}",
               "Content-Type": "application/json"}
    todo = iter(range(cycles))
    prefix = uuid.uuid4().hex[:12]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS),
                                     headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def client() -> None:
            for n in todo:
                await cycle(session, sim.api_url, f"mem-{prefix}-{n}", level, True)

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return level


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred requests")
    parser.add_argument("--requests", type=int, default=100_000, help="journal entries to reach")
    parser.add_argument("--modes", default="before,after", help="before (all in memory), after")
    args = parser.parse_args(argv)
    memory = {"before": 10**9, "after": 10_000}
    if args.quick:
        args.requests = 600
        memory["after"] = 100  # so the quick run spills too
    results = {mode: measure(args.requests, memory[mode]) for mode in args.modes.split(",")}
    ok = all(r["ok"] for r in results.values())
    path = write_result("journal_memory", {
        "settings": {"requests": args.requests, "clients": CLIENTS, "quick": args.quick,
                     "workload": "quote+transact+poll cycles",
                     "journal_memory_entries": {m: memory[m] for m in results}},
        "modes": results, "ok": ok,
    })
    for mode, result in results.items():
        print(f"\n{mode} (journal_memory_entries={memory[mode]}):")
        print(table(["journal entries", "in memory", "journal MiB in memory",
                     "process RSS MiB", "elapsed s"], result["rows"]))
        print(f"RSS growth per request (journal + store) {result['rss_bytes_per_request']:.0f} B;"
              f" every entry readable in order: {result['checks']['all_entries_readable']}")
    return finish(path, ok)


def measure(requests: int, memory_entries: int) -> dict[str, Any]:
    """One simulator process driven to ``requests`` journal entries."""
    marks = sorted({requests // 10, requests // 2, requests})
    points: list[dict[str, Any]] = []
    failures: list[str] = []
    with SimProcess("--journal-memory", str(memory_entries)) as sim:
        base = sim.command("journal", size=True)
        points.append({"requests": base["entries"], "in_memory": base["in_memory"],
                       "journal_bytes": base["deep_bytes"], "rss": base["rss"],
                       "seconds": 0.0})
        started = time.monotonic()
        for mark in marks:
            have = sim.command("journal")["entries"]
            cycles = max(0, -(-(mark - have) // 3))
            level = asyncio.run(drive(sim, cycles))
            failures.extend(level.failures)
            now = sim.command("journal", size=True, timeout=300)
            points.append({"requests": now["entries"], "in_memory": now["in_memory"],
                           "journal_bytes": now["deep_bytes"], "rss": now["rss"],
                           "seconds": time.monotonic() - started})
            print(f"{now['entries']:7} entries: journal {now['deep_bytes'] / 2**20:7.1f} MiB, "
                  f"rss {now['rss'] / 2**20:7.1f} MiB", file=sys.stderr)
        state = sim.command("state", partner_id=sim.info["partner_id"])
        check = sim.command("journal_check", timeout=300)
    first, last = points[0], points[-1]
    added = last["requests"] - first["requests"]
    rss_per_entry = (last["rss"] - first["rss"]) / added if added else 0.0
    readable = check["in_order"] and check["entries"] == last["requests"]
    ok = (not failures and not state["bugs"] and last["requests"] >= requests and readable)
    rows = [[p["requests"], p["in_memory"], p["journal_bytes"] / 2**20, p["rss"] / 2**20,
             p["seconds"]] for p in points]
    return {"points": points, "rss_bytes_per_request": rss_per_entry, "rows": rows,
            "checks": {"failures": failures[:10], "simulator_bugs": state["bugs"],
                       "trades": len(state["trades"]), "all_entries_readable": readable},
            "ok": ok}


if __name__ == "__main__":
    run_main(main)
