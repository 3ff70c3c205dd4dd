"""Archives a client ships (zip, APK, AAB, IPA, JAR, AAR) opened within bounds, config decoded.

Every artefact goes through :meth:`Unpacker.expand` before the scan: a zip container
(recognised by ``PK\\x03\\x04``, whatever its name) becomes its entries, nested archives
are opened to a bounded depth, a binary property list (``bplist00``) is decoded to JSON
and Android binary XML to its string pool, so a secret in ``assets/config.json`` or in a
binary ``Info.plist`` is found at ``app.apk!/assets/config.json``. A bound hit (depth,
entries, bytes, compression ratio) is recorded as incomplete: a zip bomb is never clean.
"""

from __future__ import annotations

import base64
import io
import json
import lzma
import plistlib
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from conformance.scan.artefacts import Artefact, Collected, Kind, derived
from conformance.scan.axml import BinaryXmlError, is_binary_xml, string_pools

ZIP_MAGIC = b"PK\x03\x04"
BPLIST_MAGIC = b"bplist00"
_CENTRAL_HEADER = b"PK\x01\x02"
# Between an archive and a path inside it, as in jar: URLs: ``app.apk!/assets/config.json``.
SEPARATOR = "!/"
_CHUNK = 64 * 1024
_MIB = 1024 * 1024
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError,
                RuntimeError, OSError, ValueError)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveLimits:
    """Bounds on opening archives; hitting one makes the scan incomplete, never clean."""

    # Archives inside archives opened (app.apk → lib.aar → classes.jar is 3).
    max_depth: int = 4
    max_entries: int = 20_000
    # Across everything one Unpacker opens.
    max_total_entries: int = 100_000
    max_entry_bytes: int = 64 * _MIB
    max_total_bytes: int = 512 * _MIB
    # Uncompressed over compressed size of one entry, checked once it passes ratio_floor
    # bytes (a small file of zeros compresses far better than this, and is harmless).
    max_ratio: int = 200
    ratio_floor: int = _MIB
    # Decoded binary plist text, as a multiple of its size (shared references can fan out).
    max_plist_expansion: int = 16


class _Bound(Exception):
    """A bound was hit while reading one entry; the message says which and where."""

    def __init__(self, message: str, partial: bytes = b"") -> None:
        super().__init__(message)
        # What was read before the bound, still worth scanning (never a bomb's output).
        self.partial = partial


