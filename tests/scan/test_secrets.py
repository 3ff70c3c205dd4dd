"""Recall on the planted corpus, precision on look-alikes, and redaction of every output."""

from __future__ import annotations

import base64
import json
import secrets
from collections import defaultdict
from pathlib import Path

import pytest

from conformance.errors import CanaryError
from conformance.sarif import sarif_document
from conformance.scan import Artefact, Canary, SecretScanner, load_paths
from conformance.scan.encodings import needles_for
from conformance.scan.secrets import RULES_BY_ID, SecretFinding, plausible_key_body

from .corpus import Planted, case_names


def leaks(text: str, canaries: tuple[Canary, ...]) -> list[str]:
    """Which canaries (by label) appear in ``text`` in any encoding or as a 12-char piece."""
    found = []
    for canary in canaries:
        pieces = {canary.value[i : i + 12] for i in range(len(canary.value) - 11)}
        pieces |= {n.pattern.decode("latin-1") for n in needles_for(canary)}
        pieces |= {p[:16] for p in pieces if len(p) > 16}
        if any(piece in text for piece in pieces):
            found.append(canary.label)
    return found


@pytest.fixture(scope="module")
def scanned(corpus: tuple[Path, list[Planted]],
            canaries: tuple[Canary, Canary]) -> tuple[SecretFinding, ...]:
    root, _ = corpus
    return SecretScanner(canaries).scan(load_paths([str(root)]).artefacts)


@pytest.mark.parametrize("case", case_names())
def test_every_planted_secret_is_found_with_its_rule_and_location(
    case: str, corpus: tuple[Path, list[Planted]], scanned: tuple[SecretFinding, ...]
) -> None:
    planted = next(p for p in corpus[1] if p.case == case)
    here = [f for f in scanned if f.location == planted.file]
    assert here, f"nothing found in {planted.file}"
    assert [(f.rule_id, f.canary) for f in here] == [(planted.rule_id, planted.label)]
    finding = here[0]
    assert planted.start <= finding.offset < planted.end
    body = _body_of(planted.file)
    assert finding.line == body[: finding.offset].count(b"\n") + 1
    line_start = body.rfind(b"\n", 0, finding.offset) + 1
    assert finding.column == len(body[line_start : finding.offset].decode()) + 1


def _body_of(location: str) -> bytes:
    path, _, fragment = location.partition("#")
    body = Path(path).read_bytes()
    for artefact in load_paths([path]).artefacts:
        if artefact.location == location:
            return artefact.body
    assert not fragment, location
    return body


def test_no_finding_outside_the_planted_places(
    corpus: tuple[Path, list[Planted]], scanned: tuple[SecretFinding, ...]
) -> None:
    expected = defaultdict(int)
    for p in corpus[1]:
        expected[p.file] += 1
    got = defaultdict(int)
    for f in scanned:
        got[f.location] += 1
    assert dict(got) == dict(expected)


def test_findings_never_carry_a_secret(
    scanned: tuple[SecretFinding, ...], canaries: tuple[Canary, Canary]
) -> None:
    assert scanned
    assert leaks(repr(scanned), canaries) == []
    assert leaks(json.dumps([f.as_dict() for f in scanned]), canaries) == []
    assert leaks(json.dumps(sarif_document(scanned)), canaries) == []
    assert leaks(repr(canaries), canaries) == []
    for finding in scanned:
        assert finding.redacted.startswith("[REDACTED ")


def test_leak_checker_can_fail(canaries: tuple[Canary, Canary]) -> None:
    key = canaries[0].value
    assert leaks(f"x{base64.b64encode(key.encode()).decode()}", canaries) == ["secret_key"]
    assert leaks(key[3:20], canaries) == ["secret_key"]


def _scan(text: str, canaries: tuple[Canary, ...] = (), name: str = "app.js") -> list[str]:
    scanner = SecretScanner(canaries)
    return [f.rule_id for f in scanner.scan([Artefact(location=name, body=text.encode())])]


