"""The certification package: one zip a partner hands its reviewer.

Inside one folder (``zeropools-certification/``, or ``zeropools-certification-BLOCKED/``):
every report file with its screenshots, the copied partner manifest, manifest.sha256, the
signed statement and its signature, a README.txt for the reviewer and, for a blocked
report, a BLOCKED marker. README.txt and BLOCKED are rendered from report.json and
statement.json alone, so ``verify`` re-renders them and any edit shows.

The archive is deterministic (stored, not compressed; fixed times and modes; a fixed order),
so ``verify`` rebuilds it from its own contents and a changed byte anywhere in it, a zip
header included, is found and named.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from conformance.errors import PackageError
from conformance.report.hashes import MANIFEST_NAME, report_files
from conformance.report.signing import SIGNATURE_NAME, STATEMENT_NAME

FOLDER = "zeropools-certification"
README_NAME = "README.txt"
BLOCKED_NAME = "BLOCKED"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODE = 0o100644 << 16
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024



def folder_for(document: Mapping[str, Any]) -> str:
    return FOLDER if document.get("verdict") == "ready" else f"{FOLDER}-BLOCKED"


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when it is missing or not a JSON object."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def render_blocked(document: Mapping[str, Any]) -> str:
    reasons = [str(r) for r in document.get("verdict_reasons", [])]
    lines = [
        f"BLOCKED: this report does NOT certify {document.get('partner_name')} for launch.",
        "It was packaged on request (--allow-blocked) to show what blocks. Reasons:",
        *(f"- {reason}" for reason in reasons),
    ]
    return "\n".join(lines) + "\n"


def render_readme(document: Mapping[str, Any], statement: Mapping[str, Any] | None) -> str:
    """The reviewer's README: verdict first, what was tested, and the commands that check it."""
    ready = document.get("verdict") == "ready"
    folder = folder_for(document)
    partner = document.get("partner_name")
    build = document.get("partner_build") or "not given"
    run = document.get("run", {})
    head = (
        f"READY: 0Pools readiness certification of {partner} (build {build})"
        if ready
        else f"BLOCKED: this package does NOT certify {partner} (build {build}) for launch"
    )
    lines = [
        head,
        "=" * len(head),
        "",
        f"Verdict: {str(document.get('verdict')).upper()} (exit {document.get('exit_code')}). "
        "Read report.html first: the six readiness questions, what to fix, the evidence.",
        f"Harness {document.get('harness_version')}, scenario catalogue "
        f"{document.get('catalogue_version')}, simulated 0Pools Partner API "
        f"{document.get('api_version', 'unknown')}.",
        f"Run from {run.get('started_at')} to {run.get('finished_at')}.",
    ]
    manifest = document.get("partner_manifest")
    if isinstance(manifest, Mapping):
        lines.append(f"Partner manifest used: {manifest.get('file')} "
                     f"(sha256 {manifest.get('sha256')}).")
    if statement is not None:
        lines += [
            f"Signed by key {statement.get('key_id')} at {statement.get('signed_at')}; "
            f"valid until {statement.get('expires_at')}.",
        ]
    else:
        lines += ["UNSIGNED: no signed statement; the hashes show accidents, not tampering."]
    if not ready:
        lines += ["", "Why it is blocked: see BLOCKED and the 'What to fix' list of report.html."]
    lines += [
        "",
        "Check it (the public key must come from the signer, not from this package):",
        "",
        "  # zeropools-conformance: from its checkout, scripts/certify sets up .venv/bin/",
        "  zeropools-conformance verify PACKAGE.zip --public-key zeropools-signing.pub.pem",
        f"  zeropools-conformance verify {folder}/ --public-key zeropools-signing.pub.pem",
        "",
        "verify recomputes every hash, checks the signature and the expiry, and names each",
        "file that changed; exit 0 only when all of it holds. Without the harness:",
        "",
        f"  cd {folder} && sha256sum -c {MANIFEST_NAME}      # the report files",
        "  openssl pkeyutl -verify -pubin -inkey zeropools-signing.pub.pem -rawin \\",
        f"      -in {STATEMENT_NAME} -sigfile {SIGNATURE_NAME}   # the signature (OpenSSL 3)",
        f"  # then compare the digests listed in {STATEMENT_NAME} with sha256sum's",
        "",
        "To rerun one scenario, use the command in its 'rerun' field in report.json",
        "(also shown in report.html) with the partner's manifest.",
    ]
    return "\n".join(lines) + "\n"