class Unpacker:
    """Opens archives and decodes binary config, sharing one budget across all it is given."""

    def __init__(self, limits: ArchiveLimits | None = None) -> None:
        self.limits = limits or ArchiveLimits()
        self.incomplete: list[str] = []
        self.total_bytes = 0
        self.total_entries = 0
        self._exhausted = False

    def expand(self, artefact: Artefact) -> list[Artefact]:
        """The artefact (an opened archive as kind ``archive``), and all it carries."""
        return self._expand(artefact, 0)

    def _expand(self, artefact: Artefact, depth: int) -> list[Artefact]:
        if artefact.body.startswith(ZIP_MAGIC):
            return self._archive(artefact, depth)
        decoded = self._decoded(artefact)
        return [decoded, *derived(decoded)]

    def _archive(self, artefact: Artefact, depth: int) -> list[Artefact]:
        where = artefact.location
        limits = self.limits
        if depth >= limits.max_depth:
            self.incomplete.append(f"{where}: archive not opened, nested deeper than "
                                   f"{limits.max_depth} archives (max depth); scanned as bytes")
            return [artefact]
        if self._exhausted:
            self.incomplete.append(f"{where}: archive not opened, the unpacking budget was "
                                   "spent")
            return [artefact]
        # zipfile reads the whole central directory at once: refuse one far past the bounds.
        headers = artefact.body.count(_CENTRAL_HEADER)
        if headers > limits.max_total_entries:
            self.incomplete.append(f"{where}: about {headers} entries, more than "
                                   f"{limits.max_total_entries} (max total entries); archive "
                                   "not opened, scanned as bytes")
            return [artefact]
        try:
            archive = zipfile.ZipFile(io.BytesIO(artefact.body))
            infos = archive.infolist()
        except _READ_ERRORS as exc:
            self.incomplete.append(f"{where}: starts like a zip archive but cannot be opened "
                                   f"({type(exc).__name__}: {exc}); scanned as bytes")
            return [artefact]
        cut = False
        # The container's bytes are not scanned once opened: its names and comment are.
        names = "\n".join(info.filename for info in infos[: limits.max_entries])
        inside = [Artefact(location=f"{where}#entries", body=names.encode("utf-8", "replace"),
                           kind=Kind.TEXT, origin=f"entry names of {where}")]
        if archive.comment:
            inside.append(Artefact(location=f"{where}#comment", body=archive.comment,
                                   kind=Kind.TEXT, origin=f"zip comment of {where}"))
        files = [info for info in infos if not info.is_dir()]
        if len(files) > limits.max_entries:
            self.incomplete.append(f"{where}: {len(files)} entries, only the first "
                                   f"{limits.max_entries} opened (max entries per archive)")
            files, cut = files[: limits.max_entries], True
        for info in files:
            name = f"{where}{SEPARATOR}{info.filename}"
            if self._exhausted:
                cut = True
                break
            self.total_entries += 1
            if self.total_entries > limits.max_total_entries:
                self._spent(f"stopped unpacking at {limits.max_total_entries} entries in all "
                            f"(max total entries), before {name}")
                cut = True
                break
            if info.flag_bits & 0x1:
                self.incomplete.append(f"{name}: encrypted entry, not read")
                cut = True
                continue
            try:
                body = self._read(archive, info, name)
            except _Bound as bound:
                self.incomplete.append(str(bound))
                cut = True
                if not bound.partial:
                    continue
                body = bound.partial
            entry = Artefact(location=name, body=body, origin=f"entry of {where}")
            inside.extend(self._expand(entry, depth + 1))
        # Read through its entries; the container's own bytes only if they were not all read.
        container = artefact if cut else replace(artefact, kind=Kind.ARCHIVE)
        return [container, *inside]

    def _read(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
        """The entry's bytes, streamed and stopped at the bounds (declared sizes not trusted)."""
        limits = self.limits
        left = limits.max_total_bytes - self.total_bytes
        limit = min(limits.max_entry_bytes, left)
        compressed = max(info.compress_size, 1)
        chunks: list[bytes] = []
        size = 0
        try:
            with archive.open(info) as handle:
                while True:
                    chunk = handle.read(min(_CHUNK, limit + 1 - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                    self.total_bytes += len(chunk)
                    if size > limit:
                        if limit == left:
                            self._spent(f"stopped unpacking at {limits.max_total_bytes} bytes "
                                        f"in all (max total bytes), inside {name}")
                            raise _Bound(f"{name}: not fully read (max total bytes)")
                        raise _Bound(f"{name}: larger than {limits.max_entry_bytes} bytes "
                                     "(max entry bytes), only the first ones scanned",
                                     b"".join(chunks)[: limits.max_entry_bytes])
                    if size > limits.ratio_floor and size > limits.max_ratio * compressed:
                        raise _Bound(f"{name}: expands more than {limits.max_ratio}:1 "
                                     f"({compressed} compressed bytes gave over {size}; "
                                     "max compression ratio, a zip bomb?), not scanned")
        except _READ_ERRORS as exc:
            raise _Bound(f"{name}: cannot be read ({type(exc).__name__}: {exc})") from exc
        return b"".join(chunks)

    def _spent(self, message: str) -> None:
        if not self._exhausted:
            self.incomplete.append(message)
        self._exhausted = True

    def _decoded(self, artefact: Artefact) -> Artefact:
        """A binary plist or Android binary XML as text to scan, at the same location."""
        body = artefact.body
        try:
            if body.startswith(BPLIST_MAGIC):
                text = _plist_json(body, self.limits.max_plist_expansion * len(body) + _MIB)
                what = "binary property list, decoded to JSON"
            elif is_binary_xml(body):
                text = "\n".join(json.dumps(s, ensure_ascii=False) for s in string_pools(body))
                what = "Android binary XML string pool, decoded (line n is string n-1)"
            else:
                return artefact
        except (plistlib.InvalidFileException, BinaryXmlError, _Bound, ValueError,
                OverflowError, RecursionError, LookupError, TypeError) as exc:
            self.incomplete.append(f"{artefact.location}: binary config could not be decoded "
                                   f"({type(exc).__name__}: {exc}); scanned as bytes")
            return artefact
        origin = f"{artefact.origin}; {what}" if artefact.origin else what
        return Artefact(location=artefact.location, body=text.encode("utf-8", "surrogatepass"),
                        kind=Kind.JSON if text.startswith(("{", "[")) else Kind.TEXT,
                        content_type="text/plain", origin=origin)


def _plist_json(body: bytes, budget: int) -> str:
    """The plist as indented JSON (one value a line), bounded in size and nesting."""
    left = [budget]

    def plain(value: Any, depth: int) -> Any:
        if depth > 64:
            raise _Bound("binary plist nested more than 64 levels")
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                value = base64.b64encode(value).decode("ascii")
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, plistlib.UID):
            value = value.data
        left[0] -= len(value) + 8 if isinstance(value, str) else 8
        if left[0] < 0:
            raise _Bound(f"binary plist decodes to more than {budget} characters")
        if isinstance(value, dict):
            return {str(k): plain(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v, depth + 1) for v in value]
        return value

    decoded = plistlib.loads(body, fmt=plistlib.FMT_BINARY)
    return json.dumps(plain(decoded, 0), indent=2, ensure_ascii=False)


def expanded(artefacts: Iterable[Artefact], *, limits: ArchiveLimits | None = None,
             notes: Iterable[str] = ()) -> Collected:
    """Artefacts collected elsewhere (a browser capture), with archives opened and what
    they carry, and the bounds hit."""
    unpacker = Unpacker(limits)
    out = [item for artefact in artefacts for item in unpacker.expand(artefact)]
    return Collected(artefacts=tuple(out), notes=tuple(notes),
                     incomplete=tuple(unpacker.incomplete))
