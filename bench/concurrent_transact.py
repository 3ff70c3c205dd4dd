"""Correctness under load: N concurrent transacts of one quote, one key or N keys.

For each size and key mode a fresh partner gets one firm quote; N connections are opened
first (a concurrent warm-up GET on each), then all N send ``POST /transact`` for that quote
at once. The run passes when the simulator holds exactly one trade, the balance was debited
once, no answer is a 5xx, and every 200 names that one trade. Latency is per request.

    python bench/concurrent_transact.py [--quick] [--sizes 200,1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from decimal import Decimal
from typing import Any

import aiohttp
from _common import SimProcess, finish, median, percentile, run_main, table, write_result

DEST = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
AMOUNT = "100.00"


async def one_case(sim: SimProcess, size: int, mode: str) -> dict[str, Any]:
    creds = sim.command("provision", name=f"load-{mode}-{size}")
    headers = {"Authorization": f"Bearer {creds['secret_key']}",
               "Content-Type": "application/json"}
    base = sim.api_url
    connector = aiohttp.TCPConnector(limit=size)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, headers=headers,
                                     timeout=timeout) as session:
        async with session.post(f"{base}/pools/EUR-USDT/quote", data=json.dumps(
                {"side": "on_ramp", "amount": AMOUNT, "destAddress": DEST})) as response:
            quote = await response.json()
            assert response.status == 200, quote
        quote_id = quote["quoteId"]

        # Open `size` keep-alive connections first (each warm-up GET holds its connection
        # until all have answered), so the transacts start together.
        hold = asyncio.Event()
        answered = 0

        async def warm() -> None:
            nonlocal answered
            async with session.get(f"{base}/pools") as response:
                answered += 1
                if answered == size:
                    hold.set()
                await hold.wait()
                await response.read()

        await asyncio.wait_for(asyncio.gather(*(warm() for _ in range(size))), 60)

        go = asyncio.Event()
        loop = asyncio.get_running_loop()

        async def transact(i: int) -> tuple[int, dict[str, Any] | None, float, str]:
            key = "same-key" if mode == "same_key" else f"key-{i}"
            await go.wait()
            began = loop.time()
            try:
                async with session.post(f"{base}/pools/EUR-USDT/transact",
                                        data=json.dumps({"quoteId": quote_id}),
                                        headers={"Idempotency-Key": key}) as response:
                    body = await response.json(content_type=None)
                    return response.status, body, loop.time() - began, ""
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                return 0, None, loop.time() - began, f"{type(exc).__name__}: {exc}"

        tasks = [asyncio.create_task(transact(i)) for i in range(size)]
        await asyncio.sleep(0)
        started = loop.time()
        go.set()
        answers = await asyncio.gather(*tasks)
        wall = loop.time() - started

    state = sim.command("state", partner_id=creds["partner_id"])
    statuses = Counter(f"{status} {body.get('code', 'ok') if body else 'no-answer'}"
                       for status, body, _, _ in answers)
    named = {body.get("transactId") for status, body, _, _ in answers
             if status == 200 and body}
    debited = Decimal(state["initial_balance"]) - Decimal(state["balance"])
    latencies = [lat for _, _, lat, _ in answers]
    checks = {
        "exactly_one_trade": len(state["trades"]) == 1,
        "no_5xx": not any(status >= 500 for status, _, _, _ in answers),
        "no_transport_errors": not any(err for *_, err in answers),
        "all_200s_name_the_trade": named == set(state["trades"]),
        "debited_once": debited == Decimal(AMOUNT),
        "no_simulator_bugs": not state["bugs"],
    }
    return {
        "size": size, "mode": mode, "statuses": dict(statuses), "checks": checks,
        "ok": all(checks.values()), "trades": len(state["trades"]), "debited": str(debited),
        "wall_s": wall, "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000, "max_ms": max(latencies) * 1000,
        "errors_sample": [err for *_, err in answers if err][:5],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run")
    parser.add_argument("--sizes", default="200,1000", help="concurrent transacts per quote")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median reported)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = "20,50", 1
    sizes = [int(s) for s in args.sizes.split(",")]
    cases: list[dict[str, Any]] = []
    with SimProcess() as sim:
        for _ in range(args.runs):
            for size in sizes:
                for mode in ("same_key", "different_keys"):
                    case = asyncio.run(one_case(sim, size, mode))
                    cases.append(case)
                    print(f"{size:5} {mode:15} ok={case['ok']} {case['statuses']}",
                          file=sys.stderr)
    rows, summary = [], []
    for size in sizes:
        for mode in ("same_key", "different_keys"):
            runs = [c for c in cases if c["size"] == size and c["mode"] == mode]
            statuses: Counter[str] = Counter()
            for c in runs:
                statuses.update(c["statuses"])
            entry = {
                "size": size, "mode": mode, "runs": len(runs),
                "all_ok": all(c["ok"] for c in runs),
                "trades_per_run": [c["trades"] for c in runs],
                "statuses_total": dict(statuses),
                "p50_ms_median": median([c["p50_ms"] for c in runs]),
                "p99_ms_median": median([c["p99_ms"] for c in runs]),
                "max_ms_median": median([c["max_ms"] for c in runs]),
                "wall_s_median": median([c["wall_s"] for c in runs]),
            }
            summary.append(entry)
            c_trades = [c["trades"] for c in runs]
            rows.append([size, mode, entry["all_ok"], ",".join(str(n) for n in c_trades),
                         " ".join(f"{k}×{v}" for k, v in sorted(statuses.items())),
                         entry["p50_ms_median"], entry["p99_ms_median"],
                         entry["wall_s_median"]])
    ok = all(c["ok"] for c in cases)
    path = write_result("concurrent_transact", {
        "settings": {"sizes": sizes, "runs": args.runs, "quick": args.quick},
        "summary": summary, "cases": cases, "ok": ok,
    })
    print(table(["concurrent", "key", "correct", "trades", "answers (all runs)", "p50 ms",
                 "p99 ms", "wall s"], rows))
    return finish(path, ok)


if __name__ == "__main__":
    run_main(main)
