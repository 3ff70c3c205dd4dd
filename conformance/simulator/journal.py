"""The append-only request journal: the evidence most checks are decided on."""

from __future__ import annotations

import dataclasses
import threading

from conformance.simulator.models import JournalEntry


class Journal:
    """Every request the partner made, in arrival order; entries are already redacted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []

    def append(self, entry: JournalEntry) -> JournalEntry:
        with self._lock:
            stamped = dataclasses.replace(entry, seq=len(self._entries) + 1)
            self._entries.append(stamped)
            return stamped

    def entries(
        self, *, partner_id: str | None = None, since_seq: int = 0, limit: int | None = None
    ) -> tuple[JournalEntry, ...]:
        """Entries with ``seq > since_seq``, oldest first, optionally for one partner."""
        with self._lock:
            chosen = [
                e for e in self._entries[since_seq:]
                if partner_id is None or e.partner_id == partner_id
            ]
        return tuple(chosen if limit is None else chosen[:limit])

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
