"""keygen, certify's signed statement, and ``verify --public-key``: every changed byte is named."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from report_runs import run
from signed_reports import REFERENCE_MANIFEST, keys, signed_report

from conformance.cli import main
from conformance.report import write_report
from conformance.report.hashes import MANIFEST_NAME, sha256_file, write_manifest
from conformance.report.signing import (
    PRIVATE_KEY_NAME,
    PUBLIC_KEY_NAME,
    canonical,
    generate_keys,
    load_private_key,
    sign_report,
)


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    key, _, public = keys(tmp_path / "keys")
    return signed_report(tmp_path / "report", key), public


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_keygen_writes_a_private_key_only_its_owner_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "key id: ed25519:" in out
    private = tmp_path / PRIVATE_KEY_NAME
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes()
    assert b"PUBLIC KEY" in (tmp_path / PUBLIC_KEY_NAME).read_bytes()
    before = private.read_bytes()
    assert main(["keygen", "--out", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err and private.read_bytes() == before
    assert main(["keygen", "--out", str(tmp_path), "--force"]) == 0
    assert private.read_bytes() != before


def test_an_untouched_signed_report_verifies(
    signed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    report, public = signed
    assert main(["verify", str(report), "--public-key", str(public)]) == 0
    out = capsys.readouterr().out
    assert "signature by ed25519:" in out and "verifies" in out
    assert "build 9f1c2ab" in out and "0Pools API 2026-05-25" in out


def test_the_statement_binds_what_the_issue_lists(signed: tuple[Path, Path]) -> None:
    report, _ = signed
    statement = json.loads((report / "statement.json").read_text())
    document = json.loads((report / "report.json").read_text())
    assert statement["partner_build"] == document["partner_build"] == "9f1c2ab"
    assert statement["harness_version"] == document["harness_version"]
    assert statement["catalogue_version"] == document["catalogue_version"]
    assert statement["api_version"] == document["api_version"] == "2026-05-25"
    assert statement["started_at"] == document["run"]["started_at"]
    assert statement["finished_at"] == document["run"]["finished_at"]
    assert statement["randomness"] == document["randomness"]
    assert statement["randomness"]["seed"] is None
    signed_at = datetime.fromisoformat(statement["signed_at"])
    assert datetime.fromisoformat(statement["expires_at"]) - signed_at == timedelta(days=90)
    # Every file, the manifest.sha256 and the manifest used included, by digest.
    bound = statement["files"]
    assert sorted(bound) == [n for n in _files(report) if not n.startswith("statement.")]
    assert {MANIFEST_NAME, "partner-manifest.toml", "screenshots/expiry-after.png"} <= set(bound)
    assert all(bound[name] == sha256_file(report / name) for name in bound)
    manifest = statement["partner_manifest"]
    assert manifest["sha256"] == sha256_file(REFERENCE_MANIFEST) == bound["partner-manifest.toml"]
    assert manifest["given_as"] == "acme.toml"
    # The exact bytes signed are the canonical form of the statement.
    assert (report / "statement.json").read_bytes() == canonical(statement)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_any_changed_byte_fails_and_names_the_file(
    signed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    report, public = signed
    names = _files(report)
    assert {"statement.json", "statement.sig", MANIFEST_NAME, "report.json"} <= set(names)
    for name in names:
        original = (report / name).read_bytes()
        _flip(report / name)
        assert main(["verify", str(report), "--public-key", str(public)]) == 1, name
        out = capsys.readouterr().out
        assert name in out and "FAILED" in out, (name, out)
        (report / name).write_bytes(original)
    assert main(["verify", str(report), "--public-key", str(public)]) == 0


def test_an_edit_with_a_recomputed_manifest_is_caught(
    signed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    report, public = signed
    document = json.loads((report / "report.json").read_text())
    document["verdict_reasons"] = []
    (report / "report.json").write_text(json.dumps(document))
    write_manifest(report)
    capsys.readouterr()
    # sha256sum-style hashes alone are satisfied by the recomputed manifest...
    from conformance.report.hashes import verify as hashes_only

    assert hashes_only(report).ok
    # ...the signed statement is not.
    assert main(["verify", str(report), "--public-key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "changed: report.json (differs from the signed statement)" in out
    assert "changed: manifest.sha256 (differs from the signed statement)" in out
    # Without the public key the statement's digests still catch it.
    assert main(["verify", str(report)]) == 1


def test_a_statement_re_signed_with_another_key_fails(
    signed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, public = signed
    other, _, _ = keys(tmp_path / "other")
    (report / "report.json").write_text((report / "report.json").read_text() + " ")
    write_manifest(report)
    sign_report(report, other)  # a forger's complete, self-consistent re-signature
    capsys.readouterr()
    assert main(["verify", str(report), "--public-key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "signature: statement.json / statement.sig" in out and "it names key" in out


def test_added_and_removed_files_are_named(
    signed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    report, public = signed
    (report / "extra.txt").write_text("hello")
    (report / "statement.sig").unlink()
    assert main(["verify", str(report), "--public-key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "not in the manifest: extra.txt" in out
    assert "missing: statement.sig" in out


def test_an_expired_statement_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _, public = keys(tmp_path / "keys")
    long_ago = datetime.now(UTC) - timedelta(days=31)
    report = signed_report(tmp_path / "report", key, now=long_ago, valid_days=30)
    assert main(["verify", str(report), "--public-key", str(public)]) == 1
    assert "expired: statement.json" in capsys.readouterr().out


def test_an_unsigned_report_verifies_its_hashes_and_says_unsigned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, public = keys(tmp_path / "keys")
    report = tmp_path / "report"
    write_report(run(), report)
    assert main(["verify", str(report)]) == 0
    assert "unsigned" in capsys.readouterr().out
    assert main(["verify", str(report), "--public-key", str(public)]) == 1
    assert "not signed: statement.json" in capsys.readouterr().out


def test_openssl_checks_the_signature_without_the_harness(signed: tuple[Path, Path]) -> None:
    report, public = signed
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    done = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin",
         "-in", "statement.json", "-sigfile", "statement.sig"],
        cwd=report, capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode == 0 and "Verified Successfully" in done.stdout, done.stderr


def test_a_bad_signing_key_stops_certify_before_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "key.pem"
    bad.write_text("not a key")
    out = tmp_path / "out"
    assert main(["certify", "--out", str(out), "--signing-key", str(bad)]) == 2
    assert "not an unencrypted PEM private key" in capsys.readouterr().err
    assert not (out / "report.json").exists()
    _, public_path, _ = generate_keys(tmp_path / "keys")
    assert main(["certify", "--out", str(out), "--signing-key", str(public_path)]) == 2


def test_a_public_key_that_is_not_one_is_exit_2(
    signed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, _ = signed
    private = tmp_path / "keys" / PRIVATE_KEY_NAME
    load_private_key(private)
    assert main(["verify", str(report), "--public-key", str(private)]) == 2
    assert "not a PEM public key" in capsys.readouterr().err
