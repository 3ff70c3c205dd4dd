"""Android binary XML and resource tables: their string pools, where values and text live.

An APK's ``AndroidManifest.xml`` and ``res/*.xml`` are compiled to chunks (type 0x0003,
``resources.arsc`` is type 0x0002); every attribute value and text node is an index into a
string pool chunk (type 0x0001), UTF-16 or, with flag 0x100, UTF-8. Decoding every pool
is enough for the scan: a secret in the file is a string in a pool. Bounded; a malformed
file raises :class:`BinaryXmlError` (the caller says the scan is incomplete).
"""

from __future__ import annotations

import struct

RES_STRING_POOL = 0x0001
RES_TABLE = 0x0002
RES_XML = 0x0003
RES_TABLE_PACKAGE = 0x0200
UTF8_FLAG = 0x100
# Chunks whose children follow their header (a table holds packages, a package its pools).
_CONTAINERS = frozenset({RES_TABLE, RES_XML, RES_TABLE_PACKAGE})
_HEADERS = {RES_XML: 8, RES_TABLE: 12}
_POOL_HEADER = 28
MAX_STRINGS = 500_000
MAX_CHUNKS = 100_000
MAX_NESTING = 4


class BinaryXmlError(ValueError):
    """The bytes start like Android binary XML but their chunks cannot be read."""


def is_binary_xml(body: bytes) -> bool:
    """True when ``body`` starts with an XML (0x0003) or resource table (0x0002) chunk header."""
    if len(body) < 8:
        return False
    kind, header, size = struct.unpack_from("<HHI", body, 0)
    return bool(_HEADERS.get(kind) == header and header <= size <= len(body))


def string_pools(body: bytes) -> list[str]:
    """Every string of every pool in the document, in file order."""
    if not is_binary_xml(body):
        raise BinaryXmlError("not an Android binary XML or resource table chunk")
    _, header, size = struct.unpack_from("<HHI", body, 0)
    reader = _Reader(body)
    reader.walk(header, size, 1)
    return reader.strings


class _Reader:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.strings: list[str] = []
        self.chunks = 0
        # A pool's offsets may all point at one long string: cap what decoding can produce.
        self.budget = 4 * len(body) + 65536

    def walk(self, start: int, end: int, depth: int) -> None:
        pos = start
        while pos + 8 <= end:
            kind, header, size = struct.unpack_from("<HHI", self.body, pos)
            if header < 8 or size < header or pos + size > end:
                raise BinaryXmlError(f"chunk at byte {pos}: header {header}, size {size} "
                                     f"do not fit in its parent (ends at {end})")
            self.chunks += 1
            if self.chunks > MAX_CHUNKS:
                raise BinaryXmlError(f"more than {MAX_CHUNKS} chunks")
            if kind == RES_STRING_POOL:
                self.pool(pos, header, size)
            elif kind in _CONTAINERS and depth < MAX_NESTING:
                self.walk(pos + header, pos + size, depth + 1)
            pos += size

    def pool(self, pos: int, header: int, size: int) -> None:
        if header < _POOL_HEADER:
            raise BinaryXmlError(f"string pool at byte {pos}: header of {header} bytes")
        count, _styles, flags, strings_start, styles_start = struct.unpack_from(
            "<IIIII", self.body, pos + 8)
        if count > MAX_STRINGS or header + 4 * count > size:
            raise BinaryXmlError(f"string pool at byte {pos}: {count} strings do not fit")
        offsets = struct.unpack_from(f"<{count}I", self.body, pos + header)
        base = pos + strings_start
        end = pos + (styles_start if 0 < styles_start <= size else size)
        utf8 = bool(flags & UTF8_FLAG)
        for index, offset in enumerate(offsets):
            at = base + offset
            if not pos + header <= at < end:
                raise BinaryXmlError(f"string pool at byte {pos}: string {index} outside it")
            text = self.utf8(at, end) if utf8 else self.utf16(at, end)
            self.budget -= len(text)
            if self.budget < 0:
                raise BinaryXmlError(f"string pool at byte {pos} decodes to more text than "
                                     "the file could hold")
            self.strings.append(text)

    def _length8(self, at: int, end: int) -> tuple[int, int]:
        if at + 1 > end:
            raise BinaryXmlError(f"string length at byte {at} past the pool")
        first = self.body[at]
        if not first & 0x80:
            return first, at + 1
        if at + 2 > end:
            raise BinaryXmlError(f"string length at byte {at} past the pool")
        return ((first & 0x7F) << 8) | self.body[at + 1], at + 2

    def utf8(self, at: int, end: int) -> str:
        _chars, at = self._length8(at, end)
        length, at = self._length8(at, end)
        if at + length > end:
            raise BinaryXmlError(f"UTF-8 string at byte {at} runs past the pool")
        return self.body[at : at + length].decode("utf-8", "replace")

    def utf16(self, at: int, end: int) -> str:
        if at + 2 > end:
            raise BinaryXmlError(f"string length at byte {at} past the pool")
        (length,) = struct.unpack_from("<H", self.body, at)
        at += 2
        if length & 0x8000:
            if at + 2 > end:
                raise BinaryXmlError(f"string length at byte {at} past the pool")
            (low,) = struct.unpack_from("<H", self.body, at)
            length = ((length & 0x7FFF) << 16) | low
            at += 2
        if at + 2 * length > end:
            raise BinaryXmlError(f"UTF-16 string at byte {at} runs past the pool")
        return self.body[at : at + 2 * length].decode("utf-16-le", "replace")
