"""What a customer's screen may show: no provider internals (the seed's "honest screens").

The execute page's guardrail: "Do not expose internal reserve, route, or settlement mechanics
in execution screens"; the safeguards page's anti-pattern: "Showing internal provider states —
Leaks unstable operations". A screen speaks the partner's words (processing, complete,
cancelled); the provider's reservation states and its routing, treasury and pricing internals
(spread, fee and total bps fields) stay on the server.

The safeguards page's developer checklist: "Read runtime discovery and capabilities before
rendering enabled actions". A screen offers the networks the pool's capabilities list, and
no way to quote a pool that discovery says is unavailable (or says so when asked).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from conformance.checks.provider import Provider
from conformance.checks.scenario_recorder import ScenarioRecorder

# (what it is, pattern): words that only make sense inside the provider's operations.
INTERNAL_WORDING: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a raw provider state (reserved/released) or reserve wording",
     re.compile(r"\b(?:reserv(?:e|ed|es|ing|ation|ations)|released)\b", re.I)),
    ("route wording", re.compile(r"\b(?:rout(?:e|es|ed|ing))\b", re.I)),
    ("treasury wording", re.compile(r"\btreasur(?:y|ies)\b", re.I)),
    ("an internal bps field",
     re.compile(r"\b(?:spread|fee|total|drawfee|spreadcap)[ _-]?bps\b", re.I)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Leak:
    """Internal wording found on a screen: what it is and the words around it."""

    what: str
    excerpt: str


def internal_wording(text: str) -> tuple[Leak, ...]:
    """Every kind of provider-internal wording in ``text`` (first occurrence of each)."""
    leaks = []
    for what, pattern in INTERNAL_WORDING:
        match = pattern.search(text)
        if match:
            start, end = max(0, match.start() - 40), match.end() + 40
            leaks.append(Leak(what=what, excerpt=text[start:end]))
    return tuple(leaks)


# What a page says when it will not quote now (its own words; any of these will do).
UNAVAILABLE_WORDING = re.compile(
    r"\b(?:unavailable|not available|(?:is|are)n't available|no (?:price|quote|pair|pool)s?\b"
    r"|closed|paused|suspended|cannot (?:quote|take)|can't (?:quote|take)"
    r"|try again (?:later|shortly))",
    re.I,
)


def says_unavailable(text: str, declared: Iterable[str] = ()) -> bool:
    """The page tells the user that no quote can be had now: in the built-in English wording,
    or in one of the phrases its manifest declares (``[web] unavailable_text``, any language,
    case-insensitive)."""
    if UNAVAILABLE_WORDING.search(text):
        return True
    folded = " ".join(text.split()).casefold()
    return any(" ".join(phrase.split()).casefold() in folded for phrase in declared)


def unsupported_offers(offered: Iterable[str], supported: Iterable[str]) -> tuple[str, ...]:
    """The offered network values that are not among the pool's supported networks."""
    allowed = {n.casefold() for n in supported}
    return tuple(v for v in dict.fromkeys(offered) if v.casefold() not in allowed)


def firm_quote_requests(entries: Iterable[Any], pool_id: str) -> tuple[Any, ...]:
    """Journal entries that asked the provider for a firm quote on ``pool_id``."""

    def firm(entry: Any) -> bool:
        body = entry.body if isinstance(entry.body, dict) else {}
        return bool(body.get("type", "firm") != "indicative")

    path = f"/v1/pools/{pool_id}/quote"
    return tuple(
        e for e in entries
        if e.method == "POST" and e.path == path and firm(e)
    )


@contextmanager
def pool_unavailable(
    provider: Provider, evidence: ScenarioRecorder, pool_id: str
) -> Iterator[None]:
    """Make the pool unavailable at the provider for the block; always open it again."""
    evidence.step("provider: pool unavailable", f"{pool_id}: /pools, balance and quotes say so")
    provider.set_pool_available(pool_id, False)
    try:
        yield
    finally:
        provider.set_pool_available(pool_id, True)
        evidence.step("provider: pool available again", pool_id)
