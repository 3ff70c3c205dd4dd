"""The client secret scanner: collect artefacts (files, crawl, browser capture, archives opened),
then scan."""

from __future__ import annotations

from conformance.errors import CanaryError, ScanInputError
from conformance.scan.archives import ArchiveLimits, Unpacker, expanded
from conformance.scan.artefacts import Artefact, Collected, Kind, with_derived
from conformance.scan.encodings import Canary
from conformance.scan.files import load_paths
from conformance.scan.secrets import RULES, Rule, SecretFinding, SecretScanner, scan_artefacts

__all__ = [
    "RULES",
    "ArchiveLimits",
    "Artefact",
    "Canary",
    "CanaryError",
    "Collected",
    "Kind",
    "Rule",
    "ScanInputError",
    "SecretFinding",
    "SecretScanner",
    "Unpacker",
    "expanded",
    "load_paths",
    "scan_artefacts",
    "with_derived",
]
