"""Client artefacts to scan, however they were collected (files, crawl, browser capture)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

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


def with_derived(artefacts: Iterable[Artefact]) -> tuple[Artefact, ...]:
    """The artefacts and the source maps carried inside them; archives are not opened here
    (``archives.expanded`` does both and says which bounds were hit)."""
    out: list[Artefact] = []
    for artefact in artefacts:
        out.append(artefact)
        out.extend(derived(artefact))
    return tuple(out)
