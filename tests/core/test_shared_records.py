"""The shared records every layer depends on: catalogue, money, redaction, public API."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

import conformance
from conformance.catalogue import QUESTIONS, SCENARIOS, scenario, scenarios_for
from conformance.money import format_money, parse_money
from conformance.redact import REDACTED, Redactor


def test_public_api_all_is_sorted() -> None:
    assert list(conformance.__all__) == sorted(conformance.__all__)
    for name in conformance.__all__:
        assert hasattr(conformance, name), name


def test_catalogue_matches_the_design_table() -> None:
    ids = [s.id for s in SCENARIOS]
    assert len(ids) == len(set(ids)) == 31
    assert {q.id for q in QUESTIONS} == {f"RQ{i}" for i in range(1, 7)}
    for question in QUESTIONS:
        assert scenarios_for(question.id), f"{question.id} has no scenario behind it"
    browser = {s.id for s in SCENARIOS if s.browser}
    assert browser == {
        "expiry.ui_disabled",
        "duplicates.double_click_ui",
        "secrets.browser_no_provider_calls",
        "screens.firm_on_intent",
        "screens.honest_status",
        "screens.from_discovery",
    }
    assert [s.id for s in SCENARIOS if s.advisory] == [
        "screens.firm_on_intent", "screens.honest_status", "screens.from_discovery",
        "ops.stuck_reserved_alert",
    ]


def test_unknown_scenario_id_is_named() -> None:
    with pytest.raises(KeyError, match="nope.nothing"):
        scenario("nope.nothing")


@pytest.mark.parametrize("value", [10.2, True, "1e3", "", "10,20", None, "--1"])
def test_parse_money_refuses_floats_and_garbage(value: object) -> None:
    with pytest.raises(ValueError):
        parse_money(value)


def test_money_is_exact_to_the_cent() -> None:
    total = sum((parse_money(v) for v in ["10.20", "16.40", "19.99"] * 40), Decimal(0))
    assert format_money(total) == "1863.60"
    assert format_money(Decimal("2.675")) == "2.68"
    assert format_money(Decimal("2.665")) == "2.66"


def test_redactor_replaces_secret_and_its_encodings() -> None:
    secret = "sk_test_abcdefghijklmnopqrstuvwx"
    redactor = Redactor([secret, "short"])
    encoded = base64.b64encode(secret.encode()).decode()
    text = f"key={secret} b64={encoded} hex={secret.encode().hex()}"
    out = redactor.text(text)
    assert secret not in out and encoded.rstrip("=") not in out
    assert secret.encode().hex() not in out
    assert out.count(REDACTED) == 3
    nested = redactor.data({"a": [secret, {"b": f"x{secret}y"}], secret: 1})
    assert secret not in repr(nested)
    assert "short" in redactor.text("short")  # too short to redact safely: left alone
