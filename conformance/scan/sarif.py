"""SARIF 2.1.0 output of the secret scan, for code-scanning dashboards and reviewers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote, urlsplit

from conformance import __version__
from conformance.scan.secrets import RULES, SecretFinding

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "zeropools-conformance-scan"
_RULE_INDEX = {rule.id: index for index, rule in enumerate(RULES)}


def artifact_uri(location: str) -> str:
    """A URI reference for a finding's location: URLs as they are, paths percent-encoded
    (an archive entry as ``file:///…/app.apk!/assets/config.json``, as in jar: URLs)."""
    if urlsplit(location).scheme in ("http", "https", "file"):
        return location
    path, _, fragment = location.partition("#")
    # "!" kept as it is: "app.apk!/assets/config.json" names an entry inside an archive.
    if Path(path).is_absolute():
        uri = Path(path).as_uri().replace("%21", "!")
    else:
        uri = quote(PurePosixPath(path).as_posix(), safe="/!")
    return f"{uri}#{quote(fragment, safe='/')}" if fragment else uri


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary}. {rule.fix}"},
            "help": {"text": rule.fix},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secret"]},
        }
        for rule in RULES
    ]


def _result(finding: SecretFinding) -> dict[str, Any]:
    properties: dict[str, Any] = {"encoding": finding.encoding, "kind": str(finding.kind),
                                  "redacted": finding.redacted}
    if finding.canary:
        properties["canary"] = finding.canary
    if finding.origin:
        properties["origin"] = finding.origin
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": _RULE_INDEX[finding.rule_id],
        "level": "error",
        "message": {"text": finding.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(finding.location)},
                "region": {
                    "byteOffset": finding.offset,
                    "byteLength": finding.length,
                    "startLine": finding.line,
                    "startColumn": finding.column,
                },
            },
        }],
        "properties": properties,
    }


class SarifWriter:
    """Writes one SARIF log: ``open()``, ``record(finding)`` for each, ``close()``."""

    def __init__(self, target: str | Path | IO[str]) -> None:
        self._target = target
        self._results: list[dict[str, Any]] = []
        self._notes: list[tuple[str, str]] = []
        self._opened = False

    def open(self) -> None:
        """Start a log (any results from an earlier one are dropped)."""
        self._results = []
        self._notes = []
        self._opened = True

    def record(self, finding: SecretFinding) -> None:
        """Add one finding as a SARIF result."""
        if not self._opened:
            raise RuntimeError("SarifWriter.record() before open()")
        self._results.append(_result(finding))

    def note(self, message: str, *, level: str = "warning") -> None:
        """Add a tool notification (a limit hit, a URL that could not be fetched)."""
        self._notes.append((level, message))

    def document(self, *, complete: bool = True) -> dict[str, Any]:
        """The SARIF log as a JSON-ready dict."""
        notifications = [{"level": level, "message": {"text": text}}
                         for level, text in self._notes]
        invocation: dict[str, Any] = {"executionSuccessful": complete}
        if notifications:
            invocation["toolExecutionNotifications"] = notifications
        return {
            "$schema": SARIF_SCHEMA,
            "version": SARIF_VERSION,
            "runs": [{
                "tool": {"driver": {
                    "name": TOOL_NAME,
                    "version": __version__,
                    "rules": _rules(),
                }},
                "columnKind": "unicodeCodePoints",
                "invocations": [invocation],
                "results": list(self._results),
            }],
        }

    def close(self, *, complete: bool = True) -> dict[str, Any]:
        """Write the log to the target and return it."""
        document = self.document(complete=complete)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if isinstance(self._target, str | Path):
            Path(self._target).write_text(text, encoding="utf-8")
        else:
            self._target.write(text)
        self._opened = False
        return document


def sarif_document(findings: Iterable[SecretFinding], *, notes: Iterable[str] = (),
                   complete: bool = True) -> dict[str, Any]:
    """The SARIF log of these findings, without writing it anywhere."""
    writer = SarifWriter(Path("unused.sarif"))
    writer.open()
    for finding in findings:
        writer.record(finding)
    for note in notes:
        writer.note(note)
    return writer.document(complete=complete)
