"""Concurrency through one helper: every concurrent action runs, finishes in its bound, or errors.

Scenarios that race the partner (concurrent accepts, concurrent webhook deliveries) run their
actions here: an exception inside any of them is raised in the scenario (a harness error, or
the partner's own error when it is one), and an action that did not finish inside the bound
is a harness error — never a silently shorter race.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

from conformance.errors import ConcurrencyError, ConformanceError

T = TypeVar("T")



def run_concurrently(actions: Sequence[Callable[[], T]], *, bound_s: float) -> list[T]:
    """Start every action at once (behind a barrier) and return their results in order."""
    if not actions:
        return []
    barrier = threading.Barrier(len(actions))

    def started(action: Callable[[], T]) -> T:
        barrier.wait(timeout=bound_s)
        return action()

    pool = ThreadPoolExecutor(max_workers=len(actions), thread_name_prefix="concurrent")
    try:
        futures = [pool.submit(started, a) for a in actions]
        done, pending = wait(futures, timeout=bound_s, return_when=FIRST_EXCEPTION)
        for future in done:
            error = future.exception()
            if error is not None:
                if isinstance(error, ConformanceError):
                    raise error
                raise ConcurrencyError(
                    f"a concurrent action raised {type(error).__name__}: {error}"
                ) from error
        if pending:
            raise ConcurrencyError(
                f"{len(pending)} of {len(actions)} concurrent actions did not finish within "
                f"{bound_s:.1f} s"
            )
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
