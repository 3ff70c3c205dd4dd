"""Evidence a scenario records: steps, ids, the journal excerpt, screenshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One thing the harness did or saw, in order, with the time since the scenario began."""

    at_s: float
    action: str
    detail: str = ""
    ok: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Screenshot:
    """A screenshot of a browser step; ``path`` is relative to the report directory."""

    name: str
    path: str
    caption: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """Everything a reviewer needs to check a scenario's decision.

    ``ids`` maps a kind (order_ref, quote_id, transact_id, request_id, event_id,
    idempotency_key) to the ids seen; ``journal`` is the simulator's journal
    excerpt the decision was made on, already redacted, as plain JSON objects;
    ``tables`` are named tables (e.g. the reconciliation drift table) as lists of rows.
    """

    steps: tuple[Step, ...] = ()
    ids: tuple[tuple[str, tuple[str, ...]], ...] = ()
    journal: tuple[dict[str, Any], ...] = ()
    screenshots: tuple[Screenshot, ...] = ()
    partner_log: str = ""
    tables: tuple[tuple[str, tuple[dict[str, Any], ...]], ...] = field(default=())

    def ids_dict(self) -> dict[str, list[str]]:
        return {kind: list(values) for kind, values in self.ids}
