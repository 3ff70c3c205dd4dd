"""manifest.sha256 and ``verify``: any changed, missing or extra file is named."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from report_runs import result, rich_evidence, run

from conformance.errors import IntegrityError
from conformance.report import write_report
from conformance.report.hashes import MANIFEST_NAME, verify
from conformance.results import Status

FILES = ("report.json", "report.html", "junit.xml", "summary.md", "secrets.sarif",
         "screenshots/expiry-after.png")


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    ev = rich_evidence(out)
    write_report(run([result("expiry.backend_transact", Status.FAIL, evidence=ev)]), out)
    return out


def test_the_manifest_covers_every_other_file(report_dir: Path) -> None:
    lines = (report_dir / MANIFEST_NAME).read_text().splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert sorted(names) == sorted(FILES)
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((report_dir / name).read_bytes()).hexdigest() == digest


def test_sha256sum_accepts_the_manifest(report_dir: Path) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum not installed")
    done = subprocess.run(["sha256sum", "-c", MANIFEST_NAME], cwd=report_dir,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_fresh_report_verifies(report_dir: Path) -> None:
    checked = verify(report_dir)
    assert checked.ok and sorted(checked.checked) == sorted(FILES)


@pytest.mark.parametrize("name", FILES)
def test_one_changed_byte_is_named(report_dir: Path, name: str) -> None:
    path = report_dir / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    checked = verify(report_dir)
    assert not checked.ok
    assert checked.changed == (name,) and checked.missing == () and checked.extra == ()


@pytest.mark.parametrize("name", FILES)
def test_a_removed_file_is_named(report_dir: Path, name: str) -> None:
    (report_dir / name).unlink()
    checked = verify(report_dir)
    assert checked.missing == (name,) and checked.changed == () and not checked.ok


def test_an_added_file_is_named(report_dir: Path) -> None:
    (report_dir / "screenshots" / "extra.png").write_bytes(b"x")
    checked = verify(report_dir)
    assert checked.extra == ("screenshots/extra.png",) and not checked.ok


def test_a_missing_manifest_is_a_harness_error(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match="missing"):
        verify(tmp_path)


def test_a_malformed_manifest_names_the_line(report_dir: Path) -> None:
    with (report_dir / MANIFEST_NAME).open("a") as handle:
        handle.write("not a hash line\n")
    with pytest.raises(IntegrityError, match="line 7"):
        verify(report_dir)


def test_a_manifest_pointing_outside_is_refused(report_dir: Path) -> None:
    with (report_dir / MANIFEST_NAME).open("a") as handle:
        handle.write("0" * 64 + "  ../secret.txt\n")
    with pytest.raises(IntegrityError, match="outside"):
        verify(report_dir)
