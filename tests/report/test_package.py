"""``package`` and ``verify`` of a package: one zip, BLOCKED on its face, any byte named."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from report_runs import run
from signed_reports import keys, signed_report

from conformance.cli import main
from conformance.report import write_report
from conformance.report.hashes import manifest_text
from conformance.report.package import archive_bytes


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def _package(tmp_path: Path, *, ready: bool = True, allow: bool = False) -> tuple[Path, Path]:
    key, _, public = keys(tmp_path / "keys")
    report = signed_report(tmp_path / "report", key, ready=ready)
    out = tmp_path / "pkg.zip"
    argv = ["package", str(report), "--out", str(out)] + (["--allow-blocked"] if allow else [])
    assert main(argv) == 0
    return out, public


def _members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def test_a_ready_package_holds_everything_and_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, public = _package(tmp_path)
    members = _members(archive)
    folder = "zeropools-certification/"
    names = {n.removeprefix(folder) for n in members}
    assert all(n.startswith(folder) for n in members)
    assert {"README.txt", "report.json", "report.html", "junit.xml", "summary.md",
            "secrets.sarif", "manifest.sha256", "partner-manifest.toml", "statement.json",
            "statement.sig", "screenshots/expiry-after.png"} == names
    readme = members[folder + "README.txt"].decode()
    assert readme.startswith("READY: 0Pools readiness certification of acme-payments")
    assert "verify PACKAGE.zip --public-key zeropools-signing.pub.pem" in readme
    assert "sha256sum -c manifest.sha256" in readme and "openssl pkeyutl -verify" in readme
    capsys.readouterr()
    assert main(["verify", str(archive), "--public-key", str(public)]) == 0
    assert "verdict: READY" in capsys.readouterr().out
    # The same bytes every time: a package is a function of its report.
    again = tmp_path / "again.zip"
    assert main(["package", str(tmp_path / "report"), "--out", str(again)]) == 0
    assert again.read_bytes() == archive.read_bytes()


def test_a_blocked_report_is_refused_unless_allowed_then_marked_blocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _, public = keys(tmp_path / "keys")
    report = signed_report(tmp_path / "report", key, ready=False)
    out = tmp_path / "pkg.zip"
    assert main(["package", str(report), "--out", str(out)]) == 1
    assert "refused" in capsys.readouterr().out and not out.exists()
    assert main(["package", str(report), "--out", str(out), "--allow-blocked"]) == 0
    assert "BLOCKED package" in capsys.readouterr().out
    members = _members(out)
    folder = "zeropools-certification-BLOCKED/"
    assert all(n.startswith(folder) for n in members)
    assert members[folder + "README.txt"].decode().startswith("BLOCKED: this package does NOT")
    assert members[folder + "BLOCKED"].decode().startswith("BLOCKED:")
    assert main(["verify", str(out), "--public-key", str(public)]) == 0
    assert "verdict: BLOCKED" in capsys.readouterr().out


def test_a_report_that_does_not_verify_is_not_packaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _, _ = keys(tmp_path / "keys")
    report = signed_report(tmp_path / "report", key)
    (report / "summary.md").write_text("edited")
    assert main(["package", str(report), "--out", str(tmp_path / "p.zip")]) == 1
    assert "changed: summary.md" in capsys.readouterr().out


def test_an_unsigned_report_packages_and_says_unsigned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_report(run(), tmp_path / "report")
    out = tmp_path / "p.zip"
    assert main(["package", str(tmp_path / "report"), "--out", str(out)]) == 0
    assert "unsigned" in capsys.readouterr().out
    readme = _members(out)["zeropools-certification/README.txt"].decode()
    assert "UNSIGNED" in readme
    assert main(["verify", str(out)]) == 0


def _offsets(archive: Path) -> dict[str, list[int]]:
    """Bytes to flip in each part of the zip: local headers, data, central directory, end."""
    raw = archive.read_bytes()
    with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
    spots: dict[str, list[int]] = {}
    for info in infos:
        name = info.filename.split("/", 1)[1]
        head = info.header_offset
        name_len = int.from_bytes(raw[head + 26:head + 28], "little")
        data = head + 30 + name_len
        spots[name] = [head + 10, head + 14, head + 30, data + info.file_size // 2]
    end = raw.rfind(b"PK\x05\x06")
    central = int.from_bytes(raw[end + 16:end + 20], "little")
    spots["(zip directory)"] = [central + 12, central + 46, end + 10, len(raw) - 1]
    return spots


def test_any_changed_byte_of_the_package_fails_verify_and_names_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, public = _package(tmp_path)
    pristine = archive.read_bytes()
    for name, offsets in _offsets(archive).items():
        for offset in offsets:
            data = bytearray(pristine)
            data[offset] ^= 0x01
            archive.write_bytes(bytes(data))
            code = main(["verify", str(archive), "--public-key", str(public)])
            out = capsys.readouterr().out
            assert code == 1, (name, offset, out)
            if name != "(zip directory)":
                assert name in out or "pkg.zip" in out, (name, offset, out)
    archive.write_bytes(pristine)
    assert main(["verify", str(archive), "--public-key", str(public)]) == 0


def _rebuild(archive: Path, edit: dict[str, bytes | None], *, remanifest: bool = False) -> None:
    """Rewrite a package as ``package`` would, with some members replaced or dropped."""
    members = _members(archive)
    folder = next(iter(members)).split("/", 1)[0]
    entries = {n.split("/", 1)[1]: data for n, data in members.items()}
    for name, data in edit.items():
        if data is None:
            entries.pop(name, None)
        else:
            entries[name] = data
    if remanifest:
        scratch = archive.parent / "scratch"
        for name, data in entries.items():
            (scratch / name).parent.mkdir(parents=True, exist_ok=True)
            (scratch / name).write_bytes(data)
        for side in ("README.txt", "BLOCKED", "statement.json", "statement.sig",
                     "manifest.sha256"):
            (scratch / side).unlink(missing_ok=True)
        entries["manifest.sha256"] = manifest_text(scratch).encode()
    archive.write_bytes(archive_bytes(folder, list(entries.items())))


def test_a_member_edited_with_a_recomputed_manifest_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, public = _package(tmp_path)
    members = _members(archive)
    document = json.loads(members["zeropools-certification/report.json"])
    document["partner_name"] = "someone else"
    _rebuild(archive, {"report.json": json.dumps(document).encode()}, remanifest=True)
    capsys.readouterr()
    assert main(["verify", str(archive), "--public-key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "changed: report.json (differs from the signed statement)" in out
    assert "changed: manifest.sha256 (differs from the signed statement)" in out


def test_the_readme_and_the_blocked_marker_cannot_be_edited_or_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, public = _package(tmp_path, ready=False, allow=True)
    pristine = archive.read_bytes()
    _rebuild(archive, {"README.txt": b"READY: trust me\n"})
    capsys.readouterr()
    assert main(["verify", str(archive), "--public-key", str(public)]) == 1
    assert "changed: README.txt" in capsys.readouterr().out
    archive.write_bytes(pristine)
    _rebuild(archive, {"BLOCKED": None})
    assert main(["verify", str(archive), "--public-key", str(public)]) == 1
    assert "missing: BLOCKED" in capsys.readouterr().out


def test_an_unpacked_package_verifies_as_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, public = _package(tmp_path)
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "unpacked")
    folder = tmp_path / "unpacked" / "zeropools-certification"
    assert main(["verify", str(folder), "--public-key", str(public)]) == 0
    (folder / "README.txt").write_text("edited")
    assert main(["verify", str(folder), "--public-key", str(public)]) == 1
    assert "changed: README.txt" in capsys.readouterr().out


def test_an_archive_with_unsafe_names_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, public = _package(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("zeropools-certification/../escape.txt", b"x")
    archive.write_bytes(buffer.getvalue())
    assert main(["verify", str(archive), "--public-key", str(public)]) == 1
    assert "escape.txt" in capsys.readouterr().out
    assert not (tmp_path / "escape.txt").exists()
    archive.write_bytes(b"not a zip at all")
    assert main(["verify", str(archive), "--public-key", str(public)]) == 1
    assert "not a readable zip" in capsys.readouterr().out
