"""The append-only request journal: the evidence most checks are decided on.

The newest entries stay in memory; older ones spill, in batches, to a private temporary
SQLite database (deleted when it is closed), so a long load run holds bounded memory and
every reader still gets every entry.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import sqlite3
import threading
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from conformance.simulator.models import JournalEntry

SPILL_BATCH = 2_000
_NAMES = ("at", "method", "path", "query", "partner_id", "key_kind", "idempotency_key", "body",
          "body_digest", "status", "request_id", "origin", "user_agent", "fault", "reset",
          "replayed", "notes")  # JournalEntry's fields after seq
_PARTNER = _NAMES.index("partner_id")
_DECODE = json.JSONDecoder().decode
_PICKLE_PROTOCOL = pickle.HIGHEST_PROTOCOL


def _pickle(rows: list[Row]) -> bytes:
    return pickle.dumps(rows, protocol=_PICKLE_PROTOCOL)


def _unpickle(blob: bytes) -> list[Row]:
    # only ever this journal's own batches, from its private temporary database
    rows: list[Row] = pickle.loads(blob)  # noqa: S301
    return rows


# An entry as the request path records it: JournalEntry's fields after ``seq`` (the seq is
# implied by its position; ``at`` as POSIX seconds, which pickle several times faster than a
# datetime), already redacted, then one flag: True when the body is kept as
# the request's JSON bytes (only bytes already checked to hold no secret, so they equal
# their redaction) to be decoded and digested (its body_digest is None until then) when the
# entry is first read, where it becomes a JournalEntry. Rows pickle fast, so batches spill
# cheaply.
Row = tuple[Any, ...]


def _fields(e: JournalEntry) -> Row:
    return (e.at.timestamp(), e.method, e.path, e.query, e.partner_id, e.key_kind,
            e.idempotency_key, e.body, e.body_digest, e.status, e.request_id, e.origin,
            e.user_agent, e.fault, e.reset, e.replayed, e.notes, False)


def _made(e: JournalEntry | Row, seq: int) -> JournalEntry:
    if isinstance(e, JournalEntry):
        return e
    fields = dict(zip(_NAMES, e[:-1], strict=True))
    fields["at"] = datetime.fromtimestamp(fields["at"], UTC)
    if e[-1]:  # the body's bytes: its digest and its JSON are taken now
        raw = fields["body"]
        fields["body_digest"] = sha256(raw).hexdigest()
        fields["body"] = _DECODE(raw.decode("utf-8"))
    return JournalEntry(seq=seq, **fields)


class Journal:
    """Every request the partner made, in arrival order; entries are already redacted."""

    def __init__(self, memory_entries: int = 10_000, spill_batch: int = SPILL_BATCH) -> None:
        self._lock = threading.Lock()
        # seqs first_recent, first_recent + 1, …: entries, or rows not read yet
        self._recent: list[JournalEntry | Row] = []
        self._first_recent = 1
        self._count = 0
        self._memory = memory_entries
        self._batch = max(1, min(spill_batch, memory_entries))
        self._db: sqlite3.Connection | None = None

    def append(self, entry: JournalEntry) -> JournalEntry:
        """Append an entry under the next seq (its own ``seq`` is ignored)."""
        with self._lock:
            self._count += 1
            return self._keep(dataclasses.replace(entry, seq=self._count))

    def record(self, **fields: Any) -> JournalEntry:
        """Build and append a new entry under the next seq."""
        with self._lock:
            self._count += 1
            return self._keep(JournalEntry(seq=self._count, **fields))

    def record_row(self, row: Row) -> None:
        """Append an entry given as a Row (see above: the request path's way, the entry is
        only built when it is first read)."""
        with self._lock:
            self._count += 1
            recent = self._recent
            recent.append(row)
            if len(recent) >= self._memory + self._batch:
                self._spill(self._batch)

    def _keep(self, entry: JournalEntry) -> JournalEntry:
        self._recent.append(entry)
        if len(self._recent) >= self._memory + self._batch:
            self._spill(self._batch)
        return entry

    def _spill(self, count: int) -> None:
        """Move the oldest ``count`` entries to SQLite (lock held): one row per batch, the
        batch's entries pickled together (already redacted, as everything the journal holds)."""
        if self._db is None:
            # "" = a private temporary database on disk, deleted when the connection closes.
            self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("PRAGMA cache_size=-2048")
            self._db.execute("CREATE TABLE journal (first_seq INTEGER PRIMARY KEY, "
                             "last_seq INTEGER NOT NULL, entries BLOB NOT NULL)")
        moved = self._recent[:count]
        rows = [_fields(e) if isinstance(e, JournalEntry) else e for e in moved]
        first = self._first_recent
        self._db.execute("INSERT INTO journal VALUES (?, ?, ?)",
                         (first, first + len(rows) - 1, _pickle(rows)))
        del self._recent[:count]
        self._first_recent += len(moved)

    def entries(
        self, *, partner_id: str | None = None, since_seq: int = 0, limit: int | None = None
    ) -> tuple[JournalEntry, ...]:
        """Entries with ``seq > since_seq``, oldest first, optionally for one partner."""
        since_seq = max(0, since_seq)
        with self._lock:
            chosen: list[JournalEntry] = []
            if self._db is not None and since_seq + 1 < self._first_recent:
                batches = self._db.execute(
                    "SELECT first_seq, entries FROM journal WHERE last_seq > ? "
                    "ORDER BY first_seq", (since_seq,))
                for first, blob in batches:
                    for index, row in enumerate(_unpickle(blob)):
                        seq = first + index
                        if seq <= since_seq or (partner_id is not None
                                                and row[_PARTNER] != partner_id):
                            continue
                        chosen.append(_made(row, seq))
                    if limit is not None and len(chosen) >= limit:
                        break
            if limit is None or len(chosen) < limit:
                start = max(0, since_seq - (self._first_recent - 1))
                recent, first = self._recent, self._first_recent
                for index in range(start, len(recent)):
                    entry = recent[index]
                    if not isinstance(entry, JournalEntry):
                        entry = recent[index] = _made(entry, first + index)
                    if partner_id is None or entry.partner_id == partner_id:
                        chosen.append(entry)
                        if limit is not None and len(chosen) >= limit:
                            break
        return tuple(chosen if limit is None else chosen[:limit])

    def in_memory(self) -> int:
        """How many entries are held in memory (the rest are in the spill database)."""
        with self._lock:
            return len(self._recent)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
                # entries spilled are gone with the file; keep seqs monotonic
                self._first_recent = self._count - len(self._recent) + 1

    def __len__(self) -> int:
        with self._lock:
            return self._count
