"""Escape decoding and concatenation joining: offsets map back; noise never breaks a scan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.hypothesis_profiles import examples
from conformance.scan import Artefact, Canary, SecretScanner
from conformance.scan.jstext import Decoded, concatenations, escape_windows

from .corpus import mint_canaries

CANARIES = mint_canaries()
SCANNER = SecretScanner(CANARIES)
NOISE = st.text(alphabet="\"'`+\\ux{}/0aF9 \n;=()", max_size=200)


def test_decoded_offsets_map_back_to_the_original() -> None:
    text = b'x = "ab\\u0063d\\x65\\/f";'
    decoded = Decoded()
    decoded.add_text(text, 5, len(text) - 2)
    assert bytes(decoded.data) == b"abcde/f"
    assert decoded.original_span(0, 2) == (5, 7)  # "ab"
    assert decoded.original_span(2, 3) == (7, 13)  # "\\u0063"
    assert decoded.original_span(1, 5) == (6, 18)  # "b\\u0063d\\x65"
    assert decoded.escapes_in(0, 2) == set()
    assert decoded.escapes_in(2, 5) == {b"u", b"x"}


def test_an_escaped_backslash_is_not_an_escape() -> None:
    decoded = Decoded()
    decoded.add_text(b"\\\\x41", 0, 5)
    assert bytes(decoded.data) == b"\\x41"


def test_windows_and_chains_are_found() -> None:
    text = b'a = "x\\u0041y" + \'z\' + `w`; b = "no" - "join";'
    assert [bytes(w.data) for w in escape_windows(text, 4)] == [b'= "xAy" +']
    chains = concatenations(text)
    assert [bytes(c.data) for c in chains] == [b"xAyzw"]
    assert chains[0].literals_in(0, 5) == 3


@settings(max_examples=examples(150), deadline=None)
@given(before=NOISE, after=NOISE)
def test_noise_never_breaks_the_scan_or_hides_a_raw_canary(before: str, after: str) -> None:
    key = CANARIES[0].value
    body = f"{before}{key}{after}".encode()
    found = SCANNER.scan([Artefact(location="n.js", body=body)])
    assert any(f.rule_id == "canary.raw" and f.offset == len(before.encode()) for f in found)


@settings(max_examples=examples(150), deadline=None)
@given(noise=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(noise: bytes) -> None:
    for name in ("a.js", "a.json", "a.html", "a.bin", "a.map"):
        assert SCANNER.scan([Artefact(location=name, body=noise)]) == ()


def test_a_canary_is_a_frozen_record_that_hides_its_value() -> None:
    canary: Canary = CANARIES[1]
    assert canary.value not in repr(canary) and canary.label in repr(canary)
