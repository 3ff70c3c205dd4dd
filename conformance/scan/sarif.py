"""The secret scan's SARIF output: written once in :mod:`conformance.sarif`, importable here."""

from __future__ import annotations

from conformance.sarif import (
    SARIF_SCHEMA,
    SARIF_VERSION,
    TOOL_NAME,
    SarifWriter,
    artifact_uri,
    sarif_document,
)

__all__ = ["SARIF_SCHEMA", "SARIF_VERSION", "TOOL_NAME", "SarifWriter", "artifact_uri",
           "sarif_document"]
