"""`init`: a commented skeleton that fails only on its placeholders; proposals from OpenAPI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.commands.init import placeholder_problems, propose, skeleton
from conformance.driver.manifest import validation_errors

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "Kestrel Pay", "version": "1"},
    "paths": {
        "/ping": {"get": {"operationId": "health"}},
        "/hooks/zp": {"post": {"operationId": "webhook"}},
        "/orders": {"post": {"operationId": "createOrder", "responses": {"201": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Env"}}}}}}},
        "/orders/{id}/confirm": {"post": {"operationId": "confirmOrder"}},
        "/orders/{id}": {"get": {"operationId": "getOrder", "responses": {"200": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Env"}}}}}}},
        "/statement": {"get": {"summary": "the customer's statement"}},
        "/ops/sync": {"post": {"summary": "sync open trades"}},
    },
    "components": {"schemas": {
        "Env": {"type": "object", "properties": {"order": {"$ref": "#/components/schemas/O"}}},
        "O": {"type": "object", "properties": {
            "id": {"type": "string"}, "state": {"type": "string"},
            "quoteId": {"type": "string"}, "tradeId": {"type": "string"}}},
    }},
}


def test_the_skeleton_is_valid_toml_failing_only_on_placeholders() -> None:
    text = skeleton("TODO: name")
    data = tomllib.loads(text)
    assert validation_errors(data) == []
    problems = placeholder_problems(data)
    fields = {field for field, _ in problems}
    assert {"/start/env/port", "/start/command/0", "/provider/states/done/0",
            "/actions/create_quote/expect/order_ref", "/actions/ledger/items"} <= fields
    for section in ("[partner]", "[start]", "[start.env]", "[provider]", "[provider.states]",
                    "[accounts]", "[actions.create_quote]", "[actions.accept]",
                    "[actions.get_order]", "[actions.ledger]", "# [web]", "# [artefacts]",
                    "# [[waivers]]", "# [actions.login]", "# [provider.ledger]"):
        assert section in text, section


def test_doctor_lists_the_placeholders_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.toml"
    assert main(["init", "--out", str(out)]) == 0
    assert main(["init", "--out", str(out)]) == 2  # never overwrites without --force
    capsys.readouterr()
    assert main(["doctor", "--partner", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [line.strip() for line in err.splitlines()[1:]]
    assert lines and all("placeholder" in line for line in lines), lines
    assert lines == sorted(lines)


def test_routes_are_proposed_from_openapi(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proposals = propose(OPENAPI)
    assert {k: (r.method, r.path) for k, r in proposals.items()} == {
        "create_quote": ("POST", "/orders"), "accept": ("POST", "/orders/{id}/confirm"),
        "get_order": ("GET", "/orders/{id}"), "ledger": ("GET", "/statement"),
        "reconcile": ("POST", "/ops/sync"), "health": ("GET", "/ping"),
        "webhook": ("POST", "/hooks/zp"),
    }
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(OPENAPI))
    out = tmp_path / "m.toml"
    assert main(["init", "--out", str(out), "--from-openapi", str(spec)]) == 0
    assert "proposed accept" in capsys.readouterr().out
    data = tomllib.loads(out.read_text())
    assert validation_errors(data) == []
    assert data["partner"]["name"] == "Kestrel Pay"
    assert data["partner"]["health_path"] == "/ping"
    assert data["actions"]["accept"]["path"] == "/orders/{order_ref}/confirm"
    expect = data["actions"]["create_quote"]["expect"]
    assert expect["order_ref"] == "/order/id" and expect["quote_id"] == "/order/quoteId"
    assert expect["status"] == "/order/state"
    assert "to be confirmed" in out.read_text()


def test_a_missing_openapi_document_is_exit_2(tmp_path: Path) -> None:
    assert main(["init", "--out", str(tmp_path / "m.toml"),
                 "--from-openapi", str(tmp_path / "none.json")]) == 2


def test_list_shows_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.catalogue import SCENARIOS

    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["scenarios"]
    assert [r["id"] for r in rows] == [s.id for s in SCENARIOS]
    assert all(r["clause"] and r["needs"] for r in rows)
    assert {r["id"] for r in rows if r["browser"]} == {s.id for s in SCENARIOS if s.browser}
    assert main(["list"]) == 0
    assert "expiry.backend_transact" in capsys.readouterr().out
