"""Redaction by value: every secret of the run is replaced wherever it appears."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"


def _encodings(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        urllib.parse.quote(secret, safe=""),
        json.dumps(secret)[1:-1],
    }


class Redactor:
    """Replaces each known secret value, and its common encodings, with a marker."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._needles: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < 6:
            return
        for needle in _encodings(secret):
            if needle and needle not in self._needles:
                self._needles.append(needle)
        self._needles.sort(key=len, reverse=True)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._needles)

    def text(self, value: str) -> str:
        for needle in self._needles:
            if needle in value:
                value = value.replace(needle, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        """Redact recursively through dicts, lists and strings."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

    def contains_secret(self, value: str) -> bool:
        for needle in self._needles:  # a plain loop: on the simulator's request path
            if needle in value:
                return True
        return False
