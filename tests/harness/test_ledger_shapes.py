"""Ledgers as finance teams keep them: a minor-units book and a double-entry book certify.

The reference partner switched to each shape by configuration (its two extra manifests)
passes the ledger, trace, settlement and reconciliation scenarios; each shape's own flaw
fails the scenarios that read that shape (as the detection matrix does for the others).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from conformance.driver.manifest import load_manifest, manifest_from_data
from conformance.errors import ManifestError
from conformance.report.verdict import decide
from conformance.results import Status
from conformance.runner import run_catalogue

PARTNER = Path(__file__).resolve().parents[2] / "fixtures" / "reference_partner"
MINOR_UNITS = PARTNER / "manifest.minor_units.toml"
DOUBLE_ENTRY = PARTNER / "manifest.double_entry.toml"
SHAPES = [
    pytest.param(MINOR_UNITS, id="minor-units"),
    pytest.param(DOUBLE_ENTRY, id="double-entry"),
]


def test_the_shape_manifests_declare_their_books() -> None:
    minor = load_manifest(MINOR_UNITS)
    assert minor.provider.ledger.amount == "minor_units" and not minor.provider.ledger.double_entry
    assert minor.actions["ledger"].item["exponent"] == "/exponent"
    assert minor.start is not None
    assert minor.start.extra_env["REFERENCE_PARTNER_LEDGER_STYLE"] == "minor_units"
    double = load_manifest(DOUBLE_ENTRY)
    assert double.provider.ledger.customer_accounts == ("customer_wallets",)
    assert double.provider.reversal == "negative_amount"
    assert double.actions["ledger"].item["account"] == "/account"
    assert double.start is not None
    assert double.start.extra_env["REFERENCE_PARTNER_LEDGER_STYLE"] == "double_entry"


@pytest.mark.parametrize(
    ("manifest", "drop", "field"),
    [
        pytest.param(MINOR_UNITS, "exponent", "/provider/ledger/exponent", id="no-exponent"),
        pytest.param(DOUBLE_ENTRY, "account", "/actions/ledger/item/account", id="no-account"),
    ],
)
def test_a_shape_without_its_mapping_names_the_field(
    manifest: Path, drop: str, field: str
) -> None:
    data: dict[str, Any] = tomllib.loads(manifest.read_text())
    del data["actions"]["ledger"]["item"][drop]
    with pytest.raises(ManifestError) as info:
        manifest_from_data(data, path=manifest)
    assert field in str(info.value)


@pytest.mark.parametrize("manifest", SHAPES)
def test_a_correct_book_of_each_shape_certifies_ready(manifest: Path) -> None:
    run = run_catalogue(manifest=manifest)
    failed = {r.scenario_id: (r.status.value, r.reason) for r in run.scenarios
              if r.status is not Status.PASS}
    assert not failed
    assert decide(run).ready


@pytest.mark.parametrize(
    ("manifest", "flaw", "expected"),
    [
        pytest.param(
            MINOR_UNITS, "minor_units_wrong_exponent",
            ("ledger.no_credit_on_reserved", "recon.daily_close"), id="minor_units_wrong_exponent",
        ),
        pytest.param(
            DOUBLE_ENTRY, "unbalanced_double_entry", ("recon.daily_close",),
            id="unbalanced_double_entry",
        ),
    ],
)
def test_a_shape_flaw_fails_its_scenarios(
    manifest: Path, flaw: str, expected: tuple[str, ...]
) -> None:
    run = run_catalogue(
        manifest=manifest, only=expected, partner_env={"REFERENCE_PARTNER_FLAWS": flaw}
    )
    by_id = {r.scenario_id: r for r in run.scenarios}
    for scenario_id in expected:
        result = by_id[scenario_id]
        assert result.status is Status.FAIL, (scenario_id, result.status, result.reason)
        assert result.findings and result.reason, scenario_id
    assert all(r.status is Status.SKIPPED for r in run.scenarios if r.scenario_id not in expected)


def test_the_unbalanced_book_is_reported_per_trade_with_order_and_event() -> None:
    run = run_catalogue(
        manifest=DOUBLE_ENTRY, only=("recon.daily_close",),
        partner_env={"REFERENCE_PARTNER_FLAWS": "unbalanced_double_entry"},
    )
    result = next(r for r in run.scenarios if r.scenario_id == "recon.daily_close")
    assert result.evidence is not None
    rows = [row for name, table in result.evidence.tables if name == "drift" for row in table]
    unbalanced = [row for row in rows if row["problem"] == "unbalanced"]
    assert unbalanced, rows
    assert {row["provider_status"] for row in unbalanced} == {"returned"}
    for row in unbalanced:
        assert row["order_ref"] and row["transact_id"] and row["event_id"], row
    assert all(row["problem"] == "unbalanced" for row in rows), rows  # the customer side is right
