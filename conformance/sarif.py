"""SARIF 2.1.0, written once: the secret scan's log for code-scanning dashboards and reviewers.

The scanner (``scan`` command, certify's client scan) writes its findings through
:class:`SarifWriter` (open / record / close); the report (``conformance.report.sarif``)
merges those logs into secrets.sarif, or wraps the secrets.* findings with :func:`sarif_log`
when no scanner log exists. One tool name, one schema, one envelope for both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote, urlsplit

from conformance import __version__
from conformance.errors import ConformanceError
from conformance.scan.secrets import RULES, SecretFinding

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "zeropools-conformance-scan"
TOOL_URI = "https://0bit-docs.pages.dev/developers/docs/0pools/liquidity-safeguards"
FILENAME = "secrets.sarif"  # in a report directory

Log = dict[str, Any]

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


def sarif_log(
    results: Iterable[Mapping[str, Any]] = (),
    *,
    version: str | None = None,
    rules: Sequence[Mapping[str, Any]] = (),
    invocation: Mapping[str, Any] | None = None,
    column_kind: str | None = None,
) -> Log:
    """A SARIF log with one run of this tool; valid with no results at all."""
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": version or __version__,
                "informationUri": TOOL_URI,
                "rules": [dict(rule) for rule in rules],
            }
        },
    }
    if column_kind is not None:
        run["columnKind"] = column_kind
    if invocation is not None:
        run["invocations"] = [dict(invocation)]
    run["results"] = [dict(result) for result in results]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def merge(logs: Iterable[Mapping[str, Any]], *, version: str | None = None) -> Log:
    """One log holding every run of the given logs (an empty run if there are none)."""
    runs = [run for log in logs for run in log.get("runs", [])]
    if not runs:
        return sarif_log(version=version)
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


def scanner_logs(out_dir: Path) -> list[Log]:
    """The scanner's SARIF log, when the runner wrote it into the report directory."""
    path = out_dir / FILENAME
    if not path.is_file():
        return []
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConformanceError(f"the scanner's {path} cannot be read: {exc}") from None
    if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
        raise ConformanceError(f"the scanner's {path} is not a SARIF log (no runs)")
    return [log]


# -- the secret scanner's rules and results -------------------------------------------


def secret_rules() -> list[dict[str, Any]]:
    """The scanner's rules as SARIF reporting descriptors (in RULES order: ruleIndex)."""
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


def secret_result(finding: SecretFinding) -> dict[str, Any]:
    """One scanner finding as a SARIF result (the value itself is never in it)."""
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
    """One SARIF log of the scanner's findings: ``open()``, ``record(finding)``, ``close()``."""

    filename = FILENAME

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
        self._results.append(secret_result(finding))

    def note(self, message: str, *, level: str = "warning") -> None:
        """Add a tool notification (a limit hit, a URL that could not be fetched)."""
        self._notes.append((level, message))

    def document(self, *, complete: bool = True) -> Log:
        """The SARIF log as a JSON-ready dict."""
        invocation: dict[str, Any] = {"executionSuccessful": complete}
        if self._notes:
            invocation["toolExecutionNotifications"] = [
                {"level": level, "message": {"text": text}} for level, text in self._notes
            ]
        return sarif_log(self._results, rules=secret_rules(), invocation=invocation,
                         column_kind="unicodeCodePoints")

    def close(self, *, complete: bool = True) -> Log:
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
                   complete: bool = True) -> Log:
    """The SARIF log of these findings, without writing it anywhere."""
    writer = SarifWriter(Path("unused.sarif"))
    writer.open()
    for finding in findings:
        writer.record(finding)
    for note in notes:
        writer.note(note)
    return writer.document(complete=complete)
