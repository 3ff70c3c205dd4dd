"""Derive the ``api/*.json`` schemas from the simulator's OpenAPI document, the one source.

The OpenAPI document (``conformance/simulator/openapi.yaml``) is what partners read and
what the simulator serves; the JSON Schema files mirror its components so code that does
not speak OpenAPI can validate the same objects. ``python -m conformance.schemas._api``
rewrites them; a test fails when they drift.
"""

from __future__ import annotations

import copy
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:zeropools-conformance:schemas:api:"
_COMPONENT_REF = "#/components/schemas/"

#: schema file name (under ``api/``) → OpenAPI component it mirrors
API_SCHEMAS: dict[str, str] = {
    "balance": "Balance",
    "capabilities": "Capabilities",
    "error": "Error",
    "event": "WebhookEvent",
    "funding": "Funding",
    "ledger": "Ledger",
    "ledger_entry": "LedgerEntry",
    "pool": "Pool",
    "pool_list": "PoolList",
    "quote": "Quote",
    "quote_indicative": "IndicativeQuote",
    "quote_request": "QuoteRequest",
    "quote_unavailable": "UnavailableQuote",
    "trade": "Trade",
    "trade_list": "TradeList",
    "transact_request": "TransactRequest",
}


def load_openapi() -> dict[str, Any]:
    """The simulator's OpenAPI document, read from the installed package."""
    text = resources.files("conformance").joinpath("simulator", "openapi.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise ValueError("openapi.yaml is not a mapping")
    return document


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
            found.add(ref.removeprefix(_COMPONENT_REF))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _rewrite(value) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
            out["$ref"] = "#/$defs/" + ref.removeprefix(_COMPONENT_REF)
        return out
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    return node


def component_schema(document: dict[str, Any], component: str, name: str) -> dict[str, Any]:
    """One component as a self-contained draft 2020-12 schema (dependencies in ``$defs``)."""
    components: dict[str, Any] = document["components"]["schemas"]
    if component not in components:
        raise KeyError(f"openapi.yaml has no components.schemas.{component}")
    needed: set[str] = set()
    todo = sorted(_refs(components[component]))
    while todo:
        current = todo.pop()
        if current in needed or current == component:
            continue
        needed.add(current)
        todo.extend(sorted(_refs(components[current])))
    body = _rewrite(copy.deepcopy(components[component]))
    schema: dict[str, Any] = {"$schema": DIALECT, "$id": ID_PREFIX + name, "title": component}
    schema.update(body)
    if needed:
        schema["$defs"] = {key: _rewrite(components[key]) for key in sorted(needed)}
    return schema


def api_schemas(document: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Every ``api/<name>.json`` schema as derived from the OpenAPI document."""
    source = load_openapi() if document is None else document
    return {name: component_schema(source, comp, name) for name, comp in API_SCHEMAS.items()}


def render(schema: dict[str, Any]) -> str:
    """The exact bytes written to disk, so the drift test compares text."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite ``conformance/schemas/api/*.json`` next to this module."""
    target = Path(__file__).resolve().parent / "api"
    target.mkdir(exist_ok=True)
    for name, schema in api_schemas().items():
        (target / f"{name}.json").write_text(render(schema), encoding="utf-8")
        print(f"wrote {target / (name + '.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
