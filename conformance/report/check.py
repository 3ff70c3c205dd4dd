"""``verify``'s whole check of a report directory or package: hashes, signature, expiry.

A signed report passes only if manifest.sha256 matches every file, the statement's
digests match every file (so an edit with a recomputed manifest.sha256 still shows), the
signature verifies with the reviewer's public key, the statement has not expired, and a
package's README.txt and BLOCKED are exactly what ``package`` renders from the report.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from conformance.errors import IntegrityError
from conformance.report.hashes import MANIFEST_NAME, report_files, sha256_file
from conformance.report.hashes import verify as verify_hashes
from conformance.report.package import (
    BLOCKED_NAME,
    README_NAME,
    read_json,
    render_blocked,
    render_readme,
    unpack,
)
from conformance.report.signing import (
    SIGNATURE_NAME,
    STATEMENT_NAME,
    expired,
    key_id,
    signature_valid,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing that does not hold, named by the file it is in."""

    kind: str  # changed | missing | not in the manifest | not signed | signature | expired
    name: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.kind}: {self.name}" + (f" ({self.detail})" if self.detail else "")


@dataclass(slots=True, kw_only=True)
class Check:
    """What ``verify`` found: problems (any fails it) and facts worth saying."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    signed: bool = False
    signature_checked: bool = False
    statement: Mapping[str, Any] | None = None
    verdict: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, name: str, detail: str = "") -> None:
        if not any(p.kind == kind and p.name == name for p in self.problems):
            self.problems.append(Problem(kind=kind, name=name, detail=detail))


def check_path(
    path: Path, *, public_key: Ed25519PublicKey | None = None, now: datetime | None = None
) -> Check:
    """Check a report directory or a package (``.zip``)."""
    if path.is_file():
        return check_package(path, public_key=public_key, now=now)
    return check_directory(path, public_key=public_key, now=now)


def check_package(
    archive: Path, *, public_key: Ed25519PublicKey | None = None, now: datetime | None = None
) -> Check:
    with tempfile.TemporaryDirectory(prefix="zeropools-verify-") as tmp:
        folder, damage = unpack(archive, Path(tmp))
        if not folder:
            result = Check()
            for text in damage:
                name, _, detail = text.partition(": ")
                result.add("changed", name, detail)
            return result
        result = check_directory(Path(tmp), public_key=public_key, now=now, package=True)
        for text in damage:
            name, _, detail = text.partition(": ")
            result.add("changed", name, detail)
        result.notes.append(f"package folder: {folder}/")
        return result


def check_directory(
    directory: Path,
    *,
    public_key: Ed25519PublicKey | None = None,
    now: datetime | None = None,
    package: bool = False,
) -> Check:
    """Every check on an unpacked report; ``IntegrityError`` only when it is not a directory."""
    if not directory.is_dir():
        raise IntegrityError(f"{directory} is not a directory")
    result = Check()
    _hashes(directory, result)
    document = read_json(directory / "report.json")
    result.verdict = str(document.get("verdict")) if document else None
    statement = _statement(directory, result, public_key, now or datetime.now(UTC))
    if document is not None:
        _extras(directory, result, document, statement, package=package)
    return result


def _hashes(directory: Path, result: Check) -> None:
    if not (directory / MANIFEST_NAME).is_file():
        result.add("missing", MANIFEST_NAME)
        return
    try:
        hashed = verify_hashes(directory)
    except IntegrityError as exc:
        result.add("changed", MANIFEST_NAME,
                   str(exc).removeprefix(f"{directory / MANIFEST_NAME}, "))
        return
    result.files = len(hashed.checked)
    for name in hashed.changed:
        result.add("changed", name)
    for name in hashed.missing:
        result.add("missing", name)
    for name in hashed.extra:
        result.add("not in the manifest", name)


def _statement(
    directory: Path, result: Check, public_key: Ed25519PublicKey | None, now: datetime
) -> Mapping[str, Any] | None:
    statement_path, signature_path = directory / STATEMENT_NAME, directory / SIGNATURE_NAME
    if not statement_path.is_file() and not signature_path.is_file():
        if public_key is not None:
            result.add("not signed", STATEMENT_NAME,
                       f"no {STATEMENT_NAME} or {SIGNATURE_NAME}: nothing to check the key against")
        else:
            result.notes.append("unsigned: hashes checked; they show accidents, not tampering")
        return None
    result.signed = True
    for path in (statement_path, signature_path):
        if not path.is_file():
            result.add("missing", path.name)
    if not statement_path.is_file():
        return None
    body = statement_path.read_bytes()
    statement = read_json(statement_path)
    if statement is None:
        result.add("changed", STATEMENT_NAME, "not a JSON statement")
        return None
    result.statement = statement
    if public_key is not None and signature_path.is_file():
        if signature_valid(public_key, body, signature_path.read_bytes()):
            result.signature_checked = True
        else:
            ours, theirs = key_id(public_key), statement.get("key_id")
            why = (f"it names key {theirs}, yours is {ours}" if theirs != ours
                   else f"{STATEMENT_NAME} or {SIGNATURE_NAME} was changed")
            result.add("signature", f"{STATEMENT_NAME} / {SIGNATURE_NAME}",
                       f"does not verify with {ours}: {why}")
    elif public_key is None:
        result.notes.append(
            f"signed by {statement.get('key_id')}, signature NOT checked: "
            "pass --public-key with the signer's public key"
        )
    _bound(directory, result, statement)
    if expired(statement, now):
        result.add("expired", STATEMENT_NAME,
                   f"the certification was valid until {statement.get('expires_at')}")
    return statement


def _bound(directory: Path, result: Check, statement: Mapping[str, Any]) -> None:
    """Every file against the digest the statement binds (catches a recomputed manifest)."""
    files = statement.get("files")
    if not isinstance(files, Mapping):
        result.add("changed", STATEMENT_NAME, "lists no files")
        return
    for name, digest in sorted(files.items()):
        path = directory / str(name)
        if not path.is_file():
            result.add("missing", str(name), "listed in the signed statement")
        elif sha256_file(path) != digest:
            result.add("changed", str(name), "differs from the signed statement")
    present = [*report_files(directory), MANIFEST_NAME]
    for name in present:
        if name not in files and (directory / name).is_file():
            result.add("not in the signed statement", name)


def _extras(
    directory: Path, result: Check, document: Mapping[str, Any],
    statement: Mapping[str, Any] | None, *, package: bool,
) -> None:
    """README.txt and BLOCKED are derived from the report: they must be exactly that."""
    readme, blocked = directory / README_NAME, directory / BLOCKED_NAME
    is_package = package or readme.is_file() or blocked.is_file()
    if not is_package:
        return
    if not readme.is_file():
        result.add("missing", README_NAME)
    elif readme.read_bytes() != render_readme(document, statement).encode():
        result.add("changed", README_NAME, "not what package writes for this report")
    if document.get("verdict") == "ready":
        if blocked.is_file():
            result.add("not in the manifest", BLOCKED_NAME, "the report is ready")
    elif not blocked.is_file():
        result.add("missing", BLOCKED_NAME, "the report is blocked")
    elif blocked.read_bytes() != render_blocked(document).encode():
        result.add("changed", BLOCKED_NAME, "not what package writes for this report")
