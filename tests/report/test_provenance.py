"""Rerun commands, the API version and the run's randomness, recorded honestly."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from report_runs import result, run
from signed_reports import ROOT, provenance

from conformance.cli import build_parser
from conformance.report import Provenance, write_report
from conformance.report.provenance import RANDOMNESS, api_version, rerun_command
from conformance.results import Status


def test_every_finding_carries_the_command_that_reruns_just_its_scenario(
    tmp_path: Path,
) -> None:
    failing = result("duplicates.timeout_retry", Status.FAIL, reason="two trades")
    write_report(run([failing]), tmp_path, provenance=provenance())
    document = json.loads((tmp_path / "report.json").read_text())
    entry = next(s for s in document["scenarios"] if s["id"] == "duplicates.timeout_retry")
    command = entry["findings"][0]["rerun"]
    assert command == entry["rerun"]
    assert command == (
        "zeropools-conformance certify --partner acme.toml --only duplicates.timeout_retry "
        '--out reports/acme-rerun --partner-env ACME_MODE="$ACME_MODE"'
    )
    fix = next(f for f in document["fixes"] if f["target"] == "duplicates.timeout_retry")
    assert fix["rerun"] == command
    assert command in (tmp_path / "summary.md").read_text()
    assert "Rerun just this" in (tmp_path / "report.html").read_text()


def test_the_rerun_command_parses_and_selects_one_scenario() -> None:
    command = rerun_command(provenance(), "expiry.boundary")
    argv = shlex.split(command.split(" --partner-env")[0])[1:]
    args = build_parser().parse_args(argv)
    assert args.only == ["expiry.boundary"] and str(args.partner) == "acme.toml"
    bundled = rerun_command(Provenance(out_arg="out"), "expiry.boundary")
    assert "--partner" not in bundled and bundled.endswith("--out out-rerun")
    odd = rerun_command(
        Provenance(manifest_arg="my dir/p.toml", out_arg="o"), "ledger.out_of_order"
    )
    assert shlex.split(odd)[3] == "my dir/p.toml"


def test_the_api_version_is_the_simulators() -> None:
    text = (ROOT / "conformance" / "simulator" / "openapi.yaml").read_text()
    assert f'version: "{api_version()}"' in text and api_version() == "2026-05-25"


def test_the_recorded_randomness_matches_the_code() -> None:
    """If a scenario gains a seeded or unseeded random choice, RANDOMNESS must say so."""
    robustness = (ROOT / "scenarios" / "test_robustness.py").read_text()
    assert "derandomize=True" in robustness and "database=None" in robustness
    assert RANDOMNESS["seed"] is None and RANDOMNESS["hypothesis"]["derandomize"] is True
    sources = [*(ROOT / "conformance").rglob("*.py"), *(ROOT / "scenarios").rglob("*.py")]
    seeded = [p.relative_to(ROOT).as_posix() for p in sources
              if re.search(r"^\s*(import random|from random )", p.read_text(), re.M)]
    # Each use of the random module is named, with where its seed comes from, in RANDOMNESS.
    unrecorded = [name for name in seeded if name not in RANDOMNESS["random_ids"]]
    assert unrecorded == [], f"uses the random module (seedable): record it: {unrecorded}"
    users = {p.name for p in sources if "@given" in p.read_text()}
    assert users <= {"test_robustness.py"}, users


def test_the_hypothesis_profile_is_recorded_and_in_the_property_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEROPOOLS_HYPOTHESIS_PROFILE", "thorough")
    write_report(run(), tmp_path, provenance=provenance())
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["randomness"]["hypothesis"]["profile"] == "thorough"
    by_id = {s["id"]: s for s in document["scenarios"]}
    assert by_id["robustness.bad_input"]["rerun"].startswith(
        "ZEROPOOLS_HYPOTHESIS_PROFILE=thorough zeropools-conformance certify"
    )
    assert by_id["expiry.boundary"]["rerun"].startswith("zeropools-conformance certify")
