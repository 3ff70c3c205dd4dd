"""`doctor`: the happy path walked once, with a one-screen diagnosis naming the field.

Also certify's preflight (stops early, exit 2, with the diagnosis) and manifest errors
(deduplicated, one per line, sorted by field, before anything is announced).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.checks.preflight import run_preflight
from conformance.cli import main
from conformance.driver.manifest import load_manifest, manifest_from_data, parse_text
from conformance.errors import ManifestError
from conformance.redact import Redactor

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
KESTREL = FIXTURES / "second_partner" / "manifest.toml"
BUNDLED = [
    pytest.param(FIXTURES / "reference_partner" / "manifest.toml", id="reference"),
    pytest.param(FIXTURES / "reference_partner" / "manifest.minor_units.toml", id="minor-units"),
    pytest.param(FIXTURES / "reference_partner" / "manifest.double_entry.toml",
                 id="double-entry"),
    pytest.param(KESTREL, id="second"),
    pytest.param(FIXTURES / "third_partner" / "manifest.toml", id="third-node",
                 marks=pytest.mark.skipif(shutil.which("node") is None, reason="no node")),
]


def broken(tmp_path: Path, old: str, new: str) -> Path:
    """Kestrel Pay's manifest with one deliberate mistake, started from its own directory."""
    text = KESTREL.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new).replace('cwd = "."', f"cwd = {str(KESTREL.parent)!r}")
    path = tmp_path / "manifest.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.timeout(120)
@pytest.mark.parametrize("manifest", BUNDLED)
def test_the_happy_path_works_for_every_bundled_partner(manifest: Path) -> None:
    result = run_preflight(load_manifest(manifest), redactor=Redactor())
    assert result.ok, [p.line() for p in result.problems]
    actions = [s.action for s in result.steps]
    assert actions[:2] in (["create_quote", "accept"], ["login", "create_quote"])
    assert {"get_order", "ledger"} <= set(actions)
    ledger = next(s for s in result.steps if s.action == "ledger")
    assert ledger.reads and "amount" in str(ledger.reads[0].value)


@pytest.mark.timeout(60)
def test_doctor_shows_requests_answers_and_reads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--partner", str(KESTREL)]) == 0
    out = capsys.readouterr().out
    assert "→ POST http://127.0.0.1:" in out and "/orders" in out
    assert "← HTTP 201" in out
    assert "read /actions/create_quote/expect/quote_id at /order/provider/quote = pq_test_" in out
    assert "happy path: OK" in out
    assert "sk_test_" not in out and "whsec_" not in out


@pytest.mark.timeout(60)
def test_a_wrong_pointer_names_the_field_and_where_the_value_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = broken(tmp_path, 'quote_id = "/order/provider/quote", status = "/order/state" }',
                      'quote_id = "/order/quote/id", status = "/order/state" }')
    assert main(["doctor", "--partner", str(manifest), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert ("/actions/create_quote/expect/quote_id: read nothing at `/order/quote/id`; "
            "the answer has `/order/provider/quote` = pq_test_") in out
    assert len(out.splitlines()) < 25  # one screen


@pytest.mark.timeout(60)
def test_a_wrong_state_name_names_provider_states(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = broken(tmp_path, 'done = ["completed"]', 'done = ["complete"]')
    assert main(["doctor", "--partner", str(manifest), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "/provider/states: the order's status `completed` is in none of [provider.states]" in out


@pytest.mark.timeout(60)
def test_a_wrong_env_var_name_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = broken(tmp_path, 'secret_key = "ZP_KEY"', 'secret_key = "ZP_SECRET_KEY"')
    assert main(["doctor", "--partner", str(manifest), "--quiet"]) == 2
    out = capsys.readouterr().out
    assert "/start/env/secret_key:" in out and "$ZP_KEY" in out and "$ZP_SECRET_KEY" in out


@pytest.mark.timeout(90)
def test_a_wrong_ledger_pointer_says_where_the_entry_names_the_trade(tmp_path: Path) -> None:
    manifest = broken(tmp_path, 'transact_id = "/trade", order_ref = "/order"',
                      'transact_id = "/tradeId"')
    result = run_preflight(load_manifest(manifest), redactor=Redactor())
    assert not result.ok
    problem = result.problems[0]
    assert problem.field == "/actions/ledger/item/transact_id"
    assert "the ledger has no posting for trade txn_test_" in problem.message
    assert "an entry names it at `/lines/0/trade`" in problem.message


@pytest.mark.timeout(120)
def test_certify_stops_at_the_preflight_with_its_diagnosis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = broken(tmp_path, 'done = ["completed"]', 'done = ["complete"]')
    out = tmp_path / "report"
    assert main(["certify", "--partner", str(manifest), "--out", str(out)]) == 2
    printed = capsys.readouterr().out
    assert "preflight: stopping before the scenarios" in printed
    assert "/provider/states" in printed and "[ 1/" not in printed
    document = json.loads((out / "report.json").read_text())
    errors = [s for s in document["scenarios"] if s["status"] == "error"]
    assert errors and all("preflight" in s["reason"] for s in errors)
    assert document["exit_code"] == 2


def test_manifest_errors_are_deduplicated_sorted_one_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = parse_text('[partner]\nname = "acme"\n[provider]\nledger_amount = "amount"\n'
                      '[actions.create_quote]\nmethod = "POST"\n')
    with pytest.raises(ManifestError) as info:
        manifest_from_data(data, path=tmp_path / "bad.toml")
    lines = str(info.value).splitlines()[1:]
    fields = [line.strip().split(":", 1)[0] for line in lines]
    assert fields == sorted(fields) and len(set(lines)) == len(lines)
    assert "/actions/accept" in fields and "/provider/ledger_amount" in fields
    assert info.value.field == fields[0]
    bad = tmp_path / "bad.toml"
    bad.write_text('[partner]\nname = "acme"\n[provider]\nledger_amount = "amount"\n')
    assert main(["certify", "--partner", str(bad), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "certifying" not in captured.out  # nothing announced before validation
    assert captured.err.count("/provider/timeout_seconds: is required") == 1
