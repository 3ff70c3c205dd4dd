"""Canary secrets and every byte string they can hide as, computed once per run."""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass, field

from conformance.errors import CanaryError

# A canary shorter than this would match by chance in real bundles.
MIN_CANARY_LENGTH = 12
# Provider prefixes: a bundle may carry the key body alone and prepend the prefix at run time.
KEY_PREFIXES = ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_")
# The body alone is searched only when it is at least this long (random, so no chance hits).
MIN_BODY_LENGTH = 16
# Rule ids of the encodings; the layers found by normalisation add canary.json/.jsescape/.concat.
RAW = "canary.raw"
BASE64 = "canary.base64"
HEX = "canary.hex"
URL = "canary.url"
JSON_ESCAPE = "canary.json"
JS_ESCAPE = "canary.jsescape"
HTML_ESCAPE = "canary.html"
CONCAT = "canary.concat"



@dataclass(frozen=True, slots=True, kw_only=True)
class Canary:
    """A secret issued for this run, known by its label; the value never prints."""

    label: str
    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.label or not self.label.replace("_", "").replace("-", "").isalnum():
            raise CanaryError(f"canary label {self.label!r} must be a non-empty word")
        if len(self.value) < MIN_CANARY_LENGTH:
            raise CanaryError(
                f"canary {self.label!r} is shorter than {MIN_CANARY_LENGTH} characters: "
                "too short to search for without false positives"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Needle:
    """One exact byte string that proves a canary is present, and how it was encoded."""

    rule_id: str
    label: str
    variant: str
    pattern: bytes = field(repr=False)


def _b64_core(data: bytes, offset: int, alphabet: bytes) -> bytes:
    """The base64 characters fixed by ``data`` alone when it starts ``offset`` bytes into a blob.

    Characters that also carry bits of the neighbouring (unknown) bytes are dropped, so the
    core matches inside any longer base64 text, padded or not, at that alignment.
    """
    encoded = base64.b64encode(b"\0" * offset + data)
    if alphabet == b"urlsafe":
        encoded = encoded.translate(bytes.maketrans(b"+/", b"-_"))
    first_bit, end_bit = 8 * offset, 8 * (offset + len(data))
    first_char = -(-first_bit // 6)
    end_char = end_bit // 6
    return encoded[first_char:end_char]


def _full_escapes(text: str, template: str) -> str:
    return "".join(template.format(ord(ch)) for ch in text)


def needles_for(canary: Canary) -> tuple[Needle, ...]:
    """Every encoding of one canary that a plain byte search can find, deduplicated."""
    raw = canary.value.encode()
    found: dict[bytes, Needle] = {}

    def add(rule_id: str, variant: str, pattern: bytes) -> None:
        if len(pattern) >= MIN_CANARY_LENGTH and pattern not in found:
            found[pattern] = Needle(
                rule_id=rule_id, label=canary.label, variant=variant, pattern=pattern
            )

    add(RAW, "raw", raw)
    for prefix in KEY_PREFIXES:
        body = canary.value[len(prefix) :]
        if canary.value.startswith(prefix) and len(body) >= MIN_BODY_LENGTH:
            add(RAW, f"key body without {prefix!r}", body.encode())
    for alphabet in (b"standard", b"urlsafe"):
        for offset in range(3):
            variant = f"base64 {alphabet.decode()}, byte alignment {offset}"
            add(BASE64, variant, _b64_core(raw, offset, alphabet))
    add(HEX, "hex lower-case", raw.hex().encode())
    add(HEX, "hex upper-case", raw.hex().upper().encode())
    add(URL, "percent-encoded", urllib.parse.quote(canary.value, safe="").encode())
    add(URL, "percent-encoded, every byte", _full_escapes(canary.value, "%{:02x}").encode())
    add(URL, "percent-encoded, every byte", _full_escapes(canary.value, "%{:02X}").encode())
    add(JSON_ESCAPE, "JSON string", json.dumps(canary.value)[1:-1].encode())
    escaped = json.dumps(canary.value)[1:-1]
    add(JSON_ESCAPE, "JSON string, slashes escaped", escaped.replace("/", "\\/").encode())
    if canary.value.isascii():
        add(JSON_ESCAPE, "\\u escapes", _full_escapes(canary.value, "\\u{:04x}").encode())
        add(JSON_ESCAPE, "\\u escapes", _full_escapes(canary.value, "\\u{:04X}").encode())
        add(JS_ESCAPE, "\\x escapes", _full_escapes(canary.value, "\\x{:02x}").encode())
        add(JS_ESCAPE, "\\x escapes", _full_escapes(canary.value, "\\x{:02X}").encode())
        add(HTML_ESCAPE, "HTML character references", _full_escapes(canary.value, "&#{};").encode())
        add(HTML_ESCAPE, "HTML character references",
            _full_escapes(canary.value, "&#x{:x};").encode())
    return tuple(found.values())


def needles_for_all(canaries: tuple[Canary, ...]) -> tuple[Needle, ...]:
    """The needles of every canary; two canaries with one value are refused (ambiguous)."""
    values: dict[str, str] = {}
    labels: set[str] = set()
    for canary in canaries:
        if canary.label in labels:
            raise CanaryError(f"canary label {canary.label!r} is given twice")
        if canary.value in values:
            raise CanaryError(
                f"canaries {values[canary.value]!r} and {canary.label!r} have the same value"
            )
        labels.add(canary.label)
        values[canary.value] = canary.label
    return tuple(needle for canary in canaries for needle in needles_for(canary))
