"""The JSON Schemas the package ships, loaded by name so every part validates alike.

A name is the file's path under this package without ``.json``: ``"api/quote"``,
``"api/error"``, ``"report.schema"`` (``"report"`` finds ``report.schema.json`` too).
Every schema is draft 2020-12; the ``api/`` ones are self-contained (references point
into their own ``$defs``), so one file is one validator.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

__all__ = ["available_schemas", "load_schema", "validator"]

_PACKAGE = "conformance.schemas"


def _normalise(name: str) -> str:
    clean = name.strip().removesuffix(".json").strip("/")
    parts = clean.split("/")
    if not clean or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"schema name {name!r} is not a path under conformance/schemas")
    return clean


@cache
def _load(name: str) -> str:
    root = resources.files(_PACKAGE)
    for candidate in (f"{name}.json", f"{name}.schema.json"):
        resource = root.joinpath(*candidate.split("/"))
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    known = ", ".join(available_schemas()) or "none"
    raise KeyError(f"no schema named {name!r} (known: {known})")


def load_schema(name: str) -> dict[str, Any]:
    """A fresh copy of the named schema, so callers may change it without harm."""
    schema = json.loads(_load(_normalise(name)))
    if not isinstance(schema, dict):
        raise ValueError(f"schema {name!r} is not a JSON object")
    return schema


@cache
def validator(name: str) -> Draft202012Validator:
    """A checked draft 2020-12 validator for the named schema, with format checking on."""
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def available_schemas() -> tuple[str, ...]:
    """Every schema name the package ships, sorted."""
    names: list[str] = []
    root = resources.files(_PACKAGE)
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        for entry in folder.iterdir():
            if entry.is_dir() and not entry.name.startswith(("_", ".")):
                stack.append((f"{prefix}{entry.name}/", entry))
            elif entry.name.endswith(".json"):
                names.append(prefix + entry.name.removesuffix(".json"))
    return tuple(sorted(names))
