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


def test_the_driver_records_facts_and_makes_no_findings() -> None:
    """A finding is a decision: the deciders (checks/, scenarios/) make it, never the driver."""
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / "driver").rglob("*.py")
        for name in _imports(path)
        if name == "conformance.findings"
    }
    assert not offending, sorted(offending)


def test_scenarios_reach_the_simulator_only_through_the_provider_facade() -> None:
    """``checks/provider.py`` is the one typed view of the simulator for checks and scenarios."""
    scenarios = PACKAGE.parent / "scenarios"
    offending = sorted(
        f"{path.relative_to(PACKAGE.parent)}: {line.strip()}"
        for path in (*scenarios.glob("*.py"), *(PACKAGE / "checks").rglob("*.py"))
        for line in path.read_text().splitlines()
        if ".control." in line
    )
    assert not offending, offending
