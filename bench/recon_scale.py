"""Reconciliation scale: recon.daily_close's matcher on days of 1k, 10k and 100k trades.

Calls ``conformance.checks.recon.reconcile`` — the function the recon.daily_close scenario
decides with — on a synthetic day: real simulator ``Trade`` records (70% settled, 10% each
released, failed, returned; amounts such as 10.20, 16.40, 19.99 that expose binary-float
drift) and the partner's ``Posting`` records, matched by trade id, quote id or order ref in
turn. One trade in a hundred carries a planted mistake (a duplicate credit, a missing
credit, a float-drifted amount, a credit on a released trade, a missing reversal), and the
run checks that exactly those come back as drift rows. Time is the median of ``--runs`` runs;
memory is tracemalloc's peak during one further run (traced separately: tracing slows it).

    python bench/recon_scale.py [--quick] [--sizes 1000,10000,100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from _common import ROOT, finish, median, table, write_result

sys.path.insert(0, str(ROOT))

from conformance.checks.recon import reconcile  # noqa: E402
from conformance.driver.postings import Posting  # noqa: E402
from conformance.simulator.models import Trade  # noqa: E402

AMOUNTS = [Decimal(a) for a in ("10.20", "16.40", "19.99", "0.10", "33.33", "125.05", "7.77")]
STATUSES = ["settled"] * 7 + ["released", "failed", "returned"]


# Where in each hundred trades a mistake is planted (the status at i % 10 fits the mistake).
PLANT_AT = {0: "duplicate", 11: "missing", 22: "float_drift", 37: "credit_on_released",
            49: "reversal_missing"}


def day(size: int) -> tuple[list[Trade], list[Posting], dict[str, str], dict[str, str],
                            Counter[str]]:
    """A day of ``size`` trades, the partner's postings, order refs, events, planted drift."""
    now = datetime(2026, 5, 25, 12, 0, tzinfo=UTC)
    trades: list[Trade] = []
    postings: list[Posting] = []
    refs: dict[str, str] = {}
    events: dict[str, str] = {}
    planted: Counter[str] = Counter()
    for i in range(size):
        status = STATUSES[i % len(STATUSES)]
        amount = AMOUNTS[i % len(AMOUNTS)]
        quote_id, transact_id, order_ref = f"pq_test_{i:08d}", f"txn_test_{i:08d}", f"ord-{i}"
        trades.append(Trade(
            id=transact_id, seq=i + 1, partner_id="ptn_bench", quote_id=quote_id,
            pool_id="EUR-USDT", side="on_ramp", status=status, fiat_currency="EUR",
            crypto_currency="USDT", fiat_amount=amount,
            crypto_amount=(amount * Decimal("1.0823")).quantize(Decimal("0.000001")),
            rate=Decimal("1.0823"), crypto_network="tron", dest_address="T" * 34,
            idempotency_key=f"key-{i}", created_at=now, updated_at=now))
        refs[quote_id] = order_ref
        events[transact_id] = f"{i:064x}"
        # Match keys in turn: trade id, quote id only, order ref only.
        keys = [dict(transact_id=transact_id, quote_id=None, order_ref=None),
                dict(transact_id=None, quote_id=quote_id, order_ref=None),
                dict(transact_id=None, quote_id=None, order_ref=order_ref)][i % 3]

        def post(value: Decimal, reversal: bool = False, keys: dict[str, Any] = keys,
                 event: str = events[transact_id]) -> None:
            postings.append(Posting(amount=value, reversal=reversal,
                                    kind="reversal" if reversal else "credit",
                                    event_id=event, **keys))

        mistake = PLANT_AT.get(i % 100)
        if status == "settled":
            if mistake == "missing":
                planted["missing"] += 1
                continue
            if mistake == "float_drift":
                planted["amount_mismatch"] += 1
                post(Decimal(float(amount) * 3) / 3)  # binary float: 10.199999999999999289…
                continue
            post(amount)
            if mistake == "duplicate":
                planted["duplicate"] += 1
                post(amount)
        elif status == "returned":
            post(amount)
            if mistake == "reversal_missing":
                planted["reversal_missing"] += 1
            else:
                post(amount, reversal=True)
        elif mistake == "credit_on_released" and status == "released":
            planted["extra"] += 1
            post(amount)
    return trades, postings, refs, events, planted


