"""The exit codes every command shares, written once.

    0    ready / success / clean
    1    blocked / a check failed / something was found
    2    the harness could not run (bad input, nothing decided, the partner never came up)
    130  interrupted by SIGINT   (128 + the signal, as shells report a death by a signal)
    143  interrupted by SIGTERM
"""

from __future__ import annotations

import signal

OK = 0
BLOCKED = 1
HARNESS = 2
BY_SIGNAL: dict[str, int] = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}


def interrupted(signal_name: str) -> int:
    """The exit code of a run stopped by ``signal_name`` ("SIGTERM"); SIGINT's when unknown."""
    return BY_SIGNAL.get(signal_name, BY_SIGNAL["SIGINT"])
