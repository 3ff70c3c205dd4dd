"""No scenario holds a wait, limit, network or state name tuned to one partner (issue 10).

Every bound comes from :class:`conformance.driver.timings.Timings` (the manifest's declared
timings times one slack factor), limits and networks from what the simulator provisioned,
and states from the manifest's categories. This test reads the scenario modules' syntax
trees and fails on what would tie them to a partner.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from conformance.simulator.models import DOCUMENTED_NETWORKS

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("test_*.py"))
WAIT_WORDS = ("bound", "timeout", "ttl", "quiet", "interval", "delay", "wait")
# Names the harness itself gives meaning to: categories and the provider's trade statuses.
HARNESS_WORDS = {
    "open", "pending", "done", "refused", "unavailable", "failed", "returned",
    "settled", "released", "reserved", "expired",
}
LARGEST_PLAIN_NUMBER = 1000  # a larger literal is a limit or an amount: read it instead


def _partner_state_names() -> set[str]:
    names: set[str] = set()
    for manifest in (ROOT / "fixtures").glob("*/manifest*.toml"):
        states = tomllib.loads(manifest.read_text())["provider"]["states"]
        names.update(n for values in states.values() for n in values)
    return names - HARNESS_WORDS


def _number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_has_no_partner_tuned_constant(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    states = _partner_state_names()
    # Counts, not amounts: how often a fault repeats, how long a junk body is.
    counts = {
        id(k.value) for n in ast.walk(tree) if isinstance(n, ast.Call)
        for k in n.keywords if k.arg == "times"
    } | {
        id(side) for n in ast.walk(tree) if isinstance(n, ast.BinOp)
        and isinstance(n.op, ast.Mult) for side in (n.left, n.right)
    }
    problems: list[str] = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name.endswith("sleep"):
                problems.append(f"{where}: {name}() (observe instead of sleeping)")
            for keyword in node.keywords:
                arg = keyword.arg or ""
                if any(w in arg for w in WAIT_WORDS) and _number(keyword.value):
                    problems.append(f"{where}: {arg}={ast.unparse(keyword.value)} (use Timings)")
        if isinstance(node, ast.Assign) and _number(node.value):
            for target in node.targets:
                text = ast.unparse(target)
                if text.endswith(("_S", "_MS", "_SECONDS")):
                    problems.append(f"{where}: {text} = {ast.unparse(node.value)} (use Timings)")
        if isinstance(node, ast.Constant) and _number(node) and id(node) not in counts:
            if abs(node.value) >= LARGEST_PLAIN_NUMBER:
                problems.append(f"{where}: literal {node.value} (read limits from the simulator)")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in DOCUMENTED_NETWORKS:
                problems.append(f"{where}: network {node.value!r} (read capabilities)")
            if node.value in states:
                problems.append(f"{where}: partner state name {node.value!r} (use categories)")
    assert not problems, "\n".join(problems)


def test_every_scenario_declares_its_decisive_observations() -> None:
    for path in SCENARIOS:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not ast.unparse(node.func).endswith(
                "mark.threat"
            ):
                continue
            keywords = {k.arg for k in node.keywords}
            assert "observes" in keywords, f"{path.name}:{node.lineno} declares no observes"
