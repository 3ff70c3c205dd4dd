"""The secret scan: the run's canaries in any encoding, and provider key patterns, by offset."""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from conformance.redact import Redactor
from conformance.scan import encodings as enc
from conformance.scan.artefacts import CONCAT_KINDS, ESCAPED_KINDS, Artefact, Kind
from conformance.scan.encodings import Canary, Needle
from conformance.scan.jstext import Decoded, concatenations, escape_windows

_FIX_CANARY = (
    "Keep the 0Pools secret key and webhook secret on the server only (environment or secret "
    "store); call the provider from your backend, never from the browser or app. Remove the "
    "value from the bundle, its source maps and any config the client downloads, rebuild, and "
    "rotate the exposed secret. Encoding or splitting the value does not hide it."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A kind of leak the scanner reports, with the text that tells the partner what to fix."""

    id: str
    name: str
    summary: str
    fix: str


RULES: tuple[Rule, ...] = (
    Rule(id=enc.RAW, name="CanarySecretInClient",
         summary="A secret issued for this run is readable in a client artefact",
         fix=_FIX_CANARY),
    Rule(id=enc.BASE64, name="CanarySecretBase64",
         summary="A secret issued for this run is in a client artefact, base64-encoded",
         fix=_FIX_CANARY),
    Rule(id=enc.HEX, name="CanarySecretHex",
         summary="A secret issued for this run is in a client artefact, hex-encoded",
         fix=_FIX_CANARY),
    Rule(id=enc.URL, name="CanarySecretUrlEncoded",
         summary="A secret issued for this run is in a client artefact, percent-encoded",
         fix=_FIX_CANARY),
    Rule(id=enc.JSON_ESCAPE, name="CanarySecretJsonEscaped",
         summary="A secret issued for this run is in a client artefact, JSON-escaped",
         fix=_FIX_CANARY),
    Rule(id=enc.JS_ESCAPE, name="CanarySecretJsEscaped",
         summary="A secret issued for this run is in a client artefact, in JS string escapes",
         fix=_FIX_CANARY),
    Rule(id=enc.HTML_ESCAPE, name="CanarySecretHtmlEscaped",
         summary="A secret issued for this run is in a client artefact, as HTML references",
         fix=_FIX_CANARY),
    Rule(id=enc.CONCAT, name="CanarySecretConcatenated",
         summary="A secret issued for this run is in a client artefact, split across "
                 "concatenated string literals",
         fix=_FIX_CANARY),
    Rule(id="pattern.sk_live", name="LiveSecretKeyPattern",
         summary="A live secret key (sk_live_…) is in a client artefact",
         fix="Revoke and rotate this live key at the provider now, then move every use of it "
             "to your backend and rebuild the client without it."),
    Rule(id="pattern.sk_test", name="TestSecretKeyPattern",
         summary="A test-mode secret key (sk_test_…) is in a client artefact",
         fix="Rotate this key and move every use of it to your backend; the browser may hold "
             "only a publishable key (pk_…), which can only list pools."),
    Rule(id="pattern.whsec", name="WebhookSecretPattern",
         summary="A webhook signing secret (whsec_…) is in a client artefact",
         fix="Rotate the webhook secret; only the server that verifies webhook signatures may "
             "hold it. Anyone holding it can forge settlement events."),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}

_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# A key starts after a character that cannot be part of a word (so "task_test_…" is no key).
_WORD = frozenset(_ALNUM + b"_")
_KEY_BODY = (re.compile(rb"[A-Za-z0-9_\-]{16,256}"), frozenset(_ALNUM + b"_-"))
_B64_BODY = (re.compile(rb"[A-Za-z0-9+/_\-]{16,256}={0,2}"), frozenset(_ALNUM + b"_-+/="))
_PATTERNS: tuple[tuple[bytes, str, tuple[re.Pattern[bytes], frozenset[int]]], ...] = (
    (b"sk_live_", "pattern.sk_live", _KEY_BODY),
    (b"sk_test_", "pattern.sk_test", _KEY_BODY),
    (b"whsec_", "pattern.whsec", _B64_BODY),
)
# Words of documentation and placeholders ("sk_test_YOUR_KEY_HERE"), never in a random body.
_PLACEHOLDERS = ("your", "here", "example", "placeholder", "replace", "xxxx", "dummy", "sample",
                 "secret", "insert", "fake", "redact", "changeme", "0000", "1234", "abcd")
MIN_BODY_ENTROPY = 3.0
_INNER_RULES = frozenset({enc.RAW, enc.BASE64, enc.HEX, enc.URL})


def plausible_key_body(body: bytes) -> bool:
    """True when ``body`` looks random like a real key, not like documentation text."""
    text = body.rstrip(b"=").decode("ascii", "replace")
    if len(text) < 16:
        return False
    has_upper = any(c.isupper() for c in text)
    has_lower = any(c.islower() for c in text)
    has_digit = any(c.isdigit() for c in text)
    if not (has_upper and has_lower and (has_digit or len(text) >= 24)):
        return False
    lowered = text.lower()
    if any(word in lowered for word in _PLACEHOLDERS):
        return False
    counts = Counter(text)
    entropy = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return entropy >= MIN_BODY_ENTROPY


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretFinding:
    """One secret found in one artefact: where, by which rule, which canary; never the value."""

    location: str
    offset: int
    length: int
    line: int
    column: int
    rule_id: str
    # The canary's label ("secret_key"), or "" for a provider key pattern.
    canary: str
    # How the value was encoded ("base64 standard, byte alignment 1"), never the value.
    encoding: str
    redacted: str
    kind: Kind
    origin: str = ""

    @property
    def rule(self) -> Rule:
        """The rule this finding breaks."""
        return RULES_BY_ID[self.rule_id]

    @property
    def message(self) -> str:
        """One line for people: what, which canary, where."""
        what = f"canary {self.canary!r} ({self.encoding})" if self.canary else self.encoding
        return (f"{self.rule.summary}: {what} in {self.location} at byte {self.offset} "
                f"(line {self.line}, column {self.column}), {self.redacted}")

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready record (the value itself is never part of it)."""
        return {
            "rule_id": self.rule_id, "location": self.location, "offset": self.offset,
            "length": self.length, "line": self.line, "column": self.column,
            "canary": self.canary, "encoding": self.encoding, "redacted": self.redacted,
            "kind": str(self.kind), "origin": self.origin, "message": self.message,
            "fix": self.rule.fix,
        }


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    rule_id: str
    label: str
    encoding: str


def _search(data: bytes | bytearray, needles: Sequence[Needle]) -> Iterator[tuple[int, Needle]]:
    for needle in needles:
        pattern = needle.pattern
        pos = data.find(pattern)
        while pos >= 0:
            yield pos, needle
            pos = data.find(pattern, pos + 1)


class SecretScanner:
    """Scans artefacts for the run's canaries (every encoding) and provider key patterns."""

    def __init__(self, canaries: Iterable[Canary] = (), *, patterns: bool = True) -> None:
        self._canaries = tuple(canaries)
        self._needles = enc.needles_for_all(self._canaries)
        self._patterns = patterns
        self._redactor = Redactor(c.value for c in self._canaries)
        # Searched again after escapes are decoded or literals joined (the escape forms
        # themselves are whole needles already).
        self._inner = tuple(n for n in self._needles if n.rule_id in _INNER_RULES)
        longest = max((len(n.pattern) for n in self._inner), default=0)
        # An escaped copy of the longest inner needle fits in this many bytes on either side.
        self._radius = 6 * longest + 16

    @property
    def redactor(self) -> Redactor:
        """Redacts every canary (and common encodings) out of text meant for output."""
        return self._redactor

    def scan(self, artefacts: Iterable[Artefact]) -> tuple[SecretFinding, ...]:
        """Findings over all artefacts, in artefact order then offset order."""
        return tuple(f for artefact in artefacts for f in self.scan_artefact(artefact))

    def scan_artefact(self, artefact: Artefact) -> tuple[SecretFinding, ...]:
        """Findings in one artefact, overlapping hits of one secret reported once."""
        body = artefact.body
        kind = artefact.resolved_kind
        if kind is Kind.ARCHIVE:  # an opened archive: its entries are the artefacts scanned
            return ()
        hits: list[_Hit] = [
            _Hit(pos, pos + len(n.pattern), n.rule_id, n.label, n.variant)
            for pos, n in _search(body, self._needles)
        ]
        if self._needles and kind in ESCAPED_KINDS and (b"\\" in body):
            for window in escape_windows(body, self._radius):
                hits.extend(self._escaped_hits(window))
        if self._needles and kind in CONCAT_KINDS and b"+" in body:
            for chain in concatenations(body):
                hits.extend(self._concat_hits(chain))
        canary_hits = _dedupe(hits)
        pattern_hits = [h for h in self._pattern_hits(body) if not _overlaps(h, canary_hits)]
        return tuple(self._finding(artefact, h) for h in sorted(canary_hits + pattern_hits,
                                                                 key=lambda h: h.start))

    def _escaped_hits(self, window: Decoded) -> Iterator[_Hit]:
        for pos, needle in _search(window.data, self._inner):
            end = pos + len(needle.pattern)
            kinds = window.escapes_in(pos, end)
            if not kinds:
                continue  # verbatim: the plain search already found it
            js = bool(kinds & {b"x", b"{"})
            rule_id = enc.JS_ESCAPE if js else enc.JSON_ESCAPE
            start, stop = window.original_span(pos, end)
            layer = "JS string escapes" if js else "JSON-escaped"
            yield _Hit(start, stop, rule_id, needle.label, f"{needle.variant}, {layer}")

    def _concat_hits(self, chain: Decoded) -> Iterator[_Hit]:
        for pos, needle in _search(chain.data, self._inner):
            end = pos + len(needle.pattern)
            pieces = chain.literals_in(pos, end)
            if pieces < 2:
                continue  # inside one literal: the plain or escape search finds it
            start, stop = chain.original_span(pos, end)
            yield _Hit(start, stop, enc.CONCAT, needle.label,
                       f"{needle.variant}, split across {pieces} string literals")

    def _pattern_hits(self, body: bytes) -> Iterator[_Hit]:
        if not self._patterns:
            return
        for prefix, rule_id, (body_pattern, body_chars) in _PATTERNS:
            pos = body.find(prefix)
            while pos >= 0:
                if pos == 0 or body[pos - 1] not in _WORD:
                    match = body_pattern.match(body, pos + len(prefix))
                    if match and (match.end() >= len(body) or body[match.end()] not in body_chars) \
                            and plausible_key_body(match.group(0)):
                        yield _Hit(pos, match.end(), rule_id, "",
                                   f"{prefix.decode()}… key, {match.end() - pos} characters")
                pos = body.find(prefix, pos + 1)

    def _finding(self, artefact: Artefact, hit: _Hit) -> SecretFinding:
        body = artefact.body
        line_start = body.rfind(b"\n", 0, hit.start) + 1
        length = hit.end - hit.start
        if hit.label:
            redacted = f"[REDACTED {hit.label}, {length} bytes]"
        else:
            prefix = next(p for p, r, _ in _PATTERNS if r == hit.rule_id).decode()
            redacted = f"{prefix}[REDACTED {length - len(prefix)} characters]"
        return SecretFinding(
            location=self._redactor.text(artefact.location),
            offset=hit.start,
            length=length,
            line=body.count(b"\n", 0, hit.start) + 1,
            column=len(body[line_start : hit.start].decode("utf-8", "replace")) + 1,
            rule_id=hit.rule_id,
            canary=hit.label,
            encoding=hit.encoding,
            redacted=redacted,
            kind=artefact.resolved_kind,
            origin=self._redactor.text(artefact.origin),
        )


def _dedupe(hits: list[_Hit]) -> list[_Hit]:
    """Drop a hit contained in another hit of the same canary (raw inside its own escapes)."""
    kept: list[_Hit] = []
    reach: dict[str, int] = {}
    for hit in sorted(hits, key=lambda h: (h.start, h.start - h.end)):
        if reach.get(hit.label, -1) >= hit.end:
            continue
        reach[hit.label] = max(reach.get(hit.label, -1), hit.end)
        kept.append(hit)
    return kept


def _overlaps(hit: _Hit, others: list[_Hit]) -> bool:
    """True when ``hit`` overlaps one of ``others`` (sorted by start, as _dedupe returns)."""
    index = bisect_left([o.start for o in others], hit.end)
    return any(o.end > hit.start for o in others[:index])


def scan_artefacts(
    artefacts: Iterable[Artefact], canaries: Iterable[Canary] = (), *, patterns: bool = True
) -> tuple[SecretFinding, ...]:
    """Scan artefacts for the given canaries and the provider key patterns."""
    return SecretScanner(canaries, patterns=patterns).scan(artefacts)
