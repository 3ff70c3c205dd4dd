"""Simulator time: real UTC plus an offset, so a partner's own clock stays meaningful."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` and millisecond precision, as the API writes timestamps."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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
        self._lock = threading.Lock()

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + timedelta(seconds=offset)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    @staticmethod
    def real_unix() -> int:
        """Real Unix time, never shifted: webhook signatures use it."""
        return int(time.time())
