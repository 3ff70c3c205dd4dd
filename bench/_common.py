"""Shared by the benchmark scripts: machine facts, statistics, result files, tables, servers."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# ZP_BENCH_RESULTS: write results elsewhere (the smoke tests do, to keep real results intact).
RESULTS = Path(os.environ.get("ZP_BENCH_RESULTS") or BENCH / "results")
CACHE = ROOT / ".cache"
PRISM_VERSION = "5.14.2"
PRISM_PREFIX = CACHE / "prism"
PRISM_BIN = PRISM_PREFIX / "node_modules" / ".bin" / "prism"
OPENAPI = ROOT / "conformance" / "simulator" / "openapi.yaml"


def interpreter() -> str:
    """Which CPython build ran the numbers: its build decides a large share of them."""
    try:  # the interpreter runs from a shared libpython (slower: PIC) or has it linked in
        maps = Path("/proc/self/maps").read_text()
        linked = "libpython shared" if "libpython" in maps else "libpython linked in"
    except OSError:
        linked = "libpython: unknown"
    return (f"{platform.python_implementation()} {platform.python_version()} "
            f"({sys.base_prefix}; {linked})")


def machine() -> dict[str, Any]:
    """What the numbers were measured on (the machine is shared, so they are noisy)."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_total": mem_total,
        "python": platform.python_version(),
        "interpreter": interpreter(),
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def write_result(name: str, data: dict[str, Any]) -> Path:
    """bench/results/<name>.json (git-ignored), with the machine and the time of the run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (readable in a terminal too)."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, timeout: float, proc: subprocess.Popen[Any] | None = None) -> None:
    """Bounded wait until 127.0.0.1:port accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in a process group (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # fields[0] is the state; pgrp is the 5th stat field
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


class SimProcess:
    """The simulator in its own process (so the load generator does not share its GIL)."""

    def __init__(self, *args: str, cpus: str | None = None) -> None:
        """``args`` go to _simserver.py (``--http-parser h11``…); ``cpus`` pins it (taskset)."""
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self.args = args
        self.cpus = cpus

    def __enter__(self) -> SimProcess:
        pin = ["taskset", "-c", self.cpus] if self.cpus is not None else []
        self.proc = subprocess.Popen(
            # ZP_BENCH_SIMSERVER: another entry script (to try a fix out before proposing it).
            [*pin, sys.executable,
             os.environ.get("ZP_BENCH_SIMSERVER", str(BENCH / "_simserver.py")), *self.args],
            cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            start_new_session=True,
        )
        self.info = self.command("hello", timeout=30)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def api_url(self) -> str:
        return str(self.info["api_url"])

    def command(self, cmd: str, /, timeout: float = 120, **args: Any) -> dict[str, Any]:
        """One line of JSON in, one line of JSON out."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        if cmd != "hello":
            self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            raise RuntimeError(f"simulator process gave no answer to {cmd!r}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"simulator process: {answer['error']}")
        return answer

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class PrismProcess:
    """Prism mocking the simulator's own OpenAPI document, on 127.0.0.1."""

    def __init__(self, cpus: str | None = None) -> None:
        """``cpus``: pin Prism (node and its workers) to these CPUs with taskset."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.cpus = cpus

    @staticmethod
    def ensure_installed() -> Path:
        if PRISM_BIN.exists():
            return PRISM_BIN
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed: cannot install Prism")
        PRISM_PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-save", "--prefix", str(PRISM_PREFIX),
                        f"@stoplight/prism-cli@{PRISM_VERSION}"], check=True, timeout=600)
        return PRISM_BIN

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PrismProcess:
        binary = self.ensure_installed()
        self.port = free_port()
        self.proc = subprocess.Popen(
            [*(["taskset", "-c", self.cpus] if self.cpus is not None else []),
             str(binary), "mock", str(OPENAPI), "-p", str(self.port), "-h", "127.0.0.1"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_port(self.port, 60, self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        # Prism's launcher forks node workers: end the session group we started, by its id.
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self.proc = None


def finish(path: Path, ok: bool, *, checks: Any = "", targets: Any = None) -> int:
    """Print the correctness checks, the targets and where the results went; the exit code."""
    print(f"checks: {'ok' if ok else 'FAILED'}{f' {checks}' if checks else ''}")
    if targets is not None:
        print(f"targets: {targets}")
    print(f"wrote {path}")
    return 0 if ok else 1


def run_main(main: Callable[[], int]) -> NoReturn:
    """Run a benchmark's main, report its wall time on stderr, exit with its code."""
    started = time.monotonic()
    code = main()
    print(f"took {time.monotonic() - started:.1f} s", file=sys.stderr)
    sys.exit(code)