def _random_body(length: int = 32) -> str:
    while True:
        body = secrets.token_urlsafe(length)[:length]
        if plausible_key_body(body.encode()):
            return body


@pytest.mark.parametrize("prefix,rule", [
    pytest.param("sk_live_", "pattern.sk_live", id="sk-live"),
    pytest.param("sk_test_", "pattern.sk_test", id="sk-test"),
    pytest.param("whsec_", "pattern.whsec", id="whsec"),
])
def test_provider_key_patterns_are_found(prefix: str, rule: str) -> None:
    key = prefix + _random_body()
    assert _scan(f'const k = "{key}";') == [rule]
    assert _scan(f"k={key}\n", name="app.env") == [rule]
    finding = SecretScanner().scan([Artefact(location="a.js", body=f"'{key}'".encode())])[0]
    assert finding.offset == 1 and finding.length == len(key)
    assert finding.redacted == f"{prefix}[REDACTED {len(key) - len(prefix)} characters]"
    assert key[len(prefix):][:10] not in repr(finding)


@pytest.mark.parametrize("text", [
    pytest.param('"sk_test_..."', id="ellipsis"),
    pytest.param('key.startsWith("sk_live_")', id="prefix-constant"),
    pytest.param("`sk_test_${body}`", id="template"),
    pytest.param('"sk_test_YOUR_SECRET_KEY_HERE"', id="placeholder-words"),
    pytest.param('"sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"', id="x-run"),
    pytest.param('"sk_test_1234567890abcdefghijkl"', id="sequence"),
    pytest.param('"whsec_" + secretFromServer', id="whsec-prefix"),
    pytest.param("var task_test_Abc9Def8Ghi7Jkl6Mno5 = 1", id="inside-identifier"),
    pytest.param("sk_test_mode_enabled_flag_value_for_docs", id="snake-words"),
    pytest.param("Use a key like sk_test_abc in sandbox", id="short-body"),
])
def test_documentation_text_is_not_a_key(text: str) -> None:
    assert _scan(text) == []


def test_a_canary_is_reported_once_not_also_as_a_pattern(canaries: tuple[Canary, Canary]) -> None:
    key = canaries[0].value
    assert _scan(f'"{key}"', canaries) == ["canary.raw"]
    assert _scan(f'"{key}"') == ["pattern.sk_test"]


def test_no_canaries_and_no_patterns_finds_nothing(canaries: tuple[Canary, Canary]) -> None:
    scanner = SecretScanner((), patterns=False)
    assert scanner.scan([Artefact(location="a.js", body=canaries[0].value.encode())]) == ()


def test_canaries_must_be_usable() -> None:
    with pytest.raises(CanaryError, match="shorter than"):
        Canary(label="secret_key", value="short")
    with pytest.raises(CanaryError, match="label"):
        Canary(label="two words", value="x" * 20)
    value = "sk_test_" + _random_body()
    with pytest.raises(CanaryError, match="same value"):
        SecretScanner([Canary(label="a", value=value), Canary(label="b", value=value)])
    with pytest.raises(CanaryError, match="given twice"):
        SecretScanner([Canary(label="a", value=value), Canary(label="a", value=value + "x")])


def test_every_rule_tells_what_to_fix() -> None:
    for rule in RULES_BY_ID.values():
        assert len(rule.fix) > 40 and rule.summary


def test_base64_found_at_every_alignment_in_random_blobs(canaries: tuple[Canary, Canary]) -> None:
    scanner = SecretScanner(canaries)
    for before in range(6):
        for after in range(4):
            raw = secrets.token_bytes(before) + canaries[1].value.encode() + secrets.token_bytes(
                after)
            for encoder in (base64.b64encode, base64.urlsafe_b64encode):
                blob = encoder(raw)
                found = scanner.scan([Artefact(location="x.txt", body=b"= " + blob + b"\n")])
                assert [(f.rule_id, f.canary) for f in found] == [
                    ("canary.base64", "webhook_secret")], (before, after)
