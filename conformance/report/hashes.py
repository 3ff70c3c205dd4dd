"""manifest.sha256: integrity hashes a reviewer can check with ``sha256sum -c`` or ``verify``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import IntegrityError

MANIFEST_NAME = "manifest.sha256"
# Written after the manifest, so not in it: the signed statement over it (signing.py) and a
# package's reviewer files (package.py). conformance.report.check verifies them.
SIDE_FILES = ("statement.json", "statement.sig", "README.txt", "BLOCKED")

_LINE = re.compile(r"^(?P<digest>[0-9a-fA-F]{64}) [ *](?P<path>.+)$")



@dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    """What differs between a report directory and its manifest."""

    checked: tuple[str, ...]
    changed: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def report_files(out_dir: Path) -> list[str]:
    """Every file in the directory but the manifest and the side files, sorted POSIX paths."""
    files = []
    skip = {MANIFEST_NAME, *SIDE_FILES}
    for path in out_dir.rglob("*"):
        if path.is_file() and path.relative_to(out_dir).as_posix() not in skip:
            files.append(path.relative_to(out_dir).as_posix())
    return sorted(files)


def _check_name(name: str) -> str:
    if "\n" in name or "\\" in name:
        raise IntegrityError(f"cannot hash a file named with a newline or backslash: {name!r}")
    return name


def _lines(entries: dict[str, str]) -> str:
    return "".join(f"{digest}  {_check_name(name)}\n" for name, digest in sorted(entries.items()))


def manifest_text(out_dir: Path) -> str:
    """``sha256sum``-compatible lines (two spaces: text mode) for every other file."""
    return _lines({name: sha256_file(out_dir / name) for name in report_files(out_dir)})


def write_manifest(out_dir: Path) -> Path:
    target = out_dir / MANIFEST_NAME
    target.write_text(manifest_text(out_dir), encoding="utf-8")
    return target


def read_manifest(out_dir: Path) -> dict[str, str]:
    """The manifest's path → digest; a malformed line is named by its number."""
    path = out_dir / MANIFEST_NAME
    if not out_dir.is_dir():
        raise IntegrityError(f"{out_dir} is not a directory")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IntegrityError(f"{path} is missing: nothing to verify against") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"cannot read {path}: {exc}") from None
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise IntegrityError(f"{path}, line {number}: not '<sha256>  <file>'")
        parts = match["path"].split("/")
        if match["path"].startswith("/") or ".." in parts:
            raise IntegrityError(f"{path}, line {number}: names a file outside the directory")
        entries[match["path"]] = match["digest"].lower()
    return entries


def verify(out_dir: Path) -> Verification:
    """Recompute every hash and name each changed, missing or extra file."""
    expected = read_manifest(out_dir)
    present = set(report_files(out_dir))
    changed = []
    # The manifest guards itself too: any byte that differs from the form we write
    # (even white space a lenient parser would skip) counts as a change.
    if (out_dir / MANIFEST_NAME).read_bytes() != _lines(expected).encode("utf-8"):
        changed.append(MANIFEST_NAME)
    missing = []
    for name, digest in sorted(expected.items()):
        if name not in present:
            missing.append(name)
        elif sha256_file(out_dir / name) != digest:
            changed.append(name)
    extra = sorted(present - expected.keys())
    return Verification(
        checked=tuple(sorted(expected)),
        changed=tuple(changed),
        missing=tuple(missing),
        extra=tuple(extra),
    )
