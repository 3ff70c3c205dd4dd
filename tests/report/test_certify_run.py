"""Real certify runs of the bundled reference partner: the README's main command, end to end.

No stand-ins: the real simulator, the real partner process, the real browser.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.redact import Redactor
from conformance.report import REPORT_FILES
from conformance.report.document import validate
from conformance.sarif import TOOL_NAME

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def run_secrets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every secret the run registers for redaction (recorded, behaviour unchanged)."""
    seen: list[str] = []
    original = Redactor.add

    def add(self: Redactor, secret: str | None) -> None:
        if secret:
            seen.append(secret)
        original(self, secret)

    monkeypatch.setattr(Redactor, "add", add)
    return seen


def _files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


def test_flawless_reference_partner_certifies_ready(
    tmp_path: Path, run_secrets: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "summary.md").write_text("stale from an earlier run")
    (out / "secrets.sarif").write_text("stale")

    assert main(["keygen", "--out", str(tmp_path / "keys")]) == 0
    key = tmp_path / "keys" / "zeropools-signing.key.pem"
    public = tmp_path / "keys" / "zeropools-signing.pub.pem"
    capsys.readouterr()
    assert main(["certify", "--out", str(out), "--signing-key", str(key),
                 "--partner-build", "lumen-1.0"]) == 0

    terminal = capsys.readouterr()
    assert "verdict: READY" in terminal.out
    progress = [line for line in terminal.out.splitlines() if line.startswith("[")]
    assert len(progress) == 31 and all(" PASS " in line for line in progress), progress
    assert not any(line.strip(".") == "" and line for line in terminal.out.splitlines())

    signed = {"partner-manifest.toml", "statement.json", "statement.sig"}
    assert {p.name for p in out.iterdir() if p.is_file()} == set(REPORT_FILES) | signed
    document = json.loads((out / "report.json").read_text())
    validate(document)
    assert document["verdict"] == "ready" and document["exit_code"] == 0
    assert [q["answer"] for q in document["questions"]] == ["no"] * 4 + ["yes"] * 2
    assert {s["status"] for s in document["scenarios"]} == {"pass"}
    shots = [s for sc in document["scenarios"] for s in sc["evidence"]["screenshots"]]
    assert shots and all((out / s["path"]).is_file() for s in shots)
    sarif = json.loads((out / "secrets.sarif").read_text())
    assert sarif["runs"][0]["tool"]["driver"]["name"] == TOOL_NAME
    assert "stale" not in (out / "summary.md").read_text()

    # No canary secret (the run's keys and webhook secret) in any file or terminal line.
    canaries = {s for s in run_secrets if s.startswith(("sk_", "pk_", "whsec_"))}
    assert any(s.startswith("sk_test_") for s in canaries)
    assert any(s.startswith("whsec_") for s in canaries)
    for path in _files(out):
        data = path.read_bytes()
        for secret in canaries:
            assert secret.encode() not in data, f"{secret[:6]}… found in {path.name}"
    for secret in canaries:
        assert secret not in terminal.out and secret not in terminal.err

    # verify: passes as written; one byte changed in any file (the signature included)
    # makes it fail, naming the file.
    assert main(["verify", str(out)]) == 0
    checked = ["verify", str(out), "--public-key", str(public)]
    for path in _files(out):
        original = path.read_bytes()
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 0x01]))
        assert main(checked) == 1, path.name
        assert path.name in capsys.readouterr().out
        path.write_bytes(original)
    assert main(checked) == 0

    # Signed, packaged, and verified as the reviewer would.
    assert document["partner_build"] == "lumen-1.0"
    assert main(["verify", str(out), "--public-key", str(public)]) == 0
    package = tmp_path / "lumen.zip"
    assert main(["package", str(out), "--out", str(package)]) == 0
    assert main(["verify", str(package), "--public-key", str(public)]) == 0


def test_blocking_flaw_certifies_blocked_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code = main([
        "certify", "--out", str(out), "--only", "ledger.no_credit_on_reserved",
        "--partner-env", "REFERENCE_PARTNER_FLAWS=credit_on_reserved",
    ])
    assert code == 1
    assert "verdict: BLOCKED" in capsys.readouterr().out
    document = json.loads((out / "report.json").read_text())
    validate(document)
    rq4 = next(q for q in document["questions"] if q["id"] == "RQ4")
    assert rq4["answer"] == "yes" and rq4["blocks"] is True
    failing = next(s for s in document["scenarios"] if s["id"] == "ledger.no_credit_on_reserved")
    assert failing["status"] == "fail" and failing["reason"]
    summary = (out / "summary.md").read_text()
    assert "BLOCKED" in summary and failing["reason"][:60] in summary
    assert main(["verify", str(out)]) == 0


def test_bad_manifest_is_exit_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "partner.toml"
    manifest.write_text('[partner]\nname = "acme"\n[provider]\nledger_amount = "amount"\n')
    assert main(["certify", "--partner", str(manifest), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "/provider/ledger_amount" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "report.json").exists()


def test_malformed_partner_env_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certify", "--out", str(tmp_path), "--partner-env", "NOEQUALS"]) == 2
    assert "NOEQUALS" in capsys.readouterr().err


def test_partner_that_never_comes_up_is_exit_2_with_the_report_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = Path(__file__).resolve().parents[2] / "fixtures" / "reference_partner"
    text = (reference / "manifest.toml").read_text()
    head, _, rest = text.partition("[start]")
    start = (
        '[start]\ncommand = ["{python}", "-c", "raise SystemExit(3)"]\n'
        "startup_timeout_seconds = 5\n"
        '[start.env]\nbase_url = "B"\nsecret_key = "S"\nwebhook_secret = "W"\nport = "P"\n\n'
    )
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(head + start + rest[rest.index("[provider]"):])
    out = tmp_path / "report"
    assert main(["certify", "--partner", str(manifest), "--out", str(out),
                 "--only", "guards"]) == 2
    assert "verdict: BLOCKED (exit 2)" in capsys.readouterr().out
    document = json.loads((out / "report.json").read_text())
    validate(document)
    assert document["exit_code"] == 2 and document["verdict"] == "blocked"
    guards = [s for s in document["scenarios"] if s["id"].startswith("guards.")]
    assert guards and all(s["status"] == "error" for s in guards)
    assert "PartnerUnreachable" in guards[0]["reason"]
    assert "could not decide" in (out / "summary.md").read_text()
    assert "the harness could not decide" in (out / "report.html").read_text()
    assert main(["verify", str(out)]) == 0
