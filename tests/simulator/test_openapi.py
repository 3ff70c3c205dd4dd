"""The simulator's OpenAPI document: valid, complete, honest about its assumptions, shipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from conformance.schemas import available_schemas, load_schema, validator
from conformance.schemas._api import API_SCHEMAS, api_schemas, load_openapi, render
from conformance.simulator import Simulator, SimulatorSettings

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "conformance" / "simulator" / "openapi.yaml"
MARK = "x-zeropools-assumption"
REGENERATE = "run: python -m conformance.schemas._api"

OPERATIONS = {
    ("get", "/pools", "listPools"),
    ("get", "/pools/{id}/capabilities", "getCapabilities"),
    ("get", "/pools/{id}/balance", "getBalance"),
    ("get", "/pools/funding", "getFunding"),
    ("post", "/pools/{id}/quote", "createQuote"),
    ("get", "/pools/quotes/{quoteId}", "getQuote"),
    ("post", "/pools/quotes/{quoteId}/reject", "rejectQuote"),
    ("post", "/pools/{id}/transact", "transact"),
    ("get", "/pools/transactions/{quoteId}", "getTransactionByQuote"),
    ("get", "/pools/trades/{transactId}", "getTrade"),
    ("get", "/pools/trades", "listTrades"),
    ("get", "/pools/ledger", "listLedger"),
}

# Every status DESIGN §2 and 0POOLS-API.md document per operation (5XX is on all of them).
STATUSES = {
    "listPools": {"200", "401", "403"},
    "getCapabilities": {"200", "401", "403", "404"},
    "getBalance": {"200", "401", "403", "404"},
    "getFunding": {"200", "400", "401", "403"},
    "createQuote": {"200", "400", "401", "403", "404"},
    "getQuote": {"200", "401", "403", "404"},
    "rejectQuote": {"200", "401", "403", "404", "409"},
    "transact": {"200", "400", "401", "402", "403", "404", "409", "429", "501"},
    "getTransactionByQuote": {"200", "401", "403", "404"},
    "getTrade": {"200", "401", "403", "404"},
    "listTrades": {"200", "400", "401", "403"},
    "listLedger": {"200", "400", "401", "403"},
}

# Where DESIGN §2 records a choice the documentation does not make: each place must say so.
ASSUMPTIONS = [
    "/components/schemas/QuoteRequest",  # request shape, amount/currency, unknown_fields
    "/components/schemas/QuoteRequest/properties/destAddress",
    "/paths/~1pools~1{id}~1quote/post",  # validation → 400 naming the field; TTL setting
    "/components/schemas/IndicativeQuote",
    "/components/schemas/UnavailableQuote",
    "/components/schemas/Quote",
    "/components/schemas/QuoteStatus",  # expired when now ≥ expiresAt
    "/paths/~1pools~1quotes~1{quoteId}~1reject/post",  # 200 with the quote
    "/paths/~1pools~1{id}~1transact/post",  # 200 trade, fingerprint, replay, consumed quote
    "/paths/~1pools~1{id}~1transact/post/parameters/1",  # missing key → 400
    "/components/schemas/TransactRequest",
    "/components/schemas/Trade",
    "/components/headers/IdempotentReplayed",
    "/components/headers/RetryAfter",
    "/components/responses/Conflict/content/application~1json/schema/allOf/1",
    "/components/responses/InsufficientBalance/content/application~1json/schema/allOf/1",
    "/components/responses/VelocityCap/content/application~1json/schema/allOf/1",
    "/components/responses/OffRampNotEnabled/content/application~1json/schema/allOf/1",
    "/components/responses/NotFound/content/application~1json/schema/allOf/1",
    "/components/schemas/LedgerEntry",  # debit at transact, refunds
    "/components/schemas/Ledger",
    "/components/schemas/TradeList",  # `trades`, ties keep creation order
    "/paths/~1pools~1trades/get/parameters/1",  # limit outside 1–100 → 400
    "/components/parameters/Cursor",
    "/paths/~1pools~1transactions~1{quoteId}/get",  # scripted outcomes, trade_not_found
    "/components/schemas/WebhookEvent",  # envelope, retries
    "/components/schemas/EventId",
    "/components/parameters/WebhookSignature",  # scheme setting, headers, real t
    "/components/securitySchemes/secretKey",  # live → key_mode_mismatch before lookup
    "/components/securitySchemes/publishableKey",  # publishable_key_not_allowed
    "/components/schemas/Error",  # type by status, doc_url null
    "/components/parameters/PoolId",  # 403 pool_not_allowed vs 404
    "/components/schemas/Balance/properties/balance",  # balance gate setting
    "/components/schemas/Capabilities",  # standalone defaults, deposit address
    "/paths/~1pools/get",
]


def _at(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.strip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def assumption_pointers(node: Any, pointer: str = "") -> dict[str, str]:
    """Every JSON pointer in the document that carries an assumption, with its text."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        if MARK in node:
            found[pointer] = node[MARK]
        for key, value in node.items():
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            found.update(assumption_pointers(value, f"{pointer}/{escaped}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.update(assumption_pointers(value, f"{pointer}/{index}"))
    return found


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return load_openapi()


def test_document_validates(document: dict[str, Any]) -> None:
    validate(document)


def test_document_identity(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "0Pools Partner API"
    assert document["info"]["version"] == "2026-05-25"
    urls = [server["url"] for server in document["servers"]]
    assert urls == [
        "http://127.0.0.1:{port}/v1",
        "https://pools-api-sandbox.0bit.app/v1",
        "https://pools-api.0bit.app/v1",
    ]


def test_every_operation_present(document: dict[str, Any]) -> None:
    found = {
        (method, path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert found == OPERATIONS


@pytest.mark.parametrize("operation_id", sorted(STATUSES))
def test_every_documented_status_with_envelope(
    document: dict[str, Any], operation_id: str
) -> None:
    method, path = next((m, p) for m, p, o in OPERATIONS if o == operation_id)
    operation = document["paths"][path][method]
    responses = operation["responses"]
    assert set(responses) == STATUSES[operation_id] | {"5XX"}
    for status, response in responses.items():
        if "$ref" in response:
            response = _at(document, response["$ref"].removeprefix("#"))
        header = response["headers"]["X-Request-Id"]
        assert _at(document, header["$ref"].removeprefix("#"))["required"] is True
        schema = response["content"]["application/json"]["schema"]
        if status != "200":
            refs = [schema.get("$ref")] + [part.get("$ref") for part in schema.get("allOf", [])]
            assert "#/components/schemas/Error" in refs, f"{operation_id} {status}"


def test_security(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert {name: (s["type"], s["scheme"]) for name, s in schemes.items()} == {
        "secretKey": ("http", "bearer"), "publishableKey": ("http", "bearer")}
    assert document["security"] == [{"secretKey": []}]
    for method, path, operation_id in OPERATIONS:
        operation = document["paths"][path][method]
        if operation_id == "listPools":
            assert operation["security"] == [{"publishableKey": []}, {"secretKey": []}]
        else:
            assert "security" not in operation, operation_id


def test_idempotency_key_only_on_transact(document: dict[str, Any]) -> None:
    for method, path, operation_id in OPERATIONS:
        params = document["paths"][path][method].get("parameters", [])
        headers = [p for p in params if p.get("in") == "header"]
        if operation_id == "transact":
            assert [(p["name"], p["required"]) for p in headers] == [("Idempotency-Key", True)]
        else:
            assert headers == [], operation_id


def test_every_assumption_marked(document: dict[str, Any]) -> None:
    marked = assumption_pointers(document)
    missing = [pointer for pointer in ASSUMPTIONS if pointer not in marked]
    assert missing == []
    for pointer, text in marked.items():
        assert isinstance(text, str) and 10 < len(text.strip()) < 900, pointer


def test_webhooks_documented(document: dict[str, Any]) -> None:
    assert set(document["webhooks"]) == {
        "pool.transaction.settled", "pool.transaction.failed", "pool.transaction.released"}
    body = document["webhooks"]["pool.transaction.failed"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookEvent"}


def test_api_schemas_match_openapi() -> None:
    folder = ROOT / "conformance" / "schemas" / "api"
    on_disk = {path.stem for path in folder.glob("*.json")}
    assert on_disk == set(API_SCHEMAS), REGENERATE
    for name, schema in api_schemas().items():
        text = (folder / f"{name}.json").read_text(encoding="utf-8")
        assert text == render(schema), f"api/{name}.json drifted: {REGENERATE}"


@pytest.mark.parametrize("name", sorted(f"api/{n}" for n in API_SCHEMAS))
def test_api_schema_files_are_valid(name: str) -> None:
    Draft202012Validator.check_schema(load_schema(name))
    assert validator(name).schema["$schema"].endswith("2020-12/schema")
    assert name in available_schemas()


def test_loader_names_the_problem() -> None:
    with pytest.raises(KeyError, match="no schema named 'api/nope'"):
        load_schema("api/nope")
    with pytest.raises(ValueError, match="not a path"):
        load_schema("../pyproject")


def test_wheel_ships_documents() -> None:
    from hatchling.builders.wheel import WheelBuilder

    shipped = {f.distribution_path for f in WheelBuilder(str(ROOT)).recurse_included_files()}
    assert "conformance/simulator/openapi.yaml" in shipped
    assert {f"conformance/schemas/api/{n}.json" for n in API_SCHEMAS} <= shipped


def test_served_document_equals_file() -> None:
    on_disk = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    with Simulator(SimulatorSettings()) as sim:
        answer = httpx.get(f"{sim.api_url}/openapi.json", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-request-id"].startswith("req_")
    assert answer.json() == on_disk
