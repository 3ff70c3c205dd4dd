"""Declared files, directories and globs read as artefacts, archives opened on the way."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from conformance.errors import ScanInputError
from conformance.scan.archives import ArchiveLimits, Unpacker
from conformance.scan.artefacts import Artefact, Collected

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_FILES = 20_000
DEFAULT_MAX_TOTAL_BYTES = 1024 * 1024 * 1024


def _expand(spec: str) -> list[Path]:
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if glob.has_magic(spec):
        matched = sorted(Path(p) for p in glob.glob(spec, recursive=True))
        files: list[Path] = []
        for p in matched:
            files.extend([p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file()))
        if not files:
            raise ScanInputError(f"no file matches the pattern {spec!r}")
        return files
    if path.exists():
        raise ScanInputError(f"{spec!r} is neither a file nor a directory")
    raise ScanInputError(f"no such file or directory: {spec!r}")


def load_paths(
    specs: Sequence[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    archive_limits: ArchiveLimits | None = None,
) -> Collected:
    """Read files, directories (recursively) and globs (``**`` allowed) as artefacts,
    archives opened and binary config decoded (conformance.scan.archives)."""
    unpacker = Unpacker(archive_limits)
    seen: set[Path] = set()
    artefacts: list[Artefact] = []
    incomplete: list[str] = []
    total = 0
    for spec in specs:
        for path in _expand(spec):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if len(seen) > max_files:
                incomplete.append(f"stopped at the {max_files}-file limit before {path}")
                return _loaded(artefacts, incomplete, unpacker.incomplete)
            try:
                with path.open("rb") as handle:
                    body = handle.read(max_bytes + 1)
            except OSError as exc:
                raise ScanInputError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
            if len(body) > max_bytes:
                body = body[:max_bytes]
                incomplete.append(f"{path}: only the first {max_bytes} bytes were scanned")
            total += len(body)
            if total > max_total_bytes:
                incomplete.append(f"stopped at the {max_total_bytes}-byte total before {path}")
                return _loaded(artefacts, incomplete, unpacker.incomplete)
            artefact = Artefact(location=path.as_posix(), body=body, origin="declared file")
            artefacts.extend(unpacker.expand(artefact))
    return _loaded(artefacts, incomplete, unpacker.incomplete)


def _loaded(artefacts: list[Artefact], *incomplete: list[str]) -> Collected:
    return Collected(artefacts=tuple(artefacts),
                     incomplete=tuple(note for notes in incomplete for note in notes))
