"""Simulator time: real UTC plus an offset, so a partner's own clock stays meaningful."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` and millisecond precision, as the API writes timestamps."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # what isoformat(timespec="milliseconds") writes, without its "+00:00" (about 2x faster)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


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
        self._lock = threading.Lock()

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        shift = self._shift  # one read of one reference: no lock needed
        return datetime.now(UTC) + shift if shift else datetime.now(UTC)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
            self._shift = timedelta(seconds=self._offset)
        return self.now()

    @staticmethod
    def real_unix() -> int:
        """Real Unix time, never shifted: webhook signatures use it."""
        return int(time.time())