def one(size: int, data: Any) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds of this process (steadier on a shared machine), result."""
    trades, postings, refs, events, _ = data
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    result = reconcile(trades, postings, amount_field="fiatAmount", order_refs=refs,
                       events=events)
    return time.perf_counter() - started, time.process_time() - cpu, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small days, one run")
    parser.add_argument("--sizes", default="1000,10000,100000", help="trades per day")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per size (median)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = "100,1000", 1
    sizes = [int(s) for s in args.sizes.split(",")]
    points: list[dict[str, Any]] = []
    ok = True
    for size in sizes:
        data = day(size)
        trades, postings, _, _, planted = data
        times, cpu_times, result = [], [], None
        for _ in range(args.runs):
            seconds, cpu, result = one(size, data)
            times.append(seconds)
            cpu_times.append(cpu)
        gc.collect()
        tracemalloc.start()
        one(size, data)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result is not None
        found = Counter(d.problem for d in result.drift)
        correct = found == planted and (len(planted) == 5 or size < 100)
        ok = ok and correct
        points.append({"trades": size, "postings": len(postings), "seconds": times,
                       "seconds_median": median(times), "cpu_seconds": cpu_times,
                       "cpu_seconds_median": median(cpu_times), "peak_bytes": peak,
                       "planted": dict(planted), "reported": dict(found),
                       "drift_matches_planted": correct,
                       "expected_total": str(result.expected_total),
                       "posted_total": str(result.posted_total)})
        print(f"{size:7} trades: {median(times):.3f} s ({median(cpu_times):.3f} s CPU), "
              f"peak {peak / 2**20:.1f} MiB, drift correct={correct}", file=sys.stderr)
    rows = []
    for prev, point in zip([None, *points[:-1]], points, strict=True):
        growth = (point["seconds_median"] / prev["seconds_median"]
                  if prev else float("nan"))
        cpu_growth = (point["cpu_seconds_median"] / prev["cpu_seconds_median"]
                      if prev else float("nan"))
        point["cpu_time_growth"] = cpu_growth
        size_ratio = point["trades"] / prev["trades"] if prev else float("nan")
        point["time_growth"] = growth
        point["size_growth"] = size_ratio
        rows.append([point["trades"], point["postings"], point["seconds_median"] * 1000,
                     point["cpu_seconds_median"] * 1000,
                     point["cpu_seconds_median"] / point["trades"] * 1e6,
                     point["peak_bytes"] / 2**20, growth,
                     cpu_growth, size_ratio,
                     point["drift_matches_planted"]])
    largest = points[-1]
    targets = {"linear_growth(CPU time ratio <= 1.5x size ratio)": all(
        p["cpu_time_growth"] <= 1.5 * p["size_growth"] for p in points[1:]),
        "100k_under_5s": (largest["seconds_median"] < 5.0 if largest["trades"] >= 100_000
                          else None)}
    path = write_result("recon_scale", {
        "settings": {"sizes": sizes, "runs": args.runs, "quick": args.quick,
                     "matcher": "conformance.checks.recon.reconcile"},
        "points": points, "ok": ok, "targets_met": targets,
    })
    print(table(["trades", "postings", "wall ms (median)", "CPU ms (median)", "CPU µs/trade",
                 "peak MiB",
                 "wall growth", "CPU growth", "size growth", "drift = planted"], rows))
    return finish(path, ok, targets=targets)


if __name__ == "__main__":
    sys.exit(main())
