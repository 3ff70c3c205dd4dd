"""The layers of ARCHITECTURE.md hold: producers never import deciders or consumers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
PRODUCERS = ("simulator", "driver", "scan")
DECIDERS_AND_CONSUMERS = (
    "conformance.checks",
    "conformance.report",
    "conformance.plugin",
    "conformance.runner",
    "conformance.cli",
    "conformance.commands",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", PRODUCERS)
def test_producers_never_import_deciders_or_consumers(layer: str) -> None:
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        for name in _imports(path)
        if name.startswith(DECIDERS_AND_CONSUMERS)
    }
    assert not offending, sorted(offending)


def test_the_report_does_not_drive_partners() -> None:
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / "report").rglob("*.py")
        for name in _imports(path)
        if name.startswith(("conformance.simulator", "conformance.driver", "conformance.checks"))
    }
    assert not offending, sorted(offending)
