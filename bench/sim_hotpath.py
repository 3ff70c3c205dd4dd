"""The simulator's request path without sockets: CPU time and instructions per cycle.

Feeds pre-built quote → transact → poll requests (the bytes ``sim_throughput.py``'s raw
generator sends) to one ``HttpToolsConnection`` of a real simulator, in this process, with a
transport that only collects the answers. What it measures is the simulator's own Python
work per cycle — parsing, routing, pricing, the store, the journal, the answer — without the
kernel and the event loop, which ``sim_throughput.py`` adds.

``--instructions`` counts instructions with valgrind (Debian's ``valgrind``): the count for
``--cycles`` cycles minus the count for none, divided by the cycles. Unlike time on a shared
virtual machine, it does not drift with the neighbours, so two versions of the code can be
compared exactly (``git stash`` between two runs).

    python bench/sim_hotpath.py [--cycles 20000] [--instructions [--cycles 1000]]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

from _common import ROOT, write_result

sys.path.insert(0, str(ROOT))

from conformance.simulator import PartnerSpec, Simulator, SimulatorSettings  # noqa: E402
from conformance.simulator.httptools_connection import HttpToolsConnection  # noqa: E402

WARMUP = 200
BATCHES = 8
QUOTE_BODY = b'{"side": "on_ramp", "amount": "100.00", "destAddress": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"}'  # noqa: E501
_QUOTE_ID = re.compile(rb'"quoteId":"([^"]+)"')


class _Transport:
    """Collects what the connection writes; never closes."""

    def __init__(self) -> None:
        self.out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, *args: Any, **kwargs: Any) -> None:
        return None


class HotPath:
    """One simulator and one connection, ready to run cycles."""

    def __init__(self) -> None:
        self.sim = Simulator(SimulatorSettings())
        creds = self.sim.control.provision_partner(PartnerSpec(
            name="hotpath", initial_balance=Decimal("1000000000000"), max_order_usdt=None))
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.sim.core.loop = self.loop
        self.sim.core.dispatcher.bind(self.loop)
        self.transport = _Transport()
        self.conn = HttpToolsConnection(self.sim.app, server=("127.0.0.1", 1),
                                        max_body_bytes=1 << 20, connections=set())
        self.conn.connection_made(self.transport)  # type: ignore[arg-type]
        self.common = (b"Host: 127.0.0.1:1\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
                       b"User-Agent: Python/3.11 aiohttp/3.14\r\nAuthorization: Bearer %s\r\n"
                       b"Content-Type: application/json\r\n" % creds.secret_key.encode())
        self.quote = (b"POST /v1/pools/EUR-USDT/quote HTTP/1.1\r\n" + self.common
                      + b"Content-Length: %d\r\n\r\n" % len(QUOTE_BODY) + QUOTE_BODY)
        self.n = 0

    def cycle(self) -> None:
        out, conn = self.transport.out, self.conn
        out.clear()
        conn.data_received(self.quote)
        found = _QUOTE_ID.search(out[-1])
        if found is None:
            raise SystemExit(f"quote failed: {out[-1][:300]!r}")
        quote_id = found.group(1)
        body = b'{"quoteId":"%s"}' % quote_id
        self.n += 1
        conn.data_received(b"POST /v1/pools/EUR-USDT/transact HTTP/1.1\r\n" + self.common
                           + b"Idempotency-Key: hot-%d\r\nContent-Length: %d\r\n\r\n"
                           % (self.n, len(body)) + body)
        if b" 200 " not in out[-1][:16]:
            raise SystemExit(f"transact failed: {out[-1][:300]!r}")
        conn.data_received(b"GET /v1/pools/transactions/%s HTTP/1.1\r\n" % quote_id
                           + self.common + b"\r\n")
        if b'"status":"settled"' not in out[-1]:
            raise SystemExit(f"poll did not settle: {out[-1][:300]!r}")


def cpu(cycles: int) -> dict[str, Any]:
    """CPU time per cycle over BATCHES batches (min and median), after a warm-up."""
    hot = HotPath()
    for _ in range(WARMUP):
        hot.cycle()
    per_batch = max(1, cycles // BATCHES)
    times = []
    for _ in range(BATCHES):
        began = time.process_time()
        for _ in range(per_batch):
            hot.cycle()
        times.append((time.process_time() - began) / per_batch)
    times.sort()
    return {"cycles": per_batch * BATCHES, "cpu_us_per_cycle_min": times[0] * 1e6,
            "cpu_us_per_cycle_median": times[len(times) // 2] * 1e6}


def _valgrind_total(cycles: int) -> int:
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "--run-only", str(cycles)],
        capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def instructions(cycles: int) -> dict[str, Any]:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    base, full = _valgrind_total(0), _valgrind_total(cycles)
    return {"cycles": cycles, "instructions_per_cycle": (full - base) // cycles}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=None,
                        help="cycles measured (default 20,000; 1,000 with --instructions)")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per cycle under valgrind instead of time")
    parser.add_argument("--run-only", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_only is not None:  # the process valgrind counts: warm-up, then the cycles
        hot = HotPath()
        for _ in range(WARMUP + args.run_only):
            hot.cycle()
        return 0
    if args.instructions:
        result = instructions(args.cycles or 1_000)
        print(f"{result['instructions_per_cycle']:,} instructions per cycle "
              f"({result['cycles']} cycles)")
    else:
        result = cpu(args.cycles or 20_000)
        print(f"{result['cpu_us_per_cycle_min']:.1f} µs CPU per cycle at best, "
              f"{result['cpu_us_per_cycle_median']:.1f} median ({result['cycles']} cycles)")
    write_result("sim_hotpath", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
