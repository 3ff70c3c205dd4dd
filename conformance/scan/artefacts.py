"""Client artefacts to scan, however they were collected (files, crawl, browser capture)."""

from __future__ import annotations

import base64
import binascii
import glob
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.errors import ScanInputError

if TYPE_CHECKING:
    from conformance.scan.archives import ArchiveLimits

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_FILES = 20_000
DEFAULT_MAX_TOTAL_BYTES = 1024 * 1024 * 1024
_BINARY_PROBE = 8192



class Kind(StrEnum):
    """What an artefact is; it decides which normalisations are worth running."""

    HTML = "html"
    SCRIPT = "script"
    SOURCEMAP = "sourcemap"
    # An original source file carried in a source map's ``sourcesContent``.
    SOURCE = "source"
    JSON = "json"
    TEXT = "text"
    BINARY = "binary"
    # A zip container whose entries were all opened: scanned through them, not as bytes.
    ARCHIVE = "archive"


# Kinds whose text may hide a secret in string escapes or in ``"a" + "b"`` concatenations.
ESCAPED_KINDS = frozenset({Kind.HTML, Kind.SCRIPT, Kind.SOURCE, Kind.JSON, Kind.SOURCEMAP,
                           Kind.TEXT})
CONCAT_KINDS = frozenset({Kind.HTML, Kind.SCRIPT, Kind.SOURCE})

_EXTENSIONS = {
    ".html": Kind.HTML, ".htm": Kind.HTML, ".xhtml": Kind.HTML,
    ".js": Kind.SCRIPT, ".mjs": Kind.SCRIPT, ".cjs": Kind.SCRIPT, ".jsx": Kind.SCRIPT,
    ".ts": Kind.SCRIPT, ".tsx": Kind.SCRIPT, ".vue": Kind.SCRIPT, ".svelte": Kind.SCRIPT,
    ".map": Kind.SOURCEMAP,
    ".json": Kind.JSON, ".webmanifest": Kind.JSON,
}
_CONTENT_TYPES = (
    ("html", Kind.HTML), ("javascript", Kind.SCRIPT), ("ecmascript", Kind.SCRIPT),
    ("json", Kind.JSON),
)


def guess_kind(location: str, content_type: str = "", body: bytes = b"") -> Kind:
    """The artefact's kind from its content type, else its name, else a look at its bytes."""
    path = location.split("#", 1)[0].split("?", 1)[0].lower()
    if path.endswith(".map") or path.endswith(".map.json"):
        return Kind.SOURCEMAP
    media = content_type.split(";", 1)[0].strip().lower()
    for needle, kind in _CONTENT_TYPES:
        if needle in media:
            return kind
    by_name = _EXTENSIONS.get(os.path.splitext(path)[1])
    if by_name is not None:
        return by_name
    if b"\0" in body[:_BINARY_PROBE]:
        return Kind.BINARY
    return Kind.TEXT


@dataclass(frozen=True, slots=True, kw_only=True)
class Artefact:
    """One thing a browser (or a phone) would hold: its location, bytes and content type."""

    location: str
    body: bytes = field(repr=False)
    content_type: str = ""
    kind: Kind | None = None
    # How it was found: "declared page", "script src of …", "sourcesContent[0] (src/a.ts) of …".
    origin: str = ""

    def __post_init__(self) -> None:
        if self.kind is None:
            object.__setattr__(
                self, "kind", guess_kind(self.location, self.content_type, self.body)
            )

    @property
    def resolved_kind(self) -> Kind:
        """The kind, never None (it is filled in at construction)."""
        return self.kind if self.kind is not None else Kind.TEXT


@dataclass(frozen=True, slots=True, kw_only=True)
class Collected:
    """Artefacts gathered by a loader or a crawl, and what could not be fully gathered."""

    artefacts: tuple[Artefact, ...]
    # Things skipped as expected (a guessed URL that answered 404).
    notes: tuple[str, ...] = ()
    # Limits hit or fetches failed: the scan did not see everything (fail closed on these).
    incomplete: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """True when nothing the scan should have read was left out."""
        return not self.incomplete


_INLINE_MAP = re.compile(
    rb"[#@]\s*sourceMappingURL\s*=\s*data:application/json[^,\s]*;base64,([A-Za-z0-9+/=_-]+)"
)


def derived(artefact: Artefact) -> tuple[Artefact, ...]:
    """Artefacts carried inside this one: inline source maps and a map's ``sourcesContent``."""
    out: list[Artefact] = []
    if artefact.kind in (Kind.SCRIPT, Kind.HTML, Kind.SOURCE):
        for index, match in enumerate(_INLINE_MAP.finditer(artefact.body)):
            try:
                body = base64.b64decode(match.group(1) + b"==", altchars=b"-_")
            except (binascii.Error, ValueError):
                continue
            inline = Artefact(
                location=f"{artefact.location}#sourceMappingURL/{index}", body=body,
                kind=Kind.SOURCEMAP, content_type="application/json",
                origin=f"inline source map in {artefact.location}",
            )
            out.append(inline)
            out.extend(derived(inline))
    if artefact.kind is Kind.SOURCEMAP:
        out.extend(_sources_content(artefact))
    return tuple(out)


def _sources_content(artefact: Artefact) -> list[Artefact]:
    try:
        document = json.loads(artefact.body)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(document, dict):
        return []
    sections = document.get("sections")
    maps = [document]
    if isinstance(sections, list):  # an index map: each section holds a map
        maps += [s["map"] for s in sections if isinstance(s, dict) and isinstance(s.get("map"),
                                                                                  dict)]
    out: list[Artefact] = []
    for map_index, source_map in enumerate(maps):
        contents = source_map.get("sourcesContent")
        sources = source_map.get("sources")
        if not isinstance(contents, list):
            continue
        names = sources if isinstance(sources, list) else []
        for index, content in enumerate(contents):
            if not isinstance(content, str):
                continue
            name = names[index] if index < len(names) and isinstance(names[index], str) else "?"
            section = f"sections/{map_index - 1}/" if map_index else ""
            out.append(Artefact(
                location=f"{artefact.location}#{section}sourcesContent/{index}",
                body=content.encode("utf-8", "surrogatepass"),
                kind=Kind.SOURCE,
                content_type="text/plain",
                origin=f"sourcesContent[{index}] ({name}) of {artefact.location}",
            ))
    return out


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
    from conformance.scan.archives import Unpacker  # it builds on this module

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


def with_derived(artefacts: Iterable[Artefact]) -> tuple[Artefact, ...]:
    """The artefacts and the source maps carried inside them; archives are not opened here
    (``archives.expanded`` does both and says which bounds were hit)."""
    out: list[Artefact] = []
    for artefact in artefacts:
        out.append(artefact)
        out.extend(derived(artefact))
    return tuple(out)
