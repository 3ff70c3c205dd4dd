"""A cancelled run stops what it started and still leaves a report (SIGTERM and SIGINT).

CI systems cancel jobs with SIGTERM; people press Ctrl-C. The first signal becomes a
``KeyboardInterrupt`` in the main thread, so pytest stops after the current step, tears its
fixtures down (the partner's whole process group, the simulator, the browser) and the
caller still writes the report, with the scenarios that did not finish as ``error`` ("run
interrupted"). A second signal exits at once, after killing every process group the
harness started (:func:`register_group`), so nothing outlives the harness either way.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from conformance import exit_codes

SIGNALS = (signal.SIGTERM, signal.SIGINT)

_groups: set[int] = set()
_lock = threading.Lock()
_received: list[int] = []


def register_group(pgid: int) -> None:
    """A process group the harness started (killed on a second signal)."""
    with _lock:
        _groups.add(pgid)


def unregister_group(pgid: int) -> None:
    with _lock:
        _groups.discard(pgid)


def received() -> int | None:
    """The first signal received while :func:`handle_signals` was active, if any."""
    return _received[0] if _received else None


def received_name() -> str:
    """The first signal's name ("SIGTERM"), "" when none was received."""
    first = received()
    return "" if first is None else signal.Signals(first).name


def exit_code() -> int | None:
    """The exit code an interrupted run ends with (None when not interrupted)."""
    first = received()
    return None if first is None else exit_codes.interrupted(signal.Signals(first).name)


def _kill_groups() -> None:
    with _lock:
        groups = list(_groups)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _handler(signum: int, frame: FrameType | None) -> None:
    if _received:
        _kill_groups()
        os._exit(exit_codes.interrupted(signal.Signals(_received[0]).name))
    _received.append(signum)
    raise KeyboardInterrupt(f"interrupted by {signal.Signals(signum).name}")


Handlers = dict[int, object] | None


def install() -> Handlers:
    """SIGTERM and SIGINT interrupt the run cleanly from now on; returns what was there."""
    if threading.current_thread() is not threading.main_thread():
        return None  # signal handlers can only be installed from the main thread
    previous: dict[int, object] = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, _handler)
    return previous


def restore(previous: Handlers) -> None:
    """Put back the handlers :func:`install` replaced."""
    for s, handler in (previous or {}).items():
        signal.signal(s, handler)  # type: ignore[arg-type]
    if previous is not None and all(h is not _handler for h in previous.values()):
        _received.clear()  # the outermost context is over: the next run starts clean


@contextmanager
def handle_signals() -> Iterator[None]:
    """Within: SIGTERM and SIGINT interrupt the run cleanly (a second one ends it at once)."""
    previous = install()
    try:
        yield
    finally:
        restore(previous)
