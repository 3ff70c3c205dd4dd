"""JS and JSON text normalised near string escapes and concatenations, with offsets kept.

A plain byte search misses ``"sk_te" + "st_…"`` and ``"sk\\u005ftest…"``. Rather than
rewriting whole bundles, these helpers decode only small windows around an escape or a
``"…" + "…"`` joint, and map every decoded byte back to its offset in the original.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

# The escapes whose decoding can reveal a secret; ``\\\\`` is consumed so ``\\\\x41`` stays text.
_ESCAPE = re.compile(
    rb"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|u\{([0-9A-Fa-f]{1,6})\}|([/'\"`\\]))"
)
# What marks an escape worth decoding around (a lone ``\\\\`` or ``\\"`` reveals nothing new).
_INTERESTING_ESCAPE = re.compile(rb"\\(?:x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|u\{[0-9A-Fa-f]{1,6}\}|/)")
# A closing quote, a plus, an opening quote: the seam between two concatenated literals.
_JOINT = re.compile(rb"""(["'`])\s{0,64}\+\s{0,64}(["'`])""")
_CONTINUE = re.compile(rb"""\s{0,64}\+\s{0,64}(["'`])""")
_LITERAL = {
    q: re.compile(q + rb"(?:[^" + q + rb"\\\n]|\\.)*" + q, re.DOTALL) for q in (b'"', b"'")
}
_LITERAL[b"`"] = re.compile(rb"`(?:[^`\\$]|\\.|\$(?!\{))*`", re.DOTALL)
# Longest literal followed when chaining (keeps the work bounded on pathological input).
MAX_LITERAL = 16_384
MAX_CHAIN = 256


@dataclass(frozen=True, slots=True)
class _Segment:
    decoded_start: int
    original_start: int
    original_length: int
    escape: bytes  # b"" for verbatim text, else the escape's letter (b"x", b"u", b"{", b"/")


class Decoded:
    """Decoded bytes of an original range, with a map back to original offsets."""

    __slots__ = ("data", "_segments", "_starts", "_literal_starts")

    def __init__(self) -> None:
        self.data = bytearray()
        self._segments: list[_Segment] = []
        self._starts: list[int] = []
        self._literal_starts: list[int] = []

    def _add(self, decoded: bytes, original_start: int, original_length: int,
             escape: bytes) -> None:
        if not decoded:
            return
        self._segments.append(_Segment(len(self.data), original_start, original_length, escape))
        self._starts.append(len(self.data))
        self.data += decoded

    def add_text(self, text: bytes, start: int, end: int) -> None:
        """Decode ``text[start:end]``: escapes become what they stand for, the rest is copied."""
        self._literal_starts.append(len(self.data))
        pos = start
        for match in _ESCAPE.finditer(text, start, end):
            if match.start() > pos:
                self._add(text[pos : match.start()], pos, match.start() - pos, b"")
            self._add(_decode_escape(match), match.start(), match.end() - match.start(),
                      _escape_kind(match))
            pos = match.end()
        if end > pos:
            self._add(text[pos:end], pos, end - pos, b"")

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original byte range that decoded ``data[start:end]`` came from."""
        first = self._segments[bisect_right(self._starts, start) - 1]
        last = self._segments[bisect_right(self._starts, end - 1) - 1]
        o_start = first.original_start + (0 if first.escape else start - first.decoded_start)
        if last.escape:
            o_end = last.original_start + last.original_length
        else:
            o_end = last.original_start + (end - last.decoded_start)
        return o_start, o_end

    def escapes_in(self, start: int, end: int) -> set[bytes]:
        """The kinds of escape that decoded ``data[start:end]`` used (empty: verbatim)."""
        lo = bisect_right(self._starts, start) - 1
        hi = bisect_right(self._starts, end - 1)
        return {seg.escape for seg in self._segments[lo:hi] if seg.escape}

    def literals_in(self, start: int, end: int) -> int:
        """How many of the joined literals ``data[start:end]`` touches."""
        return bisect_right(self._literal_starts, end - 1) - bisect_right(
            self._literal_starts, start
        ) + 1


def _escape_kind(match: re.Match[bytes]) -> bytes:
    if match.group(1) is not None:
        return b"x"
    if match.group(2) is not None:
        return b"u"
    if match.group(3) is not None:
        return b"{"
    return b"/" if match.group(4) == b"/" else b"\\"


def _decode_escape(match: re.Match[bytes]) -> bytes:
    digits = match.group(1) or match.group(2) or match.group(3)
    if digits is None:
        return match.group(4)
    code = int(digits, 16)
    if code > 0x10FFFF:
        return match.group(0)
    return chr(code).encode("utf-8", "surrogatepass")


def escape_windows(text: bytes, radius: int) -> list[Decoded]:
    """Decoded windows of ``radius`` bytes around each cluster of interesting escapes."""
    windows: list[Decoded] = []
    lo = hi = -1
    for match in _INTERESTING_ESCAPE.finditer(text):
        if hi >= 0 and match.start() - radius <= hi:
            hi = min(len(text), match.end() + radius)
            continue
        if hi >= 0:
            windows.append(_window(text, lo, hi))
        lo, hi = max(0, match.start() - radius), min(len(text), match.end() + radius)
    if hi >= 0:
        windows.append(_window(text, lo, hi))
    return windows


def _window(text: bytes, lo: int, hi: int) -> Decoded:
    # Do not start in the middle of an escape: step back over a partial ``\\uXXXX``.
    back = text.rfind(b"\\", max(0, lo - 10), lo)
    if back >= 0:
        lo = back
    decoded = Decoded()
    decoded.add_text(text, lo, hi)
    return decoded


def _literal_at(text: bytes, start: int) -> tuple[int, int] | None:
    """The literal whose opening quote is at ``start``, as (start, end) with both quotes."""
    pattern = _LITERAL.get(text[start : start + 1])
    if pattern is None:
        return None
    match = pattern.match(text, start, min(len(text), start + MAX_LITERAL))
    return (match.start(), match.end()) if match else None


def _literal_ending_at(text: bytes, close: int) -> tuple[int, int] | None:
    """The literal whose closing quote is at ``close``, found by scanning back for its opener."""
    quote = text[close : close + 1]
    floor = max(0, close - MAX_LITERAL)
    pos = close
    while True:
        pos = text.rfind(quote, floor, pos)
        if pos < 0:
            return None
        backslashes = 0
        while pos - backslashes - 1 >= 0 and text[pos - backslashes - 1] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 0:
            span = _literal_at(text, pos)
            return span if span is not None and span[1] == close + 1 else None


def concatenations(text: bytes) -> list[Decoded]:
    """Each chain ``"a" + "b" + …`` of string literals, decoded and joined."""
    chains: list[Decoded] = []
    last_end = -1
    for joint in _JOINT.finditer(text):
        if joint.start() < last_end:
            continue
        left = _literal_ending_at(text, joint.start(1))
        if left is None:
            continue
        literals = [left]
        nxt = _literal_at(text, joint.start(2))
        while nxt is not None and len(literals) < MAX_CHAIN:
            literals.append(nxt)
            more = _CONTINUE.match(text, nxt[1])
            nxt = _literal_at(text, more.start(1)) if more else None
        if len(literals) < 2:
            continue
        last_end = literals[-1][1]
        decoded = Decoded()
        for start, end in literals:
            decoded.add_text(text, start + 1, end - 1)
        chains.append(decoded)
    return chains
