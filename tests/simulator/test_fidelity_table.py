"""FIDELITY.md cannot rot: every cited test exists, and its assumptions match openapi.yaml."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from test_openapi import assumption_pointers

from conformance.schemas._api import load_openapi

ROOT = Path(__file__).resolve().parents[2]
FIDELITY = ROOT / "FIDELITY.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")
SOURCE = re.compile(r"\]\((https://0bit-docs\.pages\.dev/[^)\s]+)\)")


def _sections() -> tuple[str, str]:
    text = FIDELITY.read_text(encoding="utf-8")
    rules, _, assumptions = text.partition("## Assumptions")
    assert assumptions, "FIDELITY.md has no Assumptions section"
    return rules, assumptions


def _rule_rows(rules: str) -> list[str]:
    return [line for line in rules.splitlines() if re.match(r"^\| \d+ \|", line)]


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        node.name for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_rule_has_a_source_and_an_existing_test() -> None:
    rules, _ = _sections()
    rows = _rule_rows(rules)
    assert len(rows) >= 40
    numbers = [int(row.split("|")[1]) for row in rows]
    assert numbers == list(range(1, len(rows) + 1))
    for row in rows:
        assert SOURCE.search(row), f"no source URL: {row[:80]}"
        refs = TEST_REF.findall(row)
        assert refs, f"no test cited: {row[:80]}"
        for file, name in refs:
            path = ROOT / file
            assert path.is_file(), f"{file} does not exist"
            assert name in _test_functions(path), f"{file}::{name} does not exist"


def test_assumptions_match_the_document() -> None:
    _, assumptions = _sections()
    listed = set(re.findall(r"^\| `(/[^`]+)` \|", assumptions, flags=re.MULTILINE))
    marked = set(assumption_pointers(load_openapi()))
    assert listed - marked == set(), "FIDELITY.md lists assumptions the document lacks"
    assert marked - listed == set(), "openapi.yaml marks assumptions FIDELITY.md lacks"


def test_table_parser_sees_a_missing_test(tmp_path: Path) -> None:
    fake = tmp_path / "test_fake.py"
    fake.write_text("def test_present():\n    pass\n", encoding="utf-8")
    assert _test_functions(fake) == {"test_present"}
    assert TEST_REF.findall("`tests/simulator/x.py::test_a[p-1]`") == [
        ("tests/simulator/x.py", "test_a")]
