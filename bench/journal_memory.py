"""Memory: the simulator's request journal at 100k requests.

Drives quote → transact → poll cycles (32 clients, aiohttp) against the simulator in its own
process until the journal holds N entries, and at checkpoints reads the journal's own size
(a deep walk of the entries, each object counted once) and the process's RSS. Growth per
entry between checkpoints shows whether memory is linear in the number of requests.

    python bench/journal_memory.py [--quick] [--requests 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = 600
    marks = sorted({args.requests // 10, args.requests // 2, args.requests})
    points: list[dict[str, Any]] = []
    failures: list[str] = []
    with SimProcess() as sim:
        base = sim.command("journal", size=True)
        points.append({"requests": base["entries"], "journal_bytes": base["deep_bytes"],
                       "rss": base["rss"], "seconds": 0.0})
        started = time.monotonic()
        for mark in marks:
            have = sim.command("journal")["entries"]
            cycles = max(0, -(-(mark - have) // 3))
            level = asyncio.run(drive(sim, cycles))
            failures.extend(level.failures)
            now = sim.command("journal", size=True, timeout=300)
            points.append({"requests": now["entries"], "journal_bytes": now["deep_bytes"],
                           "rss": now["rss"], "seconds": time.monotonic() - started})
            print(f"{now['entries']:7} entries: journal {now['deep_bytes'] / 2**20:7.1f} MiB, "
                  f"rss {now['rss'] / 2**20:7.1f} MiB", file=sys.stderr)
        state = sim.command("state", partner_id=sim.info["partner_id"])
    first, last = points[0], points[-1]
    added = last["requests"] - first["requests"]
    per_entry = (last["journal_bytes"] - first["journal_bytes"]) / added if added else 0.0
    rss_per_entry = (last["rss"] - first["rss"]) / added if added else 0.0
    growth = []
    for a, b in itertools.pairwise(points[1:]):
        growth.append((b["journal_bytes"] - a["journal_bytes"]) / (b["requests"] - a["requests"]))
    ok = (not failures and not state["bugs"] and last["requests"] >= args.requests)
    rows = [[p["requests"], p["journal_bytes"] / 2**20, p["rss"] / 2**20,
             (p["journal_bytes"] - first["journal_bytes"]) / max(1, p["requests"]
                                                                  - first["requests"]),
             p["seconds"]] for p in points]
    path = write_result("journal_memory", {
        "settings": {"requests": args.requests, "clients": CLIENTS, "quick": args.quick,
                     "workload": "quote+transact+poll cycles"},
        "points": points, "journal_bytes_per_entry": per_entry,
        "rss_bytes_per_request": rss_per_entry,
        "journal_bytes_per_entry_between_checkpoints": growth,
        "checks": {"failures": failures[:10], "simulator_bugs": state["bugs"],
                   "trades": len(state["trades"])},
        "ok": ok,
    })
    print(table(["journal entries", "journal MiB", "process RSS MiB", "journal B/entry",
                 "elapsed s"], rows))
    print(f"journal bytes per entry {per_entry:.0f}; RSS growth per request (journal + store) "
          f"{rss_per_entry:.0f} B")
    return finish(path, ok)


if __name__ == "__main__":
    run_main(main)
