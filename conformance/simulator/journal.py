"""The append-only request journal: the evidence most checks are decided on.

The newest entries stay in memory; older ones spill, in batches, to a private temporary
SQLite database (deleted when it is closed), so a long load run holds bounded memory and
every reader still gets every entry.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from datetime import datetime
from typing import Any

from conformance.simulator.http import encode_json
from conformance.simulator.models import JournalEntry

SPILL_BATCH = 2_000
_COLUMNS = ("seq", "at", "method", "path", "query", "partner_id", "key_kind",
            "idempotency_key", "body", "body_digest", "status", "request_id", "origin",
            "user_agent", "fault", "reset", "replayed", "notes")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM journal"
_ENCODE = encode_json
_DECODE = json.JSONDecoder().decode


def _row(e: JournalEntry) -> tuple[Any, ...]:
    return (e.seq, e.at.isoformat(), e.method, e.path, e.query, e.partner_id, e.key_kind,
            e.idempotency_key, _ENCODE(e.body), e.body_digest, e.status, e.request_id,
            e.origin, e.user_agent, e.fault, e.reset, e.replayed,
            _ENCODE(e.notes) if e.notes else "[]")


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    (seq, at, method, path, query, partner_id, key_kind, idempotency_key, body, body_digest,
     status, request_id, origin, user_agent, fault, reset, replayed, notes) = row
    return JournalEntry(
        seq=seq, at=datetime.fromisoformat(at), method=method, path=path, query=query,
        partner_id=partner_id, key_kind=key_kind, idempotency_key=idempotency_key,
        body=_DECODE(body), body_digest=body_digest, status=status, request_id=request_id,
        origin=origin, user_agent=user_agent, fault=fault, reset=bool(reset),
        replayed=bool(replayed), notes=tuple(_DECODE(notes)))


class Journal:
    """Every request the partner made, in arrival order; entries are already redacted."""

    def __init__(self, memory_entries: int = 10_000, spill_batch: int = SPILL_BATCH) -> None:
        self._lock = threading.Lock()
        self._recent: list[JournalEntry] = []  # seqs first_recent, first_recent + 1, …
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
        """Build and append a new entry under the next seq (the request path's way)."""
        with self._lock:
            self._count += 1
            return self._keep(JournalEntry(seq=self._count, **fields))

    def _keep(self, entry: JournalEntry) -> JournalEntry:
        self._recent.append(entry)
        if len(self._recent) >= self._memory + self._batch:
            self._spill(self._batch)
        return entry

    def _spill(self, count: int) -> None:
        """Move the oldest ``count`` entries to SQLite in one transaction (lock held)."""
        if self._db is None:
            # "" = a private temporary database on disk, deleted when the connection closes.
            self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("PRAGMA cache_size=-2048")
            self._db.execute(
                "CREATE TABLE journal (seq INTEGER PRIMARY KEY, "
                + ", ".join(_COLUMNS[1:]) + ")")
            # no index on partner_id: inserts stay cheap; spilled reads are rare (old marks)
        moved = self._recent[:count]
        rows = [_row(e) for e in moved]
        self._db.execute("BEGIN")
        self._db.executemany(
            f"INSERT INTO journal VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
        self._db.execute("COMMIT")
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
                sql = _SELECT + " WHERE seq > ?"
                args: list[object] = [since_seq]
                if partner_id is not None:
                    sql += " AND partner_id = ?"
                    args.append(partner_id)
                sql += " ORDER BY seq"
                if limit is not None:
                    sql += " LIMIT ?"
                    args.append(limit)
                chosen = [_entry(row) for row in self._db.execute(sql, args)]
            if limit is None or len(chosen) < limit:
                start = max(0, since_seq - (self._first_recent - 1))
                chosen.extend(e for e in self._recent[start:]
                              if partner_id is None or e.partner_id == partner_id)
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
