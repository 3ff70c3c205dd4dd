"""Simulator time: real UTC plus an offset, so a partner's own clock stays meaningful."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

_now = datetime.now
_time = time.time

# iso() is on every answer's path: the text up to the second is built once per second (a
# small cache, emptied when full), the milliseconds are looked up.
_SECONDS: dict[tuple[int, int, int, int, int, int], str] = {}
_SECONDS_MAX = 4096
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` and millisecond precision, as the API writes timestamps."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    key = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    prefix = _SECONDS.get(key)
    if prefix is None:
        if len(_SECONDS) >= _SECONDS_MAX:
            _SECONDS.clear()
        year, month, day, hour, minute, second = key
        prefix = _SECONDS[key] = (f"{year:04d}-{month:02d}-{day:02d}T"
                                  f"{hour:02d}:{minute:02d}:{second:02d}")
    return prefix + _MILLIS[moment.microsecond // 1000]


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset); naive values are taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock:
    """The one source of simulator time; only the offset ever moves."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = float(offset_seconds)
        self._shift = timedelta(seconds=self._offset)
        self._shift_s = self._shift.total_seconds()  # the shift as now() applies it
        self._lock = threading.Lock()

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        shift = self._shift  # one read of one reference: no lock needed
        return _now(UTC) + shift if shift else _now(UTC)

    def now_seconds(self) -> float:
        """Simulator time as POSIX seconds: :meth:`now` without building a datetime (the
        journal keeps it so; ``datetime.fromtimestamp(t, UTC)`` gives it back to the µs)."""
        return _time() + self._shift_s

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
            self._shift = timedelta(seconds=self._offset)
            self._shift_s = self._shift.total_seconds()
        return self.now()

    @staticmethod
    def real_unix() -> int:
        """Real Unix time, never shifted: webhook signatures use it."""
        return int(time.time())