def package_entries(report_dir: Path) -> list[tuple[str, bytes]]:
    """The package's files (relative to its folder), in the package's fixed order."""
    document = read_json(report_dir / "report.json")
    if document is None:
        raise PackageError(f"{report_dir / 'report.json'} cannot be read as a report")
    statement = read_json(report_dir / STATEMENT_NAME)
    names = [*report_files(report_dir), MANIFEST_NAME]
    names += [n for n in (STATEMENT_NAME, SIGNATURE_NAME) if (report_dir / n).is_file()]
    entries: list[tuple[str, bytes]] = []
    if document.get("verdict") != "ready":
        entries.append((BLOCKED_NAME, render_blocked(document).encode()))
    entries.append((README_NAME, render_readme(document, statement).encode()))
    entries += [(name, (report_dir / name).read_bytes()) for name in sorted(names)]
    return entries


def archive_bytes(folder: str, entries: Sequence[tuple[str, bytes]]) -> bytes:
    """A deterministic zip of the entries under ``folder/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=_EPOCH)
            info.create_system = 3
            info.external_attr = _MODE
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, data)
    return buffer.getvalue()


def write_package(report_dir: Path, out: Path) -> tuple[Path, str]:
    """Write the package for a report directory; return its path and folder name."""
    document = read_json(report_dir / "report.json") or {}
    folder = folder_for(document)
    data = archive_bytes(folder, package_entries(report_dir))
    partial = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(out)
    except OSError as exc:
        raise PackageError(f"cannot write {out}: {exc.strerror}") from None
    return out, folder


def unpack(archive: Path, into: Path) -> tuple[str, list[str]]:
    """Extract a package safely into ``into``; return its folder and the archive's problems.

    A problem is ``"<member>: <what>"`` (a damaged entry, an unsafe name) or a structural
    difference from the deterministic form ``package`` writes (named by the entry it is in).
    """
    try:
        size = archive.stat().st_size
        if size > MAX_ARCHIVE_BYTES:
            raise PackageError(f"{archive} is larger than {MAX_ARCHIVE_BYTES} bytes")
        raw = archive.read_bytes()
    except OSError as exc:
        raise PackageError(f"cannot read {archive}: {exc.strerror or exc}") from None
    try:
        zipped = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        return "", [f"{archive.name}: not a readable zip archive ({exc})"]
    problems: list[str] = []
    infos = zipped.infolist()
    folders = {info.filename.split("/", 1)[0] for info in infos}
    if len(folders) != 1:
        return "", [f"{archive.name}: expected one top folder, found {sorted(folders)}"]
    folder = folders.pop()
    contents: list[tuple[str, bytes]] = []
    for info in infos:
        name = info.filename[len(folder) + 1:]
        pure = PurePosixPath(name)
        if info.is_dir() or not name or pure.is_absolute() or ".." in pure.parts or "\\" in name:
            problems.append(f"{info.filename}: not a file of a certification package")
            continue
        try:
            data = zipped.read(info)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            problems.append(f"{name}: damaged in the archive ({exc})")
            continue
        contents.append((name, data))
        target = into / pure
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if not problems:
        problems += _structure(archive.name, raw, folder, contents, infos)
    return folder, problems


def _structure(
    label: str, raw: bytes, folder: str, contents: Sequence[tuple[str, bytes]],
    infos: Sequence[zipfile.ZipInfo],
) -> list[str]:
    """Differences between the archive's bytes and the deterministic form of its contents."""
    rebuilt = archive_bytes(folder, contents)
    if rebuilt == raw:
        return []
    at = next((i for i, (a, b) in enumerate(zip(raw, rebuilt, strict=False)) if a != b),
              min(len(raw), len(rebuilt)))
    owner = None
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset > at:
            break
        owner = info
    if owner is None or at >= _entry_end(raw, owner):
        return [f"{label}: the zip directory differs from what package writes (byte {at})"]
    return [f"{owner.filename[len(folder) + 1:]}: its zip entry differs from what package "
            f"writes (byte {at} of {label})"]


def _entry_end(raw: bytes, info: zipfile.ZipInfo) -> int:
    """Where an entry's data ends: its local header, name, extra field, then the data."""
    offset = info.header_offset
    name_len = int.from_bytes(raw[offset + 26:offset + 28], "little")
    extra_len = int.from_bytes(raw[offset + 28:offset + 30], "little")
    return offset + 30 + name_len + extra_len + info.compress_size
