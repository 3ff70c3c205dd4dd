"""The client secret scanner: collect artefacts (files, crawl, browser capture), then scan."""

from __future__ import annotations

from conformance.scan.artefacts import (
    Artefact,
    Collected,
    Kind,
    ScanInputError,
    load_paths,
    with_derived,
)
from conformance.scan.encodings import Canary, CanaryError
from conformance.scan.secrets import RULES, Rule, SecretFinding, SecretScanner, scan_artefacts

__all__ = [
    "RULES",
    "Artefact",
    "Canary",
    "CanaryError",
    "Collected",
    "Kind",
    "Rule",
    "ScanInputError",
    "SecretFinding",
    "SecretScanner",
    "load_paths",
    "scan_artefacts",
    "with_derived",
]
