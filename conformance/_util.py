"""Small private helpers shared by the CLI and the pytest plugin."""

from __future__ import annotations

from collections.abc import Iterable


def parse_env_pairs(values: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings as a dict; a malformed one raises ValueError naming it."""
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected NAME=VALUE, got {value!r}")
        pairs[name.strip()] = text
    return pairs
