"""The requests a browser page makes: each one redacted, the session's log of them, their table.

:class:`~conformance.checks.quote_page.QuotePage` records every request its page makes as a
:class:`PageRequest` (with the labels of the run's secrets it carried) and adds them to the
session's :class:`BrowserLog` when it closes; ``secrets.browser_no_provider_calls`` judges
that log, so the requests of every browser scenario of the run are judged, not only its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.driver.recorder import EvidenceRecorder

# Methods that do not change anything: a page may send these freely.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# How many requests an evidence table keeps.
TABLE_LIMIT = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class PageRequest:
    """One request a page made in a browser scenario, redacted, with the secrets it carried."""

    scenario_id: str
    seq: int
    at_s: float
    method: str
    url: str
    resource_type: str
    # Labels of the run's server secrets found in its URL, headers or body ("secret_key").
    carries: tuple[str, ...] = ()

    @property
    def is_action(self) -> bool:
        """A request that can change state (an accept, a transact), not a read."""
        return self.method.upper() not in SAFE_METHODS

    def row(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario_id, "at_s": self.at_s, "method": self.method,
            "url": self.url, "type": self.resource_type, "carries": ", ".join(self.carries),
        }


class BrowserLog:
    """Every request every browser scenario of the session made (one per pytest session)."""

    def __init__(self) -> None:
        self._requests: list[PageRequest] = []

    def extend(self, requests: tuple[PageRequest, ...]) -> None:
        self._requests.extend(requests)

    @property
    def requests(self) -> tuple[PageRequest, ...]:
        return tuple(self._requests)

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.scenario_id for r in self._requests))


def record_requests(
    evidence: EvidenceRecorder, name: str, requests: tuple[PageRequest, ...]
) -> None:
    """Keep a (bounded) table of page requests in the evidence."""
    evidence.table(name, [r.row() for r in requests[:TABLE_LIMIT]])
