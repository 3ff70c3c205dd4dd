"""Bounded waits on an observable condition: poll it until it holds or the bound passes.

Never a bare sleep: every wait in the checks and scenarios is one of these, its bound a
:class:`~conformance.driver.timings.Timings` value. ``until`` is the twin for code on a
browser's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from conformance.driver.timings import READ_INTERVAL_S


def eventually(predicate: Callable[[], bool], *, bound_s: float, interval_s: float) -> bool:
    """Poll an observable condition until it holds or the bound passes (never a bare sleep)."""
    deadline = time.monotonic() + bound_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


async def until(
    predicate: Callable[[], bool], *, bound_s: float, interval_s: float = READ_INTERVAL_S
) -> bool:
    """Poll an observable condition without blocking the browser's event loop."""
    deadline = time.monotonic() + bound_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval_s)


