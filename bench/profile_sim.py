"""Profile the simulator under the cycle load, and show how its cost per cycle grows with state.

Runs batches of quote → transact → poll cycles (16 clients) against the simulator in its own
process and measures the server's CPU time per cycle for each batch, so a cost that grows
with the number of trades or journal entries shows as a rising column. The last batch runs
under pyinstrument (sampling the simulator's event-loop thread); the text profile is written
to bench/results/profile_sim.txt.

    python bench/profile_sim.py [--quick] [--batches 5] [--cycles 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid

import aiohttp
from _common import RESULTS, SimProcess, group_cpu_seconds, table, write_result
from sim_throughput import Level, cycle

CLIENTS = 16


async def batch(sim: SimProcess, cycles: int) -> Level:
    level = Level(target="simulator", clients=CLIENTS, seconds=0.0)
    todo = iter(range(cycles))
    prefix = uuid.uuid4().hex[:12]
    headers = {"Authorization": f"Bearer {sim.info['secret_key']}",
               "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS),
                                     headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def client() -> None:
            for n in todo:
                await cycle(session, sim.api_url, f"prof-{prefix}-{n}", level, True)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        level.seconds = time.perf_counter() - began
    return level


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two tiny batches")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=4000, help="cycles per batch")
    parser.add_argument("--http-parser", default="httptools", choices=("httptools", "h11"))
    parser.add_argument("--event-loop", default="uvloop", choices=("uvloop", "asyncio"))
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.cycles = 2, 100
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "profile_sim.txt"
    rows, batches, failures = [], [], []
    with SimProcess("--http-parser", args.http_parser, "--event-loop", args.event_loop) as sim:
        for n in range(args.batches):
            last = n == args.batches - 1
            if last:
                sim.command("profile_start")
            cpu0 = group_cpu_seconds(sim.pid)
            level = asyncio.run(batch(sim, args.cycles))
            cpu = group_cpu_seconds(sim.pid) - cpu0
            if last:
                sim.command("profile_stop", out=str(out))
            journal = sim.command("journal")["entries"]
            failures.extend(level.failures)
            entry = {"batch": n + 1, "trades_before": n * args.cycles,
                     "journal_after": journal, "cycles_per_s": args.cycles / level.seconds,
                     "server_cpu_ms_per_cycle": cpu / args.cycles * 1000, "profiled": last}
            batches.append(entry)
            rows.append([entry["batch"], entry["trades_before"], journal,
                         entry["cycles_per_s"], entry["server_cpu_ms_per_cycle"],
                         "yes" if last else ""])
            print(f"batch {n + 1}: {entry['server_cpu_ms_per_cycle']:.2f} ms CPU/cycle",
                  file=sys.stderr)
    first, final = batches[0], batches[-2] if len(batches) > 2 else batches[-1]
    growth = final["server_cpu_ms_per_cycle"] / first["server_cpu_ms_per_cycle"]
    ok = not failures and out.exists()
    path = write_result("profile_sim", {
        "settings": {"batches": args.batches, "cycles": args.cycles, "clients": CLIENTS,
                     "quick": args.quick, "http_parser": args.http_parser,
                     "event_loop": args.event_loop},
        "batches": batches, "cpu_per_cycle_growth_unprofiled": growth,
        "profile": str(out), "failures": failures[:10], "ok": ok,
    })
    print(table(["batch", "trades before", "journal after", "cycles/s",
                 "server CPU ms/cycle", "profiled"], rows))
    print(f"server CPU per cycle, last unprofiled batch / first: {growth:.2f}x")
    print(f"profile: {out}")
    print(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
